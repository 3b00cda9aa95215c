// Keep-alive load clients for the prefork drain tests (test/prefork/keepalive.test.ts): clients that
// keep their connections open as browsers, proxies and HTTP libraries do, send requests back to back,
// and NEVER retry. Every request that got no complete, correct answer is counted, with its shape.
//
// rawKeepAliveLoad is written by hand over net.Socket on purpose: a library client (node:http's Agent,
// undici) hides what these tests count. It reuses or replaces sockets on its own, may resend a request
// on a fresh connection, and does not say whether the server closed before or after a request was on
// the wire. Here every byte is ours: one request outstanding per connection, written the moment the
// previous response is complete, a new connection only after the server said `Connection: close` (or
// closed with no request outstanding). fetchLoad is the other side: Node's fetch (undici, the default
// global dispatcher, keep-alive) used as applications use it, with no retries of our own.
import net from 'node:net';

/** One request of the mix and the body its answer must have (`pid` is the answering worker's). */
interface Exchange {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** The pid when the answer is right, null when it is not. */
  check(body: string): string | null;
}

const pidAfter = (prefix: string, body: string): string | null => {
  if (!body.startsWith(prefix)) return null;
  const pid = body.slice(prefix.length);
  return /^\d+$/.test(pid) ? pid : null;
};

/**
 * The request mix on test/prefork/fixtures/fault.ts: a GET answered with a Content-Length, a GET
 * answered chunked (the /stream route, two ticks), and a POST whose body (a different length each time,
 * naming its connection and sequence number) must come back whole.
 */
export function exchange(conn: number, seq: number): Exchange {
  switch (seq % 3) {
    case 0:
      return { method: 'GET', path: `/?c=${conn}&s=${seq}`, check: (b) => pidAfter('ok ', b) };
    case 1:
      return {
        method: 'GET',
        path: '/stream?n=2&ms=0',
        check: (b) => {
          const m = /^tick 0 (\d+)\ntick 1 (\d+)\ndone\n$/.exec(b);
          return m && m[1] === m[2] ? m[1]! : null;
        },
      };
    default: {
      const body = `c${conn}s${seq}-`.padEnd(10 + (seq % 97), 'x');
      return { method: 'POST', path: '/echo', body, check: (b) => pidAfter(`${body} `, b) };
    }
  }
}

export interface LoadStats {
  /** Requests answered 200 with the right body. */
  ok: number;
  /** Requests with no (complete, correct) answer on a connection that was open before the TERM mark. */
  failed: number;
  /** New connections opened because the server said `Connection: close` or closed between requests. */
  reconnects: number;
  /** After markTerm(): connections the server refused (or dropped before answering anything). */
  refused: number;
  /** failure shape -> count ("reset on a reused connection", "status 502", ...). */
  failures: Record<string, number>;
  refusals: Record<string, number>;
  /** The first few failures in words, for assertion messages. */
  samples: string[];
  /** answering worker pid -> responses. */
  pids: Record<string, number>;
  /** Connections still open when stop() was called (nobody closed them). */
  openAtStop: number;
}

function newStats(): LoadStats {
  return { ok: 0, failed: 0, reconnects: 0, refused: 0, failures: {}, refusals: {}, samples: [], pids: {}, openAtStop: 0 };
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function fail(stats: LoadStats, shape: string, detail: string): void {
  stats.failed++;
  bump(stats.failures, shape);
  if (stats.samples.length < 12) stats.samples.push(`${shape}: ${detail}`);
}

export interface Load {
  readonly name: string;
  readonly stats: LoadStats;
  /** From now on, a new connection that is refused (or dropped unanswered) counts as refused and ends its loop. */
  markTerm(): void;
  /** Resolves once every loop has ended by itself (all refused after a TERM). */
  readonly ended: Promise<void>;
  /** Ends the loops after their outstanding request and closes the connections. */
  stop(): Promise<LoadStats>;
}

/** A parsed response, or why there is none yet. */
interface Parsed {
  status: number;
  headers: Map<string, string>;
  body: string;
  /** Bytes of the buffer it used. */
  used: number;
}

const NEED_MORE = Symbol('need more');
const TO_EOF = Symbol('body until the connection closes');

/**
 * Parses one HTTP/1.1 response from the start of `buf` (framing by RFC 9112 §6.3: no body for 1xx, 204
 * and 304; chunked; Content-Length; otherwise until the close). Throws on bytes that are not HTTP.
 */
function parseResponse(buf: Buffer, eof: boolean): Parsed | typeof NEED_MORE | typeof TO_EOF {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) {
    if (buf.length > 65536) throw new Error('a response head over 64 KiB');
    return NEED_MORE;
  }
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
  if (!m) throw new Error(`not a status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const status = Number(m[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  let at = headEnd + 4;
  if (status >= 100 && status < 200) {
    // An interim response (100 Continue): skip it, the final one follows.
    const rest = parseResponse(buf.subarray(at), eof);
    return typeof rest === 'symbol' ? rest : { ...rest, used: rest.used + at };
  }
  if (status === 204 || status === 304) return { status, headers, body: '', used: at };
  const te = headers.get('transfer-encoding');
  if (te !== undefined) {
    if (!/(^|,)\s*chunked\s*$/i.test(te)) throw new Error(`a transfer-encoding without chunked last: ${te}`);
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return NEED_MORE;
      const sizeText = buf.subarray(at, lineEnd).toString('latin1').split(';')[0]!.trim();
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`a bad chunk size: ${JSON.stringify(sizeText.slice(0, 40))}`);
      const size = parseInt(sizeText, 16);
      at = lineEnd + 2;
      if (size === 0) {
        // Trailer fields, then the empty line.
        for (;;) {
          const end = buf.indexOf('\r\n', at);
          if (end < 0) return NEED_MORE;
          const empty = end === at;
          at = end + 2;
          if (empty) return { status, headers, body: Buffer.concat(parts).toString('latin1'), used: at };
        }
      }
      if (buf.length < at + size + 2) return NEED_MORE;
      parts.push(buf.subarray(at, at + size));
      if (buf[at + size] !== 13 || buf[at + size + 1] !== 10) throw new Error('chunk data not followed by CRLF');
      at += size + 2;
    }
  }
  const cl = headers.get('content-length');
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw new Error(`a bad content-length: ${cl}`);
    const n = Number(cl);
    if (buf.length < at + n) return NEED_MORE;
    return { status, headers, body: buf.subarray(at, at + n).toString('latin1'), used: at + n };
  }
  if (!eof) return TO_EOF;
  return { status, headers, body: buf.subarray(at).toString('latin1'), used: buf.length };
}

type Outcome = { kind: 'answer'; parsed: Parsed; closeAfter: boolean } | { kind: 'failure'; shape: string; detail: string; answeredBefore: boolean };

/** One client connection: at most one request outstanding, every event accounted to it. */
class Connection {
  private buf: Buffer = Buffer.alloc(0);
  private eof = false;
  private error: NodeJS.ErrnoException | undefined;
  private waiter: (() => void) | undefined;
  answered = 0;
  readonly socket: net.Socket;
  readonly connected: Promise<NodeJS.ErrnoException | null>;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve) => {
      this.socket.once('connect', () => resolve(null));
      this.socket.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    });
    this.socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.socket.on('end', () => {
      this.eof = true;
      this.wake();
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      this.error = e;
      this.wake();
    });
    this.socket.on('close', () => {
      this.eof = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Closed (or errored) while idle: nothing was outstanding. */
  get gone(): boolean {
    return this.eof || this.error !== undefined || this.socket.destroyed;
  }

  async send(x: Exchange, host: string, timeoutMs: number): Promise<Outcome> {
    if (this.buf.length > 0) {
      return {
        kind: 'failure',
        shape: 'bytes nobody asked for before a request',
        detail: JSON.stringify(this.buf.subarray(0, 80).toString('latin1')),
        answeredBefore: this.answered > 0,
      };
    }
    const body = x.body !== undefined ? Buffer.from(x.body, 'latin1') : undefined;
    const head =
      `${x.method} ${x.path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: tsgi-keepalive-test\r\n` +
      (body ? `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n` : '') +
      '\r\n';
    this.socket.write(body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head);
    const deadline = Date.now() + timeoutMs;
    const reused = this.answered > 0 ? 'a reused connection' : 'a new connection';
    for (;;) {
      let parsed: ReturnType<typeof parseResponse>;
      try {
        parsed = parseResponse(this.buf, this.eof);
      } catch (err) {
        return { kind: 'failure', shape: 'not HTTP', detail: (err as Error).message, answeredBefore: this.answered > 0 };
      }
      if (typeof parsed === 'object') {
        this.buf = this.buf.subarray(parsed.used);
        this.answered++;
        const closeAfter = /(^|,)\s*close\s*(,|$)/i.test(parsed.headers.get('connection') ?? '') || this.eof;
        return { kind: 'answer', parsed, closeAfter };
      }
      if (this.error !== undefined || this.eof) {
        const got = this.buf.length;
        const how = this.error !== undefined ? (this.error.code ?? this.error.message) : 'EOF';
        const shape = got === 0 ? `${how} before any response byte on ${reused}` : `${how} mid-response on ${reused}`;
        return {
          kind: 'failure',
          shape,
          detail: `${x.method} ${x.path} after ${this.answered} answers, ${got} bytes of response`,
          answeredBefore: this.answered > 0,
        };
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        return {
          kind: 'failure',
          shape: `no answer within ${timeoutMs} ms on ${reused}`,
          detail: `${x.method} ${x.path}, ${this.buf.length} bytes so far`,
          answeredBefore: this.answered > 0,
        };
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface RawLoadOptions {
  connections?: number;
  timeoutMs?: number;
  /** The Host header (default 127.0.0.1:port). */
  host?: string;
  /**
   * After markTerm(): this status on a connection's first answer means the backend refused (a proxy in
   * front says 502 when tsgi no longer listens). Counted as refused and ends the loop; the test checks
   * the proxy's own log for what the upstream error really was.
   */
  refusedStatusAfterTerm?: number;
}

/**
 * `connections` loops, each one keep-alive connection sending the request mix back to back. A request
 * without a complete, correct answer is a failure and is never sent again; the loop then opens a new
 * connection (a failure's connection is never reused).
 */
export function rawKeepAliveLoad(name: string, port: number, opts: RawLoadOptions = {}): Load {
  const { connections = 16, timeoutMs = 10_000, host = `127.0.0.1:${port}`, refusedStatusAfterTerm } = opts;
  const stats = newStats();
  let running = true;
  let termAt: number | null = null;
  const open = new Set<Connection>();

  const loop = async (c: number) => {
    let seq = 0;
    while (running) {
      const openedAfterTerm = termAt !== null;
      const conn = new Connection(port);
      open.add(conn);
      try {
        const err = await conn.connected;
        if (err) {
          if (openedAfterTerm) {
            stats.refused++;
            bump(stats.refusals, `connect ${err.code ?? err.message}`);
            return;
          }
          fail(stats, `connect ${err.code ?? err.message}`, `connection ${c}`);
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        for (;;) {
          if (!running) return;
          if (conn.gone) {
            // Closed by the server with nothing outstanding: allowed, reconnect.
            stats.reconnects++;
            break;
          }
          const x = exchange(c, seq++);
          const sentAfterTerm = termAt !== null;
          const out = await conn.send(x, host, timeoutMs);
          if (out.kind === 'failure') {
            if (openedAfterTerm && !out.answeredBefore) {
              // A connection opened after the TERM that never got an answer: the server was going away.
              stats.refused++;
              bump(stats.refusals, out.shape);
              return;
            }
            fail(stats, termAt === null ? out.shape : `${out.shape}, sent ${sentAfterTerm ? 'after' : 'before'} the TERM`, out.detail);
            break;
          }
          const { parsed, closeAfter } = out;
          if (parsed.status !== 200) {
            if (sentAfterTerm && parsed.status === refusedStatusAfterTerm) {
              // Through a proxy, the client's connection outlives the backend's: a 502 for a request
              // sent after the TERM may be a refusal. Counted apart; the test settles it from the
              // proxy's log. (One for a request sent before the TERM is a lost request.)
              stats.refused++;
              bump(stats.refusals, `status ${parsed.status}`);
              return;
            }
            fail(stats, `status ${parsed.status}`, `${x.method} ${x.path}: ${JSON.stringify(parsed.body.slice(0, 120))}`);
          } else {
            const pid = x.check(parsed.body);
            if (pid === null) fail(stats, 'wrong body', `${x.method} ${x.path}: ${JSON.stringify(parsed.body.slice(0, 120))}`);
            else {
              stats.ok++;
              bump(stats.pids, pid);
            }
          }
          if (closeAfter) {
            stats.reconnects++;
            break;
          }
        }
      } finally {
        conn.close();
        open.delete(conn);
      }
    }
  };

  const loops = Array.from({ length: connections }, (_, c) => loop(c));
  const ended = Promise.all(loops).then(() => {});
  return {
    name,
    stats,
    ended,
    markTerm() {
      termAt = Date.now();
    },
    async stop() {
      stats.openAtStop = open.size;
      running = false;
      await ended;
      return stats;
    },
  };
}

/** The error code under a fetch failure (undici wraps it in `cause`, sometimes twice). */
function fetchErrorShape(err: unknown): string {
  let e: unknown = err;
  const names: string[] = [];
  for (let i = 0; i < 4 && e instanceof Error; i++) {
    const code = (e as NodeJS.ErrnoException).code;
    names.push(code ?? (e.name === 'Error' || e.name === 'TypeError' ? e.message : e.name));
    e = (e as Error & { cause?: unknown }).cause;
  }
  return names.join(' / ');
}

/**
 * `concurrency` loops calling Node's fetch (undici's keep-alive pool, the default global dispatcher)
 * with the same request mix; no retries. After markTerm() a refused connection ends its loop.
 */
export function fetchLoad(name: string, port: number, { concurrency = 8, timeoutMs = 10_000 } = {}): Load {
  const stats = newStats();
  let running = true;
  let termAt: number | null = null;
  let inFlight = 0;
  const loop = async (c: number) => {
    let seq = 0;
    while (running) {
      const x = exchange(c + 1000, seq++);
      const sentAfterTerm = termAt !== null;
      inFlight++;
      try {
        const res = await fetch(`http://127.0.0.1:${port}${x.path}`, {
          method: x.method,
          body: x.body,
          headers: x.body !== undefined ? { 'Content-Type': 'text/plain' } : {},
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        if (res.status !== 200) fail(stats, `status ${res.status}`, `${x.method} ${x.path}: ${JSON.stringify(text.slice(0, 120))}`);
        else {
          const pid = x.check(text);
          if (pid === null) fail(stats, 'wrong body', `${x.method} ${x.path}: ${JSON.stringify(text.slice(0, 120))}`);
          else {
            stats.ok++;
            bump(stats.pids, pid);
          }
        }
      } catch (err) {
        const shape = fetchErrorShape(err);
        if (sentAfterTerm && /ECONNREFUSED/.test(shape)) {
          stats.refused++;
          bump(stats.refusals, shape);
          return;
        }
        fail(stats, termAt === null ? shape : `${shape}, sent ${sentAfterTerm ? 'after' : 'before'} the TERM`, `${x.method} ${x.path}`);
      } finally {
        inFlight--;
      }
    }
  };
  const loops = Array.from({ length: concurrency }, (_, c) => loop(c));
  const ended = Promise.all(loops).then(() => {});
  return {
    name,
    stats,
    ended,
    markTerm() {
      termAt = Date.now();
    },
    async stop() {
      stats.openAtStop = inFlight;
      running = false;
      await ended;
      return stats;
    },
  };
}

/** One line of counts, for the test's diagnostics and assertion messages. */
export function summary(load: Load): string {
  const s = load.stats;
  const shapes = Object.entries(s.failures).map(([k, v]) => `${v}× ${k}`);
  const refusals = Object.entries(s.refusals).map(([k, v]) => `${v}× ${k}`);
  return (
    `${load.name}: ok ${s.ok}, failed ${s.failed}, reconnects ${s.reconnects}, refused ${s.refused}, pids ${Object.keys(s.pids).length}` +
    (shapes.length ? ` | failures: ${shapes.join('; ')}` : '') +
    (refusals.length ? ` | refusals: ${refusals.join('; ')}` : '')
  );
}
