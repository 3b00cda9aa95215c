// A raw HTTP/1.x client for hostile-input tests: sends exact bytes over a net.Socket, whole or split
// (one byte per write, or seeded random pieces), and reads until the server closes, until the replies
// settle, or until a deadline. It parses what came back into responses so that tests can look at
// each status and body (a smuggled second request shows up as a second response).
// Loopback only: every connection goes to 127.0.0.1.
import net from 'node:net';

/** The request the smuggling payloads hide (reliability.md (c) ‹S›, 35 bytes). */
export const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n';

/** How the request bytes are cut into writes. */
export type Split =
  | { kind: 'whole' }
  /** One byte per write, each write in its own event-loop turn so the server reads it on its own. */
  | { kind: 'bytes' }
  /** Pieces of 1..max bytes, sizes from a seeded PRNG (the seed is printed on failure). */
  | { kind: 'random'; seed: number; max: number };

export function describeSplit(s: Split): string {
  return s.kind === 'random' ? `random(seed=${s.seed}, max=${s.max})` : s.kind;
}

/** mulberry32: a small seeded PRNG, so that a failing random split can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The pieces of `bytes` for a split (views, not copies; lazily, so 1 MiB byte-by-byte costs nothing up front). */
export function* pieces(bytes: Uint8Array, split: Split): Generator<Uint8Array> {
  if (split.kind === 'whole') {
    yield bytes;
    return;
  }
  const rand = split.kind === 'random' ? prng(split.seed) : null;
  for (let i = 0; i < bytes.length; ) {
    const n = rand === null ? 1 : 1 + Math.floor(rand() * (split as { max: number }).max);
    yield bytes.subarray(i, i + n);
    i += n;
  }
}

export interface ParsedResponse {
  status: number;
  /** Header names lower-cased; repeated names joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Splits a byte stream into HTTP/1.x responses (Content-Length, chunked, or close-delimited when
 * `closed`). Interim 1xx responses are skipped. `rest` is what did not form a whole response.
 * `bodyless`: the responses answer HEAD requests (no content, whatever Content-Length says).
 */
export function parseResponses(data: Buffer, closed: boolean, bodyless = false): { responses: ParsedResponse[]; rest: Buffer } {
  const responses: ParsedResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', at, 'latin1');
    if (headEnd === -1) break;
    const lines = data.subarray(at, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (m === null) break; // not a response: leave it in rest for the test to show
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    let bodyStart = headEnd + 4;
    if (status >= 100 && status < 200) {
      at = bodyStart;
      continue;
    }
    let body: Buffer;
    if (status === 204 || status === 304 || bodyless) {
      body = Buffer.alloc(0);
    } else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const eol = data.indexOf('\r\n', p, 'latin1');
        if (eol === -1) break;
        const size = parseInt(data.subarray(p, eol).toString('latin1').split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size)) break;
        if (size === 0) {
          // Trailers (none expected from our server), then the empty line.
          const end = data.indexOf('\r\n\r\n', eol, 'latin1');
          if (end === -1) break;
          p = end + 4;
          complete = true;
          break;
        }
        if (data.length < eol + 2 + size + 2) break;
        parts.push(data.subarray(eol + 2, eol + 2 + size));
        p = eol + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
      bodyStart = p;
      responses.push({ status, headers, body });
      at = bodyStart;
      continue;
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (data.length < bodyStart + n) break;
      body = data.subarray(bodyStart, bodyStart + n);
      bodyStart += n;
    } else {
      if (!closed) break; // close-delimited: only whole once the server closed
      body = data.subarray(bodyStart);
      bodyStart = data.length;
    }
    responses.push({ status, headers, body });
    at = bodyStart;
  }
  return { responses, rest: data.subarray(at) };
}

export interface RawOutcome {
  /** Every byte the server sent. */
  data: Buffer;
  /** The whole responses in `data`. */
  responses: ParsedResponse[];
  /** Bytes after the last whole response (a cut response, or garbage). */
  rest: Buffer;
  /** The server closed the connection (FIN or reset) before our deadline. */
  closed: boolean;
  /** The close was a reset (ECONNRESET/EPIPE) rather than a FIN. */
  reset: boolean;
  /** Our deadline cut the exchange (the server neither closed nor settled). */
  timedOut: boolean;
  /** Bytes of the request actually written before the server closed or we stopped. */
  written: number;
  elapsedMs: number;
}

export interface ExchangeOptions {
  split?: Split;
  /** Hard bound for the whole exchange. */
  timeoutMs?: number;
  /**
   * When false (the default), stop once at least one whole response came and the connection has been
   * quiet for `settleMs` (a keep-alive server would otherwise hold us until the deadline). When true,
   * read until the server closes or the deadline.
   */
  waitClose?: boolean;
  settleMs?: number;
  /** Milliseconds between writes (slow clients); otherwise one event-loop turn between split pieces. */
  gapMs?: number;
}

const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sends `request` to 127.0.0.1:`port` as `split` says and reads the reply. */
export function exchange(port: number, request: Uint8Array | string, options: ExchangeOptions = {}): Promise<RawOutcome> {
  const bytes = typeof request === 'string' ? Buffer.from(request, 'latin1') : request;
  const split = options.split ?? { kind: 'whole' };
  const timeoutMs = options.timeoutMs ?? 5000;
  const settleMs = options.settleMs ?? 250;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    const chunks: Buffer[] = [];
    let closed = false;
    let reset = false;
    let written = 0;
    let settled = false;
    let settleTimer: ReturnType<typeof setTimeout> | undefined;
    const finish = (timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(settleTimer);
      socket.destroy();
      const data = Buffer.concat(chunks);
      const { responses, rest } = parseResponses(data, closed);
      resolve({ data, responses, rest, closed, reset, timedOut, written, elapsedMs: Date.now() - started });
    };
    const deadline = setTimeout(() => finish(true), timeoutMs);
    const onClosed = (isReset: boolean) => {
      if (closed) return;
      closed = true;
      reset = isReset;
      finish(false);
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (options.waitClose) return;
      clearTimeout(settleTimer);
      if (parseResponses(Buffer.concat(chunks), false).responses.length > 0) {
        settleTimer = setTimeout(() => finish(false), settleMs);
      }
    });
    socket.on('end', () => onClosed(false));
    socket.on('close', () => onClosed(false));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') onClosed(true);
      else if (!settled) {
        settled = true;
        clearTimeout(deadline);
        socket.destroy();
        reject(err);
      }
    });
    socket.on('connect', async () => {
      for (const piece of pieces(bytes, split)) {
        if (settled || closed || socket.destroyed || !socket.writable) return;
        const more = socket.write(piece);
        written += piece.length;
        if (split.kind === 'whole') return;
        if (!more) await new Promise<void>((r) => (socket.once('drain', r), socket.once('close', r)));
        if (options.gapMs) await sleep(options.gapMs);
        else await turn();
      }
    });
  });
}

/**
 * A connection that sends `head` and then drips `drip` one byte every `intervalMs` until the server
 * closes it or `stop()` is called. Used for slowloris and slow-body clients.
 */
export class Dripper {
  readonly socket: net.Socket;
  readonly received: Buffer[] = [];
  closed = false;
  closedAt = -1;
  readonly openedAt = Date.now();
  private timer: ReturnType<typeof setInterval> | undefined;
  readonly closedPromise: Promise<void>;

  constructor(port: number, head: string, drip: string, intervalMs: number) {
    this.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    this.closedPromise = new Promise<void>((resolve) => {
      const done = () => {
        if (this.closed) return;
        this.closed = true;
        this.closedAt = Date.now();
        clearInterval(this.timer);
        resolve();
      };
      this.socket.on('end', done);
      this.socket.on('close', done);
      this.socket.on('error', done);
    });
    this.socket.on('data', (d: Buffer) => this.received.push(d));
    this.socket.on('connect', () => {
      this.socket.write(head, 'latin1');
      let i = 0;
      this.timer = setInterval(() => {
        if (this.closed || !this.socket.writable) return;
        this.socket.write(drip[i % drip.length]!, 'latin1');
        i++;
      }, intervalMs);
    });
  }

  get text(): string {
    return Buffer.concat(this.received).toString('latin1');
  }

  /** Milliseconds from connect to the server's close (-1 while open). */
  get lifetime(): number {
    return this.closed ? this.closedAt - this.openedAt : -1;
  }

  stop(): void {
    clearInterval(this.timer);
    this.socket.destroy();
  }
}
