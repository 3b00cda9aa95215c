// One FastCGI request on a connection: PARAMS and STDIN reassembled across records, the environ
// built, the application run over a FastcgiSink, and the STDIN stream fed to a BodyQueue
// (src/protocol/body.ts) that wsgi.input reads, with backpressure on the socket. STDERR records carry
// wsgi.errors when asked to.
import type { ErrorStream } from '../spec.js';
import { ClientError, runApp } from '../runner/handler.js';
import { Input } from '../runner/input.js';
import { BodyQueue, HIGH_WATER } from '../protocol/body.js';
import { utf8 } from '../protocol/bytes.js';
import type { Connection } from './connection.js';
import { buildEnviron } from './environ.js';
import { FCGI, PROTOCOL_STATUS, decodePairs, encodeRecord, endRequest } from '../protocol/fastcgi.js';
import { FastcgiSink, writeStream, type SinkOwner } from './sink.js';
import { bodyBytesAllocated } from '../server/young-gc.js';

/** Pause the socket when this much (held records) is buffered and not yet used: STDIN's own rule. */
export { HIGH_WATER };

/** One request on a connection: PARAMS and STDIN reassembled, the application run, the response. */
export class Request implements SinkOwner {
  private params: Uint8Array[] = [];
  private paramsSize = 0;
  started = false;
  private ended = false;
  private aborted = false;
  private stderrUsed = false;
  // STDIN, as received and not yet pulled; made when PARAMS end (STDIN cannot come before).
  private body: BodyQueue | null = null;
  /** STDIN that came before the end of PARAMS (no web server does this, but the spec does not forbid it). */
  private early: Uint8Array[] | null = null;
  private earlySize = 0;
  private stdinDone = false;

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
    bodyBytesAllocated(content.length);
    if (content.length === 0) this.stdinDone = true;
    if (this.body === null) {
      if (this.ended) return;
      (this.early ??= []).push(content);
      this.earlySize += content.length;
      if (this.earlySize >= HIGH_WATER) this.conn.socket.pause();
      return;
    }
    // Bytes past CONTENT_LENGTH, or after the response: nobody will read them (the queue drops them).
    if (content.length === 0) this.body.end();
    else this.body.feed(content);
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
    // Closed first, so that the connection does not nudge (drain) after a request it refused.
    this.conn.linger();
    this.conn.requestEnded(this, true);
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
    const socket = conn.socket;
    const body = (this.body = new BodyQueue(socket, { framing: { kind: 'transport', length: length ?? undefined }, timeoutMs: s.bodyTimeout }));
    if (this.early !== null) {
      for (const c of this.early) {
        if (c.length === 0) body.end();
        else body.feed(c);
      }
      this.early = null;
      if (this.earlySize >= HIGH_WATER) socket.resume();
    }
    if (length !== 0) environ['wsgi.input'] = new Input(this.body, length ?? Infinity);
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
    this.body?.fail(new ClientError(400, 'the web server aborted the request', 'TSGI_ERR_BODY_INCOMPLETE'));
  }

  connectionClosed(): void {
    this.wake();
  }

  /** The web server closed its side (or the connection is gone): STDIN still expected will not come. */
  wake(): void {
    if (this.stdinDone || this.ended) return;
    this.body?.fail(new ClientError(400, 'the web server closed the connection before the end of the request body', 'TSGI_ERR_BODY_INCOMPLETE'));
  }

  // --- SinkOwner ---------------------------------------------------------------------------

  streamEnds(): Uint8Array | null {
    return this.stderrUsed ? encodeRecord(FCGI.STDERR, this.id) : null;
  }

  afterEnd(): Uint8Array | null {
    return this.conn.afterEnd(this);
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

  // --- STDIN ---------------------------------------------------------------------------------

  /** The response is over: STDIN that is still queued or to come is dropped. */
  private dropStdin(): void {
    this.body?.close();
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
