// One client connection on the net engine: bytes in, requests parsed strictly one at a time, each
// run through the engine, responses out in order.
//
// Pipelining is strict by construction: the next request's head is not even parsed until the
// response before it has finished and the connection is known to stay open, so a request behind
// one that closes the connection never reaches the application (the smuggling cases of the
// hostile catalogue). Bytes that arrive meanwhile wait in a bounded buffer (the socket is paused
// past it).
import type { Socket } from 'node:net';
import { runApp } from '../../runner/handler.js';
import { ClientError } from '../../errors.js';
import { requestEnviron } from '../common/environ.js';
import { rawError } from '../common/door.js';
import { Input } from '../../runner/input.js';
import type { Environ } from '../../spec.js';
import { Body } from './body.js';
import type { NetDoor } from './door.js';
import { parseHead, type Head } from '../../protocol/head.js';
import { frameRequest, type Framing } from '../../protocol/framing.js';
import { NetSink } from './sink.js';
import { looksLikeUwsgi } from '../../protocol/uwsgi.js';
import { readInto } from './reads.js';
import { bodyBytesAllocated } from '../../server/young-gc.js';

/** The request at the start of `buf` (after any empty lines) is a HEAD. */
function isHead(buf: Buffer): boolean {
  let i = 0;
  while (i < buf.length && (buf[i] === 13 || buf[i] === 10)) i++;
  return buf.toString('latin1', i, i + 5) === 'HEAD ';
}

type Wait = 'idle' | 'head' | 'request' | 'discard' | 'drain' | 'closing';

/** How long a draining connection between requests waits for one more request (at most the keep-alive timeout). */
export const DRAIN_IDLE_MS = 2000;
/** A closing connection reads and drops what still arrives this long, then is destroyed. */
const LINGER_MS = 2000;
/**
 * The most unread request body that is read and dropped after a response that announced keep-alive
 * (a 401 or 413 to an upload). A larger or chunked remainder makes the response say Connection: close
 * instead: reading an unknown amount to keep one connection is not worth it, and closing after a head
 * that said keep-alive would lose the client's next request.
 */
export const DISCARD_MAX = 1024 * 1024;

// The socket's listeners are shared functions that find their Connection on the socket, not closures
// made per connection: with `Connection: close` every request is a connection, and each closure is
// garbage the next collection walks.
const CONN = Symbol('tsgi.net.connection');
type OwnedSocket = Socket & { [CONN]: Connection };
// Reads go into one buffer all connections share (reads.ts), except while a request body is being
// read: the body's pieces are handed to wsgi.input as they are, so those reads go into buffers of the
// connection's own. A view of SHARED is valid only until the next read of any connection: whatever is
// kept beyond the read that brought it (a head not yet complete, a pipelined request, body bytes that
// came with the head) is copied out first (Connection.onRead, openBody).
//
// A body fills its buffers in order: each read goes into the rest of the current 64 KiB buffer, after
// the bytes before it (and the body bytes that came with the head are copied to the start of the
// first), so buffer k holds bytes [64 KiB × k, 64 KiB × (k + 1)) of the body. The pieces of one buffer
// join without a copy (Pieces), and an application's read(65536) is handed one whole buffer: the
// body is copied once, by the kernel. Reading each into a buffer of its own, a read(65536) joined two
// pieces, a copy of every byte (valgrind: memcpy was 57% of a 1 MiB upload's instructions).
const READ_SIZE = 64 * 1024;
const SHARED = Buffer.allocUnsafeSlow(READ_SIZE);
const isShared = (b: Buffer): boolean => b.buffer === SHARED.buffer;
/** The connection whose read was just delivered (Connection.nextSocketBuffer). */
let lastReader: Connection | null = null;

/** A reset: 'close' follows and says what matters. */
function ignore(): void {}
function destroyAfterFinish(this: Socket): void {
  this.destroy();
}

export class Connection {
  private static onSocketData(this: OwnedSocket, chunk: Buffer): void {
    this[CONN].onData(chunk, false);
  }
  private static onSocketRead(this: Socket, n: number, buf: Buffer): void {
    const c = (this as OwnedSocket)[CONN];
    lastReader = c;
    c.onRead(n, buf);
  }
  // Node calls this right after onSocketRead, for the same socket, without `this`.
  private static nextSocketBuffer(): Buffer {
    const c = lastReader;
    lastReader = null;
    return c === null ? SHARED : c.nextBuffer();
  }
  private static onSocketEnd(this: OwnedSocket): void {
    this[CONN].onEnd();
  }
  private static onSocketClose(this: OwnedSocket): void {
    this[CONN].onClose();
  }

  /** Received bytes not yet parsed (the start of the next request). */
  private buf: Buffer | null = null;
  /** A request is between its head and the end of its response. */
  private busy = false;
  private body: Body | null = null;
  private sink: NetSink | null = null;
  /** When the current wait times out (Date.now() ms), and what the wait is. */
  private deadline = Infinity;
  private waiting: Wait | null = null;
  /** The response went out announcing keep-alive before the body was read: the rest is read and dropped. */
  private discarding = false;
  /** The response is still leaving (more than the socket's high-water mark unsent): no next request yet. */
  private flushing = false;
  /** Bytes the socket had handed to the kernel at the last sweep, and when that last changed. */
  private sentMark = 0;
  private sentAt: number;
  private goneListeners: Array<() => void> | null = null;
  /** The client closed its side (FIN). */
  private clientEnded = false;
  /** The current request itself asked for the connection to end (Connection: close, or HTTP/1.0 without keep-alive). */
  private clientCloses = false;
  /** The connection is closing: nothing more is read or run. */
  private closing = false;
  /** The client has gone (closed, reset) or the connection was cut: nothing more can be written. */
  gone = false;
  keepAlive = true;
  versionMinor = 1;

  /** The buffer the body is being read into, and how much of it is filled (see READ_SIZE). */
  private bodyBuf: Buffer | null = null;
  private bodyFill = 0;

  /** `ownReads`: the socket is a plain one the door's server accepted, whose reads may go into SHARED (reads.ts). */
  constructor(
    readonly door: NetDoor,
    readonly socket: Socket,
    ownReads = false,
  ) {
    this.sentAt = door.now;
    (socket as OwnedSocket)[CONN] = this;
    if (!ownReads || !readInto(socket, SHARED, Connection.onSocketRead, Connection.nextSocketBuffer)) socket.on('data', Connection.onSocketData);
    socket.on('end', Connection.onSocketEnd);
    socket.on('error', ignore);
    socket.on('close', Connection.onSocketClose);
    // The headers timeout runs from the connection's start: one that never sends a byte gets a 408
    // then, not the keep-alive timeout's minute.
    this.arm('head');
  }
  private served = false;

  // The connection's two ends as the environ reads them (Endpoints, src/protocol/environ.ts), asked of
  // the socket once per connection: each of the socket's getters goes through node's address lookup,
  // and a keep-alive connection would pay it on every request.
  private peer?: { remoteAddress: string | undefined; remotePort: number | undefined };
  private peerOnce(): { remoteAddress: string | undefined; remotePort: number | undefined } {
    return (this.peer ??= { remoteAddress: this.socket.remoteAddress, remotePort: this.socket.remotePort });
  }
  get remoteAddress(): string | undefined {
    return this.peerOnce().remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.peerOnce().remotePort;
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  get idle(): boolean {
    return !this.busy;
  }

  /** The body left unread can be dropped after the response (a known remainder of at most DISCARD_MAX). */
  get unreadBodyDroppable(): boolean {
    const b = this.body;
    if (b === null || b.complete) return true;
    const left = b.remaining;
    return left !== undefined && left <= DISCARD_MAX;
  }

  // ------------------------------------------------------------------ input

  /** `n` bytes were read into `buf` (SHARED, or a buffer nextBuffer() lent this connection). */
  private onRead(n: number, buf: Buffer): void {
    if (buf === SHARED) {
      this.onData(buf.subarray(0, n), true);
      // Nothing may keep a view of SHARED past this read.
      if (this.buf !== null && isShared(this.buf)) this.buf = Buffer.from(this.buf);
      return;
    }
    // A body read, into the rest of the body buffer (nextBuffer): `buf` starts where the last read ended.
    this.bodyFill += n;
    this.onData(buf.subarray(0, n), false);
  }

  /** The buffer of the next read: the rest of the body buffer while a request body is being read. */
  private nextBuffer(): Buffer {
    const body = this.body;
    if (body === null || body.complete || this.closing) {
      this.bodyBuf = null;
      return SHARED;
    }
    return this.bodyRoom();
  }

  /** The unfilled rest of the body buffer; a new one when it is full. */
  private bodyRoom(): Buffer {
    let b = this.bodyBuf;
    if (b === null || this.bodyFill === b.length) {
      b = this.bodyBuf = Buffer.allocUnsafeSlow(READ_SIZE);
      this.bodyFill = 0;
      bodyBytesAllocated(READ_SIZE);
    }
    return this.bodyFill === 0 ? b : b.subarray(this.bodyFill);
  }

  /**
   * Feeds body bytes that are in SHARED (or kept from the head's read) as copies in the body buffer,
   * after the bytes before them; answers how many the body took.
   */
  private feedCopy(body: Body, bytes: Buffer): number {
    let took = 0;
    while (took < bytes.length) {
      const room = this.bodyRoom();
      const k = bytes.copy(room, 0, took);
      this.bodyFill += k;
      const fed = body.feed(room.subarray(0, k));
      took += fed;
      if (fed < k) break;
    }
    return took;
  }

  /** `shared`: `chunk` is a view of SHARED (copied before anything keeps it). */
  private onData(chunk: Buffer, shared: boolean): void {
    if (this.closing) return;
    const body = this.body;
    if (body !== null && !body.complete) {
      const took = shared ? this.feedCopy(body, chunk) : body.feed(chunk);
      if (body.complete && (this.waiting === 'request' || this.waiting === 'discard')) this.disarm();
      if (took === chunk.length) {
        if (this.discarding && (body.complete || body.failed)) this.discarded();
        return;
      }
      chunk = chunk.subarray(took);
    }
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.discarding) return this.discarded();
    if (!this.busy && !this.flushing) this.next();
    else if (this.buf.length > this.door.limits.maxHeaderSize + 65536) this.socket.pause();
  }

  /** Parses and runs the next request in the buffer, if its head is complete. */
  private next(): void {
    const buf = this.buf;
    if (buf === null || buf.length === 0) {
      this.buf = null;
      if (this.clientEnded) return this.close();
      // Draining: the client may have sent its next request already; it gets a moment to arrive.
      this.arm(this.door.draining ? 'drain' : 'idle');
      return;
    }
    let head: Head | null;
    try {
      head = parseHead(buf, 0, this.door.limits);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      if (!this.served && looksLikeUwsgi(buf)) {
        this.door.log.warn(
          `this looks like uwsgi on an HTTP port (from ${this.socket.remoteAddress ?? '?'}): bind it with --bind uwsgi://HOST:PORT, or use proxy_pass`,
        );
      }
      // A refusal parseHead() makes at the end of a HEAD request's head (its version, 414, the field
      // count) is answered without content, as the node engine answers it through ServerResponse.
      return this.refuse(err.status, err.message, isHead(buf));
    }
    if (head === null) {
      if (this.clientEnded) return this.close();
      if (this.waiting !== 'head') this.arm('head');
      if (this.socket.isPaused()) this.socket.resume();
      return;
    }
    this.buf = head.end === buf.length ? null : buf.subarray(head.end);
    this.start(head);
  }

  private start(head: Head): void {
    const door = this.door;
    this.served = true;
    this.versionMinor = head.versionMinor;
    // Every rule about what the head means (target form, Host, framing, keep-alive, Expect) is in
    // frameRequest(), which the node engine applies to llhttp's parse too.
    const framing = frameRequest({ method: head.method, target: head.url, versionMinor: head.versionMinor, rawHeaders: head.rawHeaders });
    if (framing instanceof ClientError) return this.refuse(framing.status, framing.message, head.method === 'HEAD');
    let environ: Environ;
    try {
      environ = requestEnviron(head, this, door.base);
    } catch (err) {
      if (err instanceof ClientError) return this.refuse(err.status, err.message);
      throw err;
    }
    this.clientCloses = !framing.keepAlive;
    this.keepAlive = framing.keepAlive && !door.draining && !door.isOneShot(this.socket);
    this.busy = true;
    const sink = new NetSink(this);
    this.sink = sink;
    this.body = null;
    if (framing.body === 'chunked' || framing.length > 0) this.openBody(framing, sink, environ);
    else this.disarm();
    door.inFlight++;
    const done = runApp(door.app, environ, sink, door.runOptions);
    if (done === undefined) this.finished();
    else if (door.opts.responseTimeout > 0) this.watchResponse(done, sink, head.method, environ);
    else done.then(() => this.finished());
  }

  /** The request has a body: its reader becomes wsgi.input, fed what already arrived. */
  private openBody(framing: Framing, sink: NetSink, environ: Environ): void {
    const chunked = framing.body === 'chunked';
    const body = new Body(
      this.socket,
      framing.length,
      chunked,
      framing.expectContinue,
      this.door.opts.bodyTimeout,
      () => sink.headSent,
      () => (this.keepAlive = false),
    );
    this.body = body;
    environ['wsgi.input'] = new Input(body, framing.length);
    if (this.buf !== null) {
      // Body bytes that came in the head's read: the queue keeps them, so copied to the start of a new
      // body buffer (also when kept from SHARED already, or after a pipelined body before it: the
      // body's buffers then line up from byte 0).
      this.bodyBuf = null;
      const took = this.feedCopy(body, this.buf);
      this.buf = took === this.buf.length ? null : this.buf.subarray(took);
    }
    if (!body.complete) this.arm('request');
    else this.disarm();
  }

  /**
   * F5 (reliability.md): an application that never answers gets its client a 503, not a hang; a
   * response that has started (a stream) is never cut by this. Once answered, the request no longer
   * holds up a graceful stop (door.idle()), as in the node engine; the connection closes and nothing
   * more runs on it.
   */
  private watchResponse(done: Promise<void>, sink: NetSink, method: string, environ: Environ): void {
    const door = this.door;
    let pending = true;
    const timer = setTimeout(() => {
      if (!sink.timeOut()) return;
      door.log.error(`${method} ${String(environ.PATH_INFO)}: no response within ${door.opts.responseTimeout} ms; answered 503`);
      this.keepAlive = false;
      pending = false;
      door.finished();
      this.close();
    }, door.opts.responseTimeout);
    done.then(() => {
      clearTimeout(timer);
      if (pending) this.finished();
    });
  }

  // ------------------------------------------------------------------ output

  /** The sink wrote the end of the response. */
  responseEnded(): void {
    const gone = this.goneListeners;
    if (gone !== null) {
      this.goneListeners = null;
      for (const l of gone) l();
    }
  }

  /** The application is done with the request (its close() ran): on to the next one, or close. */
  private finished(): void {
    this.door.finished();
    this.busy = false;
    this.sink = null;
    const body = this.body;
    if (body !== null && !body.complete && !body.failed && this.keepAlive && !this.gone) {
      // The response announced keep-alive with part of the body unread: the sink allowed that only for
      // a known remainder of at most DISCARD_MAX bytes (sink.head). Read and drop it, then go on: the
      // client's next request follows it on the wire.
      body.close();
      this.discarding = true;
      this.arm('discard');
      if (this.socket.isPaused()) this.socket.resume();
      return;
    }
    this.body = null;
    const whole = body === null || body.complete;
    if (!whole) this.keepAlive = false;
    this.afterResponse(whole);
  }

  /** The unread rest of a body has been read and dropped (or broke): on as after any response. */
  private discarded(): void {
    const body = this.body;
    this.discarding = false;
    this.body = null;
    const whole = body === null || body.complete;
    if (!whole) this.keepAlive = false;
    this.disarm();
    this.afterResponse(whole);
  }

  /**
   * After a response: close, or wait for the next request. Strict about both ends: the next request is
   * not parsed while this response is still leaving (a client that pipelines without reading would
   * otherwise make the server hold every response in memory), and while draining, a connection whose
   * response announced keep-alive is not closed at once: its client may already have sent the next
   * request, which is answered (with Connection: close) instead of reset.
   */
  private afterResponse(whole: boolean): void {
    if (this.gone) return;
    if (!this.keepAlive) return whole && this.clientCloses && this.buf === null ? this.closeAfterResponse() : this.close();
    if (this.socket.writableNeedDrain) {
      this.flushing = true;
      this.arm('idle');
      this.socket.once('drain', this.flushed);
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  }

  private readonly flushed = (): void => {
    this.flushing = false;
    if (this.gone || this.closing) return;
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  };

  /**
   * The door drains (a graceful stop): a connection between requests gets a moment to send one more
   * (answered with Connection: close), then a lingering close. A request in progress decides for
   * itself: a head not sent yet says Connection: close (sink.head), one already sent is followed by the
   * same moment (afterResponse, next).
   */
  drain(): void {
    if (this.closing || this.busy || this.discarding || this.flushing) return;
    // Between requests, or never used: a moment to send one more. A head half received keeps its timer.
    if (this.buf === null) this.arm('drain');
  }

  /** A request refused before the application saw it: the error answer, then close. */
  private refuse(status: number, why: string, bodyless = false): void {
    this.door.log.info(`${status} for ${this.socket.remoteAddress ?? '?'}: ${why}`);
    this.closing = true;
    this.disarm();
    if (!this.socket.destroyed) this.socket.end(rawError(status, bodyless), 'latin1');
    this.destroySoon();
  }

  /** Ends the connection after what was written (FIN), and makes sure it goes away. */
  close(): void {
    this.closing = true;
    this.disarm();
    // Once only: a second end() (the client's FIN after ours) makes node build an
    // ERR_STREAM_ALREADY_FINISHED error with its stack, a cost on every Connection: close request.
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.end();
    // Lingering close: keep reading (onData discards while closing) so that a client still sending a
    // body we did not want gets our answer and a FIN, not a reset that can lose the answer with it.
    if (this.socket.isPaused()) this.socket.resume();
    this.destroySoon();
  }

  /**
   * The client asked for the close and everything it sent has been read: FIN after the response, and
   * the socket destroyed once the response is out, as node:http (destroySoon) and uWSGI do. No lingering
   * read: nothing more is coming (a client that sends after its own `Connection: close` breaks RFC 9112
   * §9.6 and may see a reset), and waiting for its FIN cost a read, an 'end' and its bookkeeping on
   * every connection, which with `Connection: close` is every request. Any other close lingers (close()).
   */
  private closeAfterResponse(): void {
    this.closing = true;
    this.disarm();
    const s = this.socket;
    if (s.destroyed) return;
    if (!s.writableEnded) s.end();
    if (s.writableFinished) s.destroy();
    else s.once('finish', destroyAfterFinish);
    // The backstop for a client that stops reading the response (the send timeout cuts it too).
    this.destroySoon();
  }

  private destroySoon(): void {
    // A client that never reads cannot hold the socket open: the door's sweep destroys it LINGER_MS
    // after the last byte of the response left (and the send timeout cuts a client that stops reading).
    this.deadline = this.door.now + this.door.slack + LINGER_MS;
    this.waiting = 'closing';
  }

  onGone(listener: () => void): void {
    (this.goneListeners ??= []).push(listener);
  }

  private onEnd(): void {
    this.clientEnded = true;
    // A response still leaving, or an unread body being dropped: next() sees clientEnded when they end.
    if (this.flushing || this.discarding) return;
    if (!this.busy) {
      // A request sent and then half-closed (`nc -q`): answer what is complete, then close.
      if (this.buf === null) this.close();
      else this.next();
      return;
    }
    // A FIN once the response has started means the client has gone (browsers never half-close):
    // cut now, so a stream learns it at once. Before that, the client may be waiting for its answer.
    if (this.sink?.headSent) {
      this.socket.destroy();
      return;
    }
    this.body?.fail(new ClientError(400, 'the client closed the connection before the end of the body'));
    this.keepAlive = false;
  }

  private onClose(): void {
    this.gone = true;
    this.closing = true;
    this.disarm();
    this.body?.fail(new ClientError(400, 'the client closed the connection before the end of the body'));
    this.door.forget(this);
    const gone = this.goneListeners;
    if (gone !== null) {
      this.goneListeners = null;
      for (const l of gone) l();
    }
  }

  // ------------------------------------------------------------------ timers

  // One sweep per door checks every connection's deadline (door.ts) instead of a timer per
  // connection and state: the timeouts are coarse (seconds) and a timer per request is a cost
  // paid on every request.
  private arm(what: Exclude<Wait, 'closing'>): void {
    const ms = this.timeoutOf(what);
    this.waiting = what;
    this.deadline = ms > 0 ? this.door.now + this.door.slack + ms : Infinity;
  }

  /** The event loop was held for `ms` (the door's sweep ran that late): that time is not the client's. */
  postpone(ms: number): void {
    if (this.deadline !== Infinity) this.deadline += ms;
    this.sentAt += ms;
  }

  private timeoutOf(what: Wait): number {
    const o = this.door.opts;
    switch (what) {
      case 'idle':
        return o.keepAliveTimeout;
      case 'head':
        return o.headersTimeout;
      case 'request':
        return o.requestTimeout;
      case 'discard':
        return o.bodyTimeout;
      case 'drain':
        return Math.min(o.keepAliveTimeout, DRAIN_IDLE_MS);
      case 'closing':
        return LINGER_MS;
    }
  }

  private disarm(): void {
    if (this.waiting === 'closing') return;
    this.waiting = null;
    this.deadline = Infinity;
  }

  /** Called by the door's sweep. */
  check(now: number): void {
    const s = this.socket;
    if (s.writableLength > 0) {
      // A response is leaving. The send timeout: the client must take some of it within sendTimeout.
      const sent = s.bytesWritten - s.writableLength;
      if (sent !== this.sentMark) {
        this.sentMark = sent;
        this.sentAt = now;
      } else if (this.door.opts.sendTimeout > 0 && now - this.sentAt > this.door.opts.sendTimeout) {
        this.door.log.info(`${s.remoteAddress ?? '?'} read nothing of the response for ${this.door.opts.sendTimeout} ms: disconnected (send timeout)`);
        s.destroy();
        return;
      }
      // Keep-alive, lingering and drain times count from the end of the response, not from when it
      // was handed to the socket (a 12 MiB array to a slow reader was cut at the keep-alive timeout).
      const w = this.waiting;
      if (w === 'idle' || w === 'closing' || w === 'drain') {
        const ms = this.timeoutOf(w);
        if (ms > 0) this.deadline = Math.max(this.deadline, now + ms);
      }
      return;
    }
    this.sentAt = now;
    if (now < this.deadline) return;
    const what = this.waiting;
    this.deadline = Infinity;
    this.waiting = null;
    if (what === 'closing') this.socket.destroy();
    else if (what !== null) this.expired(what);
  }

  private expired(what: Exclude<Wait, 'closing'>): void {
    if (what === 'idle') return void this.socket.destroy();
    // No further request within the drain moment: a lingering close (FIN, then what still arrives is
    // read and dropped until the client closes or LINGER_MS pass), so a request crossing our FIN meets
    // a clean end of stream, not a reset.
    if (what === 'drain') return this.close();
    if (what === 'discard') {
      this.door.log.info(`${this.socket.remoteAddress ?? '?'}: the unread request body did not arrive within ${this.door.opts.bodyTimeout} ms; closing`);
      this.keepAlive = false;
      this.discarding = false;
      this.body = null;
      return this.close();
    }
    if (what === 'head') return this.refuse(408, `request head not complete within ${this.door.opts.headersTimeout} ms`);
    // The whole request (its body) did not arrive within requestTimeout.
    this.door.log.info(`408 for ${this.socket.remoteAddress ?? '?'}: request not complete within ${this.door.opts.requestTimeout} ms`);
    this.keepAlive = false;
    this.body?.fail(new ClientError(408, `request not complete within ${this.door.opts.requestTimeout} ms`));
  }
}
