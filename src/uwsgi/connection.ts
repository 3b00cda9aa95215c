// One uwsgi connection: one request, one response, then close (every front end opens a connection
// per request: protocols.md §1.7). The phases:
//   vars   parse the packet; a malformed one is closed at once, without calling the application,
//          with one log line (reliability.md (e));
//   body   run the application; this object is the ByteSource of wsgi.input, reading exactly
//          CONTENT_LENGTH bytes (or a chunked stream) from the socket, with backpressure;
//   close  the usual end: the request was read to its end, nothing came after it, and the response
//          is all in the kernel's send buffer: close at once, as uWSGI does (the FIN follows the
//          response; with nothing unread, no reset). No shutdown(), no wait for the front end's FIN.
//   linger otherwise (an unread body, a pipelined packet: U14, a response still being flushed): the
//          write side is ended, and what the front end still sends is read and dropped until it
//          closes, so the close never turns into a reset that the front end would report as an error.
import type { Socket } from 'node:net';
import type { Application } from '../spec.js';
import { ClientError, runApp } from '../runner/handler.js';
import { Input, type ByteSource } from '../runner/input.js';
import { formatError, type Logger } from '../runner/log.js';
import { ChunkError, ChunkedDecoder } from './chunked.js';
import { buildEnviron, type BodyFraming, type UwsgiBase } from './environ.js';
import { PacketError, UwsgiParser, type Parsed } from '../protocol/uwsgi.js';
import { SocketSink } from './sink.js';

export interface ConnectionSettings {
  app: Application;
  base: UwsgiBase;
  log: Logger;
  bufferSize: number;
  headerTimeout: number;
  bodyTimeout: number;
  lingerTimeout: number;
  /**
   * The listening socket's address when it is a specific one (not 0.0.0.0 or ::): every accepted
   * socket has it as its local address, so the SERVER_NAME/SERVER_PORT fallbacks need no syscall.
   */
  local?: { address: string; port: number } | undefined;
}

/** Pause the socket when this much body is buffered and not yet read by the application. */
const HIGH_WATER = 256 * 1024;

/** Who opened the connection: told once when the request is over, and when the socket has closed. */
export interface ConnectionOwner {
  /** The application has finished (or was never called) for this connection. Called once. */
  requestDone(): void;
  /** The socket has closed. */
  socketClosed(socket: Socket): void;
}

// The socket's listeners are shared functions that find their Connection on the socket: no closures
// per connection (nginx opens one per request, so per-connection work is per-request work).
const CONN = Symbol('tsgi.uwsgi.connection');
type OwnedSocket = Socket & { [CONN]: Connection };
function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[CONN].onData(chunk);
}
function onSocketEnd(this: OwnedSocket): void {
  this[CONN].onEnd();
}
function onSocketClose(this: OwnedSocket): void {
  this[CONN].onClose();
}
// ECONNRESET/EPIPE when the front end gives up: 'close' follows and says what matters.
function ignore(): void {}
function onHeaderTimeout(conn: Connection): void {
  conn.headerTimeout();
}
const NO_BODY: BodyFraming = { kind: 'none' };

export class Connection implements ByteSource {
  private phase: 'vars' | 'body' | 'linger' | 'closed' = 'vars';
  private parser: UwsgiParser;
  private timer: ReturnType<typeof setTimeout> | undefined;
  // The body, as received and not yet pulled.
  private framing: BodyFraming = NO_BODY;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private received = 0;
  private complete = false;
  /** Bytes came after the request (a pipelined packet, more than CONTENT_LENGTH): linger, do not just close. */
  private extra = false;
  private peerEnded = false;
  private bodyError: ClientError | null = null;
  private decoder: ChunkedDecoder | null = null;
  private waiter: { resolve: (c: Uint8Array | null) => void; reject: (e: Error) => void } | null = null;
  private bodyTimer: ReturnType<typeof setTimeout> | undefined;
  private sawBytes = false;
  /** Once the application runs, the engine's completion calls requestDone; before, this object does. */
  private appCalled = false;
  private done = false;

  constructor(
    private readonly socket: Socket,
    private readonly s: ConnectionSettings,
    private readonly owner: ConnectionOwner,
  ) {
    this.parser = new UwsgiParser(s.bufferSize);
    (socket as OwnedSocket)[CONN] = this;
    // No setNoDelay: the response leaves in as few writes as the engine makes and the connection
    // closes after it, so Nagle never holds a tail back; the syscall costs a few % per request.
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('error', ignore);
    this.timer = setTimeout(onHeaderTimeout, s.headerTimeout, this);
  }

  /** The owner hears once that the request is over. */
  private release(): void {
    if (this.done) return;
    this.done = true;
    this.owner.requestDone();
  }

  headerTimeout(): void {
    this.refuse(new PacketError('truncated', `no complete packet within ${this.s.headerTimeout} ms`));
  }

  // ConnectionInfo for buildEnviron, read only when the front end did not send the variable (nginx,
  // Apache and lighttpd all send SERVER_NAME, SERVER_PORT, REMOTE_ADDR): each is a syscall.
  get localAddress(): string | undefined {
    return this.s.local !== undefined ? this.s.local.address : this.socket.localAddress;
  }

  get localPort(): number | undefined {
    return this.s.local !== undefined ? this.s.local.port : this.socket.localPort;
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  private get peer(): string {
    const a = this.socket.remoteAddress;
    return a === undefined ? 'unix socket peer' : `${a}:${this.socket.remotePort}`;
  }

  onData(chunk: Buffer): void {
    try {
      this.receive(chunk);
    } catch (err) {
      // A bug of ours must cost this connection, not the process and every other request.
      this.s.log.error(`uwsgi: ${this.peer}: internal error, connection closed: ${formatError(err)}`);
      this.phase = 'closed';
      this.socket.destroy();
      if (!this.appCalled) this.release();
    }
  }

  private receive(chunk: Buffer): void {
    if (this.phase === 'vars') {
      this.sawBytes = true;
      let parsed: Parsed | null;
      try {
        parsed = this.parser.push(chunk);
      } catch (err) {
        if (err instanceof PacketError) return this.refuse(err);
        throw err;
      }
      if (parsed !== null) this.start(parsed);
    } else if (this.phase === 'body') this.addBody(chunk);
    // linger: dropped
  }

  onEnd(): void {
    this.peerEnded = true;
    if (this.phase === 'vars') this.refuse(this.parser.end());
    else if (this.phase === 'body') this.wake();
    else if (this.phase === 'linger') this.socket.destroySoon();
  }

  onClose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.bodyTimer !== undefined) clearTimeout(this.bodyTimer);
    this.peerEnded = true;
    const wasVars = this.phase === 'vars';
    if (this.phase === 'body') this.wake();
    this.phase = 'closed';
    this.owner.socketClosed(this.socket);
    if (wasVars) this.release();
  }

  /** A malformed packet: one log line, close without a response, the application never called. */
  private refuse(err: PacketError | ClientError): void {
    if (this.phase !== 'vars') return;
    this.phase = 'closed';
    clearTimeout(this.timer);
    // A peer that connected and left without a byte is a port check, not an error worth a line.
    if (this.sawBytes || !(err instanceof PacketError && err.kind === 'truncated')) {
      this.s.log.warn(`uwsgi: ${this.peer}: ${err.message}; closed without calling the application`);
    }
    this.socket.destroy();
    this.release();
  }

  private start({ packet, rest }: Parsed): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.socket;
    let request;
    try {
      request = buildEnviron(packet.vars, this.s.base, this);
    } catch (err) {
      if (err instanceof ClientError) return this.refuse(err);
      throw err;
    }
    const { environ, body, responseProtocol } = request;
    this.phase = 'body';
    this.framing = body;
    if (body.kind === 'chunked') this.decoder = new ChunkedDecoder();
    if (body.kind !== 'none') environ['wsgi.input'] = new Input(this, body.kind === 'length' ? body.length : Infinity);
    else this.complete = true;
    if (rest.length > 0) this.addBody(rest);
    const sink = new SocketSink(s, responseProtocol, this);
    // runApp never throws nor rejects: it answers and logs the application's errors itself.
    this.appCalled = true;
    const done = runApp(this.s.app, environ, sink, { log: this.s.log, method: environ.REQUEST_METHOD });
    if (done === undefined) this.finished();
    else done.then(() => this.finished());
  }

  private finished(): void {
    // Still in 'body': the response never ended (the front end left first, or an abort): let it go.
    if (this.phase === 'body') this.socket.destroy();
    this.release();
  }

  /**
   * The sink has written the whole response: end the connection. When the request has been read to
   * its end, nothing came after it and the response is all in the kernel's buffer, close at once, as
   * uWSGI does: close() sends the FIN after the buffered bytes, and with nothing unread it cannot turn
   * into a reset. This saves the shutdown() and the wait for the front end's FIN, the most frequent
   * case behind nginx. Otherwise end the write side and linger.
   */
  responseDone(): void {
    const socket = this.socket;
    if (this.phase === 'closed' || socket.destroyed) return;
    if (this.phase === 'body' && this.complete && !this.extra && this.decoder === null && socket.writableLength === 0) {
      this.phase = 'closed';
      this.queue = [];
      if (this.bodyTimer !== undefined) clearTimeout(this.bodyTimer);
      socket.destroy();
      return;
    }
    if (socket.writable) socket.end();
    this.linger();
  }

  /** The response is out and the write side ended: read and drop until the front end closes. */
  private linger(): void {
    if (this.phase === 'closed') return;
    this.phase = 'linger';
    this.queue = [];
    this.queued = 0;
    if (this.bodyTimer !== undefined) clearTimeout(this.bodyTimer);
    const socket = this.socket;
    // destroySoon: after what is still buffered for writing has gone out.
    if (this.peerEnded) return void socket.destroySoon();
    socket.resume();
    // The linger clock starts once the response has left Node's buffers: a slow reader is not cut.
    const arm = () => {
      this.timer = setTimeout(() => socket.destroy(), this.s.lingerTimeout);
      this.timer.unref?.();
    };
    if (socket.writableFinished) arm();
    else socket.once('finish', arm);
  }

  // --- the body ----------------------------------------------------------------------------

  private addBody(chunk: Uint8Array): void {
    if (this.complete || this.bodyError !== null) {
      // Bytes after the body: not ours (U14); the close must linger for them.
      if (chunk.length > 0) this.extra = true;
      return;
    }
    if (this.decoder !== null) {
      const out: Uint8Array[] = [];
      try {
        this.decoder.push(chunk, out);
      } catch (err) {
        this.bodyError = new ClientError(400, `bad chunked request body: ${(err as ChunkError).message}`);
        this.wake();
        return;
      }
      for (const c of out) this.enqueue(c);
      if (this.decoder.done) this.complete = true;
    } else if (this.framing.kind === 'length') {
      const want = this.framing.length - this.received;
      if (chunk.length > want) this.extra = true;
      const piece = chunk.length > want ? chunk.subarray(0, want) : chunk;
      this.received += piece.length;
      this.enqueue(piece);
      if (this.received === this.framing.length) this.complete = true;
    }
    if (this.queued >= HIGH_WATER) this.socket.pause();
    this.wake();
  }

  private enqueue(c: Uint8Array): void {
    if (c.length === 0) return;
    this.queue.push(c);
    this.queued += c.length;
  }

  /** ByteSource: the next piece of the body, null at its end; rejects with a ClientError. */
  pull(): Promise<Uint8Array | null> {
    if (this.waiter === null) {
      const n = this.take();
      if (n !== undefined) return n.error ? Promise.reject(n.error) : Promise.resolve(n.chunk);
      return this.wait();
    }
    // Two reads at once: the second waits for the first, so each gets its own piece, in order.
    const after = this.pending.then(() => this.pull());
    this.pending = after.catch(() => {});
    return after;
  }

  private pending: Promise<unknown> = Promise.resolve();

  private wait(): Promise<Uint8Array | null> {
    const p = new Promise<Uint8Array | null>((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.socket.resume();
      const ms = this.s.bodyTimeout;
      if (ms > 0) {
        this.bodyTimer = setTimeout(() => {
          this.waiter = null;
          reject(new ClientError(408, `no request body data for ${ms} ms`));
        }, ms);
      }
    });
    this.pending = p.catch(() => {});
    return p;
  }

  /** What pull() can answer now (a piece, the end, an error), or undefined to wait. */
  private take(): { chunk: Uint8Array | null; error?: undefined } | { error: ClientError } | undefined {
    if (this.queue.length > 0) {
      const c = this.queue.shift()!;
      this.queued -= c.length;
      if (this.queued < HIGH_WATER / 2 && this.phase === 'body') this.socket.resume();
      return { chunk: c };
    }
    if (this.complete) return { chunk: null };
    if (this.bodyError !== null) return { error: this.bodyError };
    if (this.peerEnded) {
      const want = this.framing.kind === 'length' ? ` (${this.received} of ${this.framing.length} bytes)` : '';
      return { error: new ClientError(400, `the front end closed the connection before the end of the body${want}`) };
    }
    return undefined;
  }

  /** New body bytes, an error or the end: answer the waiting pull() at once (so pieces keep their order). */
  private wake(): void {
    const w = this.waiter;
    if (w === null) return;
    const n = this.take();
    if (n === undefined) return;
    this.waiter = null;
    if (this.bodyTimer !== undefined) clearTimeout(this.bodyTimer);
    if (n.error) w.reject(n.error);
    else w.resolve(n.chunk);
  }
}
