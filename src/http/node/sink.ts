// The engine's Sink over node:http's ServerResponse. node:http frames the body: Content-Length when
// the engine declared one, chunked on HTTP/1.1 otherwise, close-delimited on HTTP/1.0; it drops the
// body of HEAD, 204 and 304 responses, and adds Date.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Sink } from '../../runner/handler.js';
import { drained } from '../../server/drain.js';
import type { HeaderList } from '../../spec.js';
import type { RequestSource } from './source.js';

/** What a response needs from its door (HttpDoor). */
export interface SinkDoor {
  /** A graceful stop is under way: a response whose head is still to go closes its connection. */
  readonly draining: boolean;
  /** Milliseconds a response may wait for the client to read any of it (0: no limit). */
  readonly sendTimeoutMs: number;
  /** Closes `socket` after the response without reading what the client still sends. */
  closeUnread(socket: Socket, source: RequestSource): void;
  /** The client read nothing of the response for sendTimeoutMs: cut it. */
  sendTimedOut(socket: Socket): void;
}

/** A response outside a door (toNodeListener: the host server owns the connection). */
const NO_DOOR: SinkDoor = { draining: false, sendTimeoutMs: 0, closeUnread: () => {}, sendTimedOut: () => {} };

export class ResponseSink implements Sink {
  constructor(
    private readonly res: ServerResponse,
    private readonly keepAlive: boolean,
    private readonly door: SinkDoor = NO_DOOR,
    private readonly body: RequestSource | null = null,
  ) {}

  /** Set once the door answered 503 in the application's place (its response timeout). */
  private timedOut = false;
  /** The send timeout's listener is on the response. */
  private watching = false;

  get closed(): boolean {
    const s = this.res.socket;
    return this.timedOut || s === null || s.destroyed;
  }

  /**
   * The application took too long to start its response: answer 503 in its place and close. Returns
   * false when its response has already started (a stream is never cut by this).
   */
  timeOut(): boolean {
    const res = this.res;
    if (this.timedOut || res.headersSent || res.writableEnded || this.closed) return false;
    this.timedOut = true;
    const body = 'Service Unavailable\n';
    res.shouldKeepAlive = false;
    res.writeHead(503, { 'Content-Type': 'text/plain', 'Content-Length': body.length, Connection: 'close' });
    res.end(body);
    return true;
  }

  head(code: number, status: string, headers: HeaderList, _length: number, _bodyless: boolean, close = false): void {
    if (this.timedOut) return;
    // Not keep-alive: node:http then adds `Connection: close` and closes after the response. So on a
    // graceful stop (decided now, not when the request came: the stop may have begun since), and when
    // the application left more of the body unread than is worth reading and dropping.
    if (!this.keepAlive || close || this.door.draining || (this.body !== null && this.body.restUnbounded())) this.res.shouldKeepAlive = false;
    // writeHead takes the [name, value] list as it is (no copy, one header block built once) and
    // sends it with the first body write, so a small response leaves in one packet.
    this.res.writeHead(code, status.slice(4), headers as unknown as string[]);
  }

  write(chunk: Uint8Array): boolean {
    if (this.timedOut) return true;
    const more = this.res.write(chunk);
    if (!more) this.stall();
    return more;
  }

  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return drained(this.res).then(() => this.moved());
  }

  onClose(listener: () => void): void {
    this.res.once('close', listener);
  }

  end(last?: Uint8Array): void {
    if (this.timedOut) return;
    const res = this.res;
    // The rest of the body is not read and dropped after this response: the connection closes
    // instead (also when the head went out keep-alive, before the application stopped reading).
    if (this.body !== null && res.socket !== null && this.body.restUnbounded()) this.door.closeUnread(res.socket, this.body);
    if (last !== undefined && last.length > 0) res.end(last);
    else res.end();
    // What the client has not read yet is under the send timeout too; once the response is out,
    // node:http's keep-alive timeout replaces it.
    if (!res.writableFinished && res.writableLength > 0) this.stall();
  }

  /**
   * The socket has more than it can take: from now the client has the send timeout to read some of
   * it. node:http's socket timeout measures exactly that (it restarts on every write the kernel
   * accepts, and on every read); it is off during a response (node:http clears its keep-alive
   * timeout when a request comes).
   */
  private stall(): void {
    const ms = this.door.sendTimeoutMs;
    const socket = this.res.socket;
    if (ms <= 0 || socket === null || socket.destroyed) return;
    if (!this.watching) {
      this.watching = true;
      // node:http emits the socket's timeout on the response in progress; a listener there keeps
      // node:http from destroying the socket itself.
      this.res.once('timeout', () => this.door.sendTimedOut(socket));
    }
    socket.setTimeout(ms);
  }

  /** The socket took everything queued: no stall to time any more. */
  private moved(): void {
    const socket = this.res.socket;
    if (this.watching && socket !== null && !socket.destroyed && !this.res.writableEnded) socket.setTimeout(0);
  }

  abort(): void {
    // Closing the connection leaves a chunked body without its last chunk and a sized body short:
    // either way the client can tell the response is incomplete. What was written goes out first
    // (node:http corks the socket within a tick; destroying at once would drop the partial body),
    // and a client that stopped reading cannot hold the socket open.
    const socket = this.res.socket;
    if (socket === null || socket.destroyed) return;
    socket.uncork();
    socket.end();
    setTimeout(() => socket.destroy(), 2000).unref();
  }
}
