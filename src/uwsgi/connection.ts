// One uwsgi connection: one request, one response, then close (every front end opens a connection
// per request: protocols.md §1.7). The phases:
//   vars   parse the packet; a malformed one is closed at once, without calling the application,
//          with one log line (reliability.md (e));
//   body   run the application; wsgi.input reads a BodyQueue (src/protocol/body.ts) fed from the
//          socket: exactly CONTENT_LENGTH bytes (or a chunked stream), with backpressure;
//   close  the usual end: the request was read to its end, nothing came after it, and the response
//          is all in the kernel's send buffer: close at once, as uWSGI does (the FIN follows the
//          response; with nothing unread, no reset). No shutdown(), no wait for the front end's FIN.
//   linger otherwise (an unread body, a pipelined packet: U14, a response still being flushed): the
//          write side is ended, and what the front end still sends is read and dropped until it
//          closes, so the close never turns into a reset that the front end would report as an error.
import type { Socket } from 'node:net';
import type { Application } from '../spec.js';
import { ClientError, runApp } from '../runner/handler.js';
import { Input } from '../runner/input.js';
import { formatError, type Logger } from '../runner/log.js';
import { BodyQueue } from '../protocol/body.js';
import { buildEnviron, type BodyFraming, type UwsgiBase } from './environ.js';
import { PacketError, UwsgiParser, type Parsed } from '../protocol/uwsgi.js';
import { SocketSink } from './sink.js';
import { bodyBytesAllocated } from '../server/young-gc.js';

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

/**
 * The door's sweep (door.ts) calls this for each open socket: the header timeout is a deadline checked
 * a few times a second rather than a timer per connection (nginx opens a connection per request, and a
 * setTimeout and its clearTimeout were ~1% of the backend's CPU behind it).
 */
export function checkDeadline(socket: Socket, now: number, late = 0): void {
  (socket as Partial<OwnedSocket>)[CONN]?.check(now, late);
}
const NO_BODY: BodyFraming = { kind: 'none' };

export class Connection {
  private phase: 'vars' | 'body' | 'linger' | 'closed' = 'vars';
  private parser: UwsgiParser;
  /** When the packet must have arrived by (Date.now() clock); Infinity once it has. */
  private deadline: number;
  /** The lingering close's cut (rare: an unread body, a pipelined packet). */
  private timer: ReturnType<typeof setTimeout> | undefined;
  // The body, as received and not yet pulled (null: the request has none).
  private body: BodyQueue | null = null;
  private framing: BodyFraming = NO_BODY;
  /** Bytes came after the request (a pipelined packet, more than CONTENT_LENGTH): linger, do not just close. */
  private extra = false;
  private peerEnded = false;
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
    this.deadline = Date.now() + s.headerTimeout;
  }

  /** The owner hears once that the request is over. */
  private release(): void {
    if (this.done) return;
    this.done = true;
    this.owner.requestDone();
  }

  /** `late`: how long the event loop was held before this check (Sweep): that time is not the front end's. */
  check(now: number, late = 0): void {
    if (late > 0) this.deadline += late;
    if (now < this.deadline || this.phase !== 'vars') return;
    this.deadline = Infinity;
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
    } else if (this.phase === 'body') {
      bodyBytesAllocated(chunk.length);
      this.addBody(chunk);
    }
    // linger: dropped
  }

  onEnd(): void {
    this.peerEnded = true;
    if (this.phase === 'vars') this.refuse(this.parser.end());
    else if (this.phase === 'body') this.bodyCut();
    else if (this.phase === 'linger') this.socket.destroySoon();
  }

  onClose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.peerEnded = true;
    const wasVars = this.phase === 'vars';
    if (this.phase === 'body') this.bodyCut();
    this.phase = 'closed';
    this.owner.socketClosed(this.socket);
    if (wasVars) this.release();
  }

  /** A malformed packet: one log line, close without a response, the application never called. */
  private refuse(err: PacketError | ClientError): void {
    if (this.phase !== 'vars') return;
    this.phase = 'closed';
    this.deadline = Infinity;
    // A peer that connected and left without a byte is a port check, not an error worth a line.
    if (this.sawBytes || !(err instanceof PacketError && err.kind === 'truncated')) {
      this.s.log.warn(`uwsgi: ${this.peer}: ${err.message}; closed without calling the application`);
    }
    this.socket.destroy();
    this.release();
  }

  private start({ packet, rest }: Parsed): void {
    this.deadline = Infinity;
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
    if (body.kind !== 'none') {
      this.body = new BodyQueue(s, {
        framing: body.kind === 'length' ? { kind: 'length', length: body.length } : { kind: 'chunked' },
        timeoutMs: this.s.bodyTimeout,
        // The socket reads (and the packet's rest) are fed and not kept: wsgi.input may join them in place.
        given: true,
      });
      environ['wsgi.input'] = new Input(this.body, body.kind === 'length' ? body.length : Infinity);
    }
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
    const body = this.body;
    if (this.phase === 'body' && (body === null || body.complete) && !this.extra && this.framing.kind !== 'chunked' && socket.writableLength === 0) {
      this.phase = 'closed';
      body?.close();
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
    this.body?.close();
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
    const body = this.body;
    if (body === null || body.complete || body.failed) {
      // Bytes after the body: not ours (U14); the close must linger for them.
      if (chunk.length > 0) this.extra = true;
      return;
    }
    if (body.feed(chunk) < chunk.length) this.extra = true;
  }

  /** The front end closed (or half-closed) its side: a body still expected will not come. */
  private bodyCut(): void {
    const body = this.body;
    if (body === null || body.complete) return;
    const want = this.framing.kind === 'length' ? ` (${body.bytesReceived} of ${this.framing.length} bytes)` : '';
    body.fail(new ClientError(400, `the front end closed the connection before the end of the body${want}`, 'TSGI_ERR_BODY_INCOMPLETE'));
  }
}
