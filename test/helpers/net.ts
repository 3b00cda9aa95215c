// Raw-socket helpers for tests: send exact bytes, read what comes back until the peer closes or a
// deadline passes. Everything binds and connects on 127.0.0.1 only.
import net from 'node:net';

export interface RawResult {
  /** Everything received, decoded as latin-1 (byte for byte). */
  text: string;
  /** True when the server closed the connection (false when our deadline cut the read). */
  closed: boolean;
}

/** Sends `parts` (with `gapMs` between them) and collects the reply until close or `timeoutMs`. */
export function rawRequest(
  port: number,
  parts: Array<string | Uint8Array> | string,
  { timeoutMs = 3000, gapMs = 0, until }: { timeoutMs?: number; gapMs?: number; until?: (text: string) => boolean } = {},
): Promise<RawResult> {
  const list = typeof parts === 'string' ? [parts] : parts;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d) => {
      chunks.push(d);
      if (until && until(Buffer.concat(chunks).toString('latin1'))) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') finish(true);
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('connect', async () => {
      for (const p of list) {
        if (socket.destroyed) return;
        socket.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

/** Status codes of every response in a raw reply, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3}) [^\r\n]*\r\n/g)].map((m) => Number(m[1]));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
