// Helpers for the prefork tests: bounded polling (never fixed sleeps for conditions), requests that
// report failures instead of throwing, and a load generator.
import http from 'node:http';
import net from 'node:net';

export const FAULT = 'test/prefork/fixtures/fault.ts';

/** Polls `cond` every 50 ms until it is truthy or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(what: string, cond: () => T | Promise<T>, timeoutMs = 15000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Reply {
  status: number;
  body: string;
  error?: string;
}

/** One request on a fresh connection (Connection: close); never throws. */
export function get(port: number, path: string, timeoutMs = 10000): Promise<Reply> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, body, error: e.message }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: '', error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

/** Resolves 'connected', 'ECONNREFUSED' (or another code), or 'hung' when nothing happens within `ms`. */
export function tryConnect(port: number, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const t = setTimeout(() => {
      s.destroy();
      resolve('hung');
    }, ms);
    s.on('connect', () => {
      // Accepted by the kernel; is anybody serving it?
      s.write('GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    s.on('data', () => {
      clearTimeout(t);
      s.destroy();
      resolve('connected');
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve('closed');
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(e.code ?? 'error');
    });
  });
}

/** Concurrent requests until stop() is called; counts successes and failures. */
export function load(port: number, path: string, concurrency = 6) {
  let running = true;
  const stats = { ok: 0, failed: 0, errors: [] as string[], pids: new Set<string>() };
  const loop = async () => {
    while (running) {
      const r = await get(port, path);
      if (r.status === 200 && !r.error) {
        stats.ok++;
        const pid = /(\d+)\s*$/.exec(r.body)?.[1];
        if (pid) stats.pids.add(pid);
      } else {
        stats.failed++;
        if (stats.errors.length < 10) stats.errors.push(`${r.status} ${r.error ?? ''} ${r.body.slice(0, 80)}`);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

/** Worker pids seen by asking /pid `n` times. */
export async function workerPids(port: number, n = 30): Promise<Set<string>> {
  const pids = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await get(port, '/pid');
    if (r.status === 200) pids.add(r.body.trim());
  }
  return pids;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the master's children (Linux /proc), to find every worker without asking them. */
export async function childrenOf(pid: number): Promise<number[]> {
  const { readFile } = await import('node:fs/promises');
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
