// One FastCGI request on a connection: PARAMS and STDIN reassembled across records, the environ
// built, the application run over a FastcgiSink, and the STDIN stream served as wsgi.input's
// ByteSource (with backpressure on the socket). STDERR records carry wsgi.errors when asked to.
import type { ErrorStream } from '../spec.js';
import { ClientError, runApp } from '../runner/handler.js';
import { Input, type ByteSource } from '../runner/input.js';
import { utf8 } from '../protocol/bytes.js';
import type { Connection } from './connection.js';
import { buildEnviron } from './environ.js';
import { FCGI, PROTOCOL_STATUS, decodePairs, encodeRecord, endRequest } from '../protocol/fastcgi.js';
import { FastcgiSink, writeStream, type SinkOwner } from './sink.js';

/** Pause the socket when this much STDIN (or held records) is buffered and not yet used. */
export const HIGH_WATER = 256 * 1024;

/** One request on a connection: PARAMS and STDIN reassembled, the application run, the response. */
export class Request implements ByteSource, SinkOwner {
  private params: Uint8Array[] = [];
  private paramsSize = 0;
  started = false;
  private ended = false;
  private aborted = false;
  private stderrUsed = false;
  // STDIN, as received and not yet pulled.
  private length: number | null = null;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private received = 0;
  private stdinDone = false;
  private waiter: { resolve: (c: Uint8Array | null) => void; reject: (e: Error) => void } | null = null;
  private bodyTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly conn: Connection,
    readonly id: number,
    readonly keepConn: boolean,
  ) {}

  get gone(): boolean {
    return this.aborted || !this.conn.usable;
  }

  addParams(content: Uint8Array): void {
    if (this.started || this.ended) return;
    if (content.length === 0) return this.start();
    this.paramsSize += content.length;
    if (this.paramsSize > this.conn.s.maxParamsSize) {
      this.refuse(431, 'Request Header Fields Too Large', `PARAMS of more than ${this.conn.s.maxParamsSize} bytes`);
      return;
    }
    this.params.push(content);
  }

  /** PARAMS and STDIN have both ended: the web server has sent the whole request. */
  get inputComplete(): boolean {
    return this.stdinDone && (this.started || this.ended);
  }

  addStdin(content: Uint8Array): void {
    if (this.stdinDone) return;
    if (content.length === 0) {
      this.stdinDone = true;
      this.wake();
      return;
    }
    // Bytes past CONTENT_LENGTH, or after the response: nobody will read them.
    if (this.ended || (this.length !== null && this.received >= this.length)) return;
    this.received += content.length;
    this.queue.push(content);
    this.queued += content.length;
    if (this.queued >= HIGH_WATER) this.conn.socket.pause();
    this.wake();
  }

  /** A request the application never sees: a small error response, then the connection closes. */
  private refuse(status: number, reason: string, why: string): void {
    this.conn.s.log.warn(`fastcgi: ${this.conn.peer}: request ${this.id}: ${why}; answered ${status} without calling the application`);
    this.ended = true;
    this.params = [];
    const body = `${reason}\n`;
    const head = `Status: ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const out = Buffer.concat([
      encodeRecord(FCGI.STDOUT, this.id, Buffer.from(head, 'latin1')),
      encodeRecord(FCGI.STDOUT, this.id),
      endRequest(this.id, 0, PROTOCOL_STATUS.REQUEST_COMPLETE),
    ]);
    this.conn.send(out);
    this.conn.requestEnded(this, true);
    this.conn.linger();
  }

  private start(): void {
    const conn = this.conn;
    const s = conn.s;
    let pairs;
    const all = this.params.length === 1 ? this.params[0]! : Buffer.concat(this.params);
    this.params = [];
    try {
      pairs = decodePairs(all);
    } catch (err) {
      return this.refuse(400, 'Bad Request', `malformed PARAMS: ${(err as Error).message}`);
    }
    const sock = conn.socket;
    const errors = s.stderr ? new StderrStream(this, s.errors) : s.errors;
    let request;
    try {
      request = buildEnviron(pairs, s.base, sock, errors);
    } catch (err) {
      if (err instanceof ClientError) return this.refuse(400, 'Bad Request', err.message);
      throw err;
    }
    const { environ, length } = request;
    this.length = length;
    if (length !== 0) environ['wsgi.input'] = new Input(this, length ?? Infinity);
    this.started = true;
    conn.requestStarted();
    const sink = new FastcgiSink(sock, this.id, this);
    conn.door.appStarted();
    // runApp never throws nor rejects: it answers and logs the application's errors itself.
    const done = runApp(s.app, environ, sink, { log: s.log, method: environ.REQUEST_METHOD });
    if (done === undefined) this.appSettled();
    else done.then(() => this.appSettled());
  }

  private appSettled(): void {
    this.conn.door.appFinished();
    // The engine stopped without completing the response: the web server aborted the request, or
    // the connection is gone.
    this.responseDone(false);
  }

  /** FCGI_ABORT_REQUEST: the web server's client has gone. */
  serverAbort(): void {
    if (this.ended || this.aborted) return;
    this.aborted = true;
    if (!this.started) {
      // The application never ran: END_REQUEST at once.
      this.ended = true;
      this.conn.send(endRequest(this.id, 0, PROTOCOL_STATUS.REQUEST_COMPLETE));
      this.conn.requestEnded(this, true);
      return;
    }
    // The sink reports itself closed now; the engine stops the body and appSettled() answers.
    this.wake();
  }

  connectionClosed(): void {
    this.wake();
  }

  // --- SinkOwner ---------------------------------------------------------------------------

  streamEnds(): Uint8Array | null {
    return this.stderrUsed ? encodeRecord(FCGI.STDERR, this.id) : null;
  }

  responseDone(complete: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.dropStdin();
    if (!complete && this.aborted && this.conn.usable) {
      // FCGI_ABORT_REQUEST is answered with END_REQUEST (spec §5.4); the connection can go on.
      this.conn.send(Buffer.concat([encodeRecord(FCGI.STDOUT, this.id), endRequest(this.id, 0, PROTOCOL_STATUS.REQUEST_COMPLETE)]));
      complete = true;
    }
    this.conn.requestEnded(this, complete);
  }

  /** STDERR for wsgi.errors; false when the request is over (the caller logs instead). */
  stderr(text: string): boolean {
    if (this.ended || !this.conn.usable) return false;
    const bytes = utf8(text);
    if (bytes.length === 0) return true;
    writeStream(this.conn.socket, FCGI.STDERR, this.id, [bytes]);
    this.stderrUsed = true;
    return true;
  }

  // --- STDIN as the ByteSource of wsgi.input -----------------------------------------------------

  private dropStdin(): void {
    this.queue = [];
    this.queued = 0;
    clearTimeout(this.bodyTimer);
    const w = this.waiter;
    this.waiter = null;
    w?.resolve(null);
  }

  pull(): Promise<Uint8Array | null> {
    const next = this.next();
    if (next !== undefined) return next;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.conn.socket.resume();
      const ms = this.conn.s.bodyTimeout;
      if (ms > 0) {
        this.bodyTimer = setTimeout(() => {
          this.waiter = null;
          reject(new ClientError(408, `no request body data for ${ms} ms`));
        }, ms);
      }
    });
  }

  /** What pull() can answer now, or undefined to wait. */
  private next(): Promise<Uint8Array | null> | undefined {
    if (this.queue.length > 0) {
      const c = this.queue.shift()!;
      this.queued -= c.length;
      if (this.queued < HIGH_WATER / 2) this.conn.socket.resume();
      return Promise.resolve(c);
    }
    if (this.ended) return Promise.resolve(null);
    if (this.stdinDone) {
      if (this.length !== null && this.received < this.length) {
        return Promise.reject(new ClientError(400, `the request body ended after ${this.received} of ${this.length} bytes`));
      }
      return Promise.resolve(null);
    }
    if (this.aborted) return Promise.reject(new ClientError(400, 'the web server aborted the request'));
    if (this.conn.peerEnded || !this.conn.usable) {
      return Promise.reject(new ClientError(400, 'the web server closed the connection before the end of the request body'));
    }
    return undefined;
  }

  wake(): void {
    const w = this.waiter;
    if (w === null) return;
    const next = this.next();
    if (next === undefined) return;
    this.waiter = null;
    clearTimeout(this.bodyTimer);
    next.then(w.resolve, w.reject);
  }
}

/** wsgi.errors as FCGI_STDERR records (nginx logs them: "FastCGI sent in stderr"). */
class StderrStream implements ErrorStream {
  constructor(
    private readonly req: Request,
    private readonly fallback: ErrorStream,
  ) {}
  write(text: string): void {
    if (!this.req.stderr(String(text))) this.fallback.write(text);
  }
  writelines(lines: Iterable<string>): void {
    for (const l of lines) this.write(l);
  }
  flush(): void {}
}
