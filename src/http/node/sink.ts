// The engine's Sink over node:http's ServerResponse. node:http frames the body: Content-Length when
// the engine declared one, chunked on HTTP/1.1 otherwise, close-delimited on HTTP/1.0; it drops the
// body of HEAD, 204 and 304 responses, and adds Date.
import type { ServerResponse } from 'node:http';
import type { Sink } from '../../runner/handler.js';
import { drained } from '../../server/drain.js';
import type { HeaderList } from '../../spec.js';

export class ResponseSink implements Sink {
  constructor(
    private readonly res: ServerResponse,
    private readonly keepAlive: boolean,
  ) {}

  /** Set once the door answered 503 in the application's place (its response timeout). */
  private timedOut = false;

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
    // Not keep-alive: node:http then adds `Connection: close` and closes after the response.
    if (!this.keepAlive || close) this.res.shouldKeepAlive = false;
    // writeHead takes the [name, value] list as it is (no copy, one header block built once) and
    // sends it with the first body write, so a small response leaves in one packet.
    this.res.writeHead(code, status.slice(4), headers as unknown as string[]);
  }

  write(chunk: Uint8Array): boolean {
    if (this.timedOut) return true;
    return this.res.write(chunk);
  }

  drain(): Promise<void> {
    return this.closed ? Promise.resolve() : drained(this.res);
  }

  onClose(listener: () => void): void {
    this.res.once('close', listener);
  }

  end(last?: Uint8Array): void {
    if (this.timedOut) return;
    if (last !== undefined && last.length > 0) this.res.end(last);
    else this.res.end();
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
