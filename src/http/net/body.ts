// The request body of one request on the net engine, as the engine's ByteSource: the connection
// feeds it the bytes that follow the head (decoded from chunked when needed), the application pulls
// them through wsgi.input. A slow reader pauses the socket (backpressure to the client); a client
// that stalls longer than bodyTimeout, sends a broken chunked body or leaves mid-body makes the
// read reject with a ClientError (400/408), which the engine answers in place of a 500.
import type { Socket } from 'node:net';
import type { ByteSource } from '../../runner/input.js';
import { ClientError } from '../../runner/handler.js';
import { ChunkedDecoder } from '../../protocol/chunked.js';

/** Above this many queued bytes the socket is paused until the application reads. */
const HIGH_WATER = 256 * 1024;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

export class Body implements ByteSource {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private error: ClientError | null = null;
  private waiter: { resolve: (b: Uint8Array | null) => void; reject: (e: Error) => void; timer?: ReturnType<typeof setTimeout> } | null = null;
  private readonly chunked: ChunkedDecoder | null;
  /** Bytes still to come of a Content-Length body. */
  private remaining: number;
  /** All of the body has arrived (it may still be queued). */
  complete = false;
  /** The application asked for the body: a 100 Continue was sent if the client expected one. */
  private pulled = false;

  constructor(
    private readonly socket: Socket,
    length: number,
    chunked: boolean,
    private expectContinue: boolean,
    private readonly timeoutMs: number,
    /** True once the response head has gone out (then 100 Continue would be out of place). */
    private readonly responseStarted: () => boolean,
    /** The body is broken or cut: the connection cannot carry another request. */
    private readonly onBroken: () => void,
  ) {
    this.chunked = chunked ? new ChunkedDecoder() : null;
    this.remaining = chunked ? Infinity : length;
    if (!chunked && length === 0) this.complete = true;
  }

  /** Takes what belongs to the body from `buf`; returns how many bytes it took. */
  feed(buf: Buffer): number {
    if (this.complete || this.error) return 0;
    if (this.chunked === null) {
      const take = Math.min(this.remaining, buf.length);
      if (take > 0) this.push(take === buf.length ? buf : buf.subarray(0, take));
      this.remaining -= take;
      if (this.remaining === 0) this.finish();
      return take;
    }
    try {
      const end = this.chunked.push(buf, (data) => this.push(data));
      if (end === -1) return buf.length;
      this.finish();
      return end;
    } catch (err) {
      this.fail(err as ClientError);
      return buf.length;
    }
  }

  /** The client went away, or the request timed out, before the body was complete. */
  fail(err: ClientError): void {
    if (this.complete || this.error) return;
    this.error = err;
    this.onBroken();
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
  }

  private push(data: Buffer): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      if (w.timer) clearTimeout(w.timer);
      w.resolve(data);
      return;
    }
    this.queue.push(data);
    this.queued += data.length;
    if (this.queued > HIGH_WATER) this.socket.pause();
  }

  private finish(): void {
    this.complete = true;
    const w = this.waiter;
    if (w && this.queue.length === 0) {
      this.waiter = null;
      if (w.timer) clearTimeout(w.timer);
      w.resolve(null);
    }
  }

  pull(): Promise<Uint8Array | null> {
    if (!this.pulled) {
      this.pulled = true;
      // Expect: 100-continue: the client waits for this before it sends the body (PEP 3333 R59).
      if (this.expectContinue && !this.complete && !this.responseStarted() && this.socket.writable) this.socket.write(CONTINUE);
      this.expectContinue = false;
    }
    const next = this.queue.shift();
    if (next !== undefined) {
      this.queued -= next.length;
      if (this.queued <= HIGH_WATER && this.socket.isPaused()) this.socket.resume();
      return Promise.resolve(next);
    }
    if (this.error) return Promise.reject(this.error);
    if (this.complete) return Promise.resolve(null);
    if (this.socket.isPaused()) this.socket.resume();
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      if (this.timeoutMs > 0) {
        this.waiter.timer = setTimeout(() => this.fail(new ClientError(408, `no request body data for ${this.timeoutMs} ms`)), this.timeoutMs);
      }
    });
  }
}
