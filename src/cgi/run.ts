// Running an application as a CGI script, as wsgiref.handlers.CGIHandler does (research/wsgi-spec.md
// B19, research/protocols.md §3.4): the environment and stdin in; `Status: NNN Reason`, the headers
// and the body on stdout (no HTTP status line, no Date or Server: the web server frames the
// response); tracebacks and wsgi.errors on stderr; wsgi.run_once true.
import type { Readable, Writable } from 'node:stream';
import type { Application, ErrorStream, HeaderList } from '../spec.js';
import { ClientError, runApp, type Sink } from '../runner/handler.js';
import { EMPTY_INPUT, Input, type ByteSource } from '../runner/input.js';
import { streamLogger, type Logger } from '../runner/log.js';
import { FileWrapper } from '../util.js';
import { VERSION } from '../version.js';
import { cgiEnviron } from './environ.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { readFileSync } = process.getBuiltinModule('node:fs');

export interface CgiOptions {
  /** The request's variables; default process.env (then read byte-exact from /proc/self/environ where it can be). */
  env?: Record<string, string | undefined>;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Aborting it ends the response early (the web server gave up: SIGTERM, a closed pipe). */
  signal?: AbortSignal;
  /** The error log; default lines on `stderr`. */
  log?: Logger;
}

/**
 * Native strings from the environment: its bytes decoded as latin-1. Node hands process.env over
 * decoded as UTF-8 (bytes that are not UTF-8 become U+FFFD), so for process.env itself the bytes are
 * taken from /proc/self/environ when it is readable and agrees with process.env.
 */
export function nativeEnv(env: Record<string, string | undefined>): Record<string, string> {
  let raw: Map<string, string> | undefined;
  if (env === process.env) {
    try {
      raw = new Map();
      for (const entry of readFileSync('/proc/self/environ').toString('latin1').split('\0')) {
        const eq = entry.indexOf('=', 1);
        if (eq > 0) raw.set(entry.slice(0, eq), entry.slice(eq + 1));
      }
    } catch {
      raw = undefined; // not Linux, or no /proc: re-encode what Node decoded
    }
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    const key = Buffer.from(k, 'utf8').toString('latin1');
    const bytes = raw?.get(key);
    out[key] = bytes !== undefined && Buffer.from(bytes, 'latin1').toString('utf8') === v ? bytes : Buffer.from(v, 'utf8').toString('latin1');
  }
  return out;
}

/** stdin as the ByteSource of wsgi.input; ending short of CONTENT_LENGTH is the client's fault. */
class StdinSource implements ByteSource {
  private received = 0;

  constructor(
    private readonly stream: Readable,
    private readonly length: number | null,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private atEnd(): Uint8Array | null {
    if (this.length !== null && this.received < this.length) {
      throw new ClientError(400, `stdin ended after ${this.received} of CONTENT_LENGTH ${this.length} bytes`);
    }
    return null;
  }

  private got(c: Buffer | string): Uint8Array {
    const b = typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
    this.received += b.length;
    return b;
  }

  pull(): Promise<Uint8Array | null> {
    const s = this.stream;
    if (this.signal?.aborted) return Promise.reject(new ClientError(400, 'the request was aborted'));
    const c = s.read() as Buffer | string | null;
    if (c !== null) return Promise.resolve(this.got(c));
    if (s.readableEnded) return Promise.resolve().then(() => this.atEnd());
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        s.off('readable', onReadable);
        s.off('end', onEnd);
        s.off('error', onError);
        s.off('close', onEnd);
        this.signal?.removeEventListener('abort', onAbort);
      };
      const onReadable = () => {
        const chunk = s.read() as Buffer | string | null;
        if (chunk !== null) {
          cleanup();
          resolve(this.got(chunk));
        }
      };
      const onEnd = () => {
        cleanup();
        try {
          resolve(this.atEnd());
        } catch (err) {
          reject(err);
        }
      };
      const onError = (err: Error) => {
        cleanup();
        reject(new ClientError(400, `stdin could not be read: ${err.message}`));
      };
      const onAbort = () => {
        cleanup();
        reject(new ClientError(400, 'the request was aborted'));
      };
      s.on('readable', onReadable);
      s.on('end', onEnd);
      s.on('close', onEnd);
      s.on('error', onError);
      this.signal?.addEventListener('abort', onAbort);
    });
  }
}

/** The engine's Sink over stdout: `Status:` head held until the first body bytes, then the body. */
class StdoutSink implements Sink {
  private pending: Buffer | null = null;
  private broken = false;
  private done = false;

  constructor(
    private readonly out: Writable,
    private readonly signal: AbortSignal | undefined,
  ) {
    // EPIPE once the web server stops reading (its client left): stop, do not crash.
    out.on('error', () => (this.broken = true));
  }

  get closed(): boolean {
    return this.done || this.broken || this.out.destroyed || this.signal?.aborted === true;
  }

  head(_code: number, status: string, headers: HeaderList): void {
    let s = `Status: ${status}\r\n`;
    for (const [name, value] of headers) {
      // Connection is about the web server's own client connection (the engine sets it on its 400s).
      if (name.toLowerCase() !== 'connection') s += `${name}: ${value}\r\n`;
    }
    this.pending = Buffer.from(s + '\r\n', 'latin1');
  }

  private put(chunk?: Uint8Array): boolean {
    const head = this.pending;
    this.pending = null;
    if (head === null) return chunk === undefined || chunk.length === 0 ? true : this.out.write(chunk);
    return this.out.write(chunk === undefined || chunk.length === 0 ? head : Buffer.concat([head, chunk]));
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed) return false;
    return this.put(chunk);
  }

  drain(): Promise<void> {
    const out = this.out;
    if (this.closed || !out.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('close', done);
        out.off('error', done);
        this.signal?.removeEventListener('abort', done);
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
      out.on('error', done);
      this.signal?.addEventListener('abort', done);
    });
  }

  end(last?: Uint8Array): void {
    if (!this.closed) this.put(last);
    this.done = true;
  }

  abort(): void {
    // A CGI response has no framing of its own: the web server ends it when we exit. The head, when
    // not out yet, goes out as wsgiref sends it (a short body after a Content-Length is still short).
    if (!this.closed) this.put();
    this.done = true;
  }
}

function textStream(out: Writable): ErrorStream {
  return {
    write: (text) => void out.write(String(text)),
    writelines(lines) {
      for (const l of lines) out.write(String(l));
    },
    flush() {},
  };
}

/** Resolves once everything written to `out` has been handed to the system (or `out` failed). */
function flushed(out: Writable): Promise<void> {
  if (out.destroyed || out.writableEnded) return Promise.resolve();
  return new Promise((resolve) => out.write(Buffer.alloc(0), () => resolve()));
}

/** Runs `app` for the one request this process was started for. Resolves when the response is written. */
export async function runCgi(app: Application, options: CgiOptions = {}): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const log = options.log ?? streamLogger(stderr);
  const env = nativeEnv(options.env ?? process.env);
  let request;
  try {
    request = cgiEnviron(env, { software: `tsgi/${VERSION}`, errors: textStream(stderr), multiprocess: true, fileWrapper: FileWrapper, input: EMPTY_INPUT });
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    log.warn(`cgi: ${err.message}; answered 400 without calling the application`);
    stdout.write('Status: 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nBad Request\n');
    return flushed(stdout);
  }
  const { environ, body } = request;
  if (body !== 'none') {
    // Only now: touching process.stdin opens it, and a GET has no use for it.
    const stdin = options.stdin ?? process.stdin;
    const length = body === 'eof' ? null : body;
    environ['wsgi.input'] = new Input(new StdinSource(stdin, length, options.signal), length ?? Infinity);
  }
  const sink = new StdoutSink(stdout, options.signal);
  await runApp(app, environ, sink, { log, method: environ.REQUEST_METHOD });
  await flushed(stdout);
}
