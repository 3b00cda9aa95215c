// The engine's Sink over a Fetch Response. A response the engine completes at once (an array body,
// an error) becomes `new Response(bytes)`, one piece with its Content-Length; anything else gets a
// ReadableStream whose queue is the backpressure: `write()` says "wait" once 64 KiB are queued, and
// `drain()` resolves when the consumer pulls. The consumer cancelling the stream, or the client's
// AbortSignal firing, is the client going away.
import type { Sink } from '../runner/handler.js';
import type { HeaderList } from '../spec.js';
import { disconnectReason } from './signal.js';

/** Bytes queued in the response stream before the engine is asked to wait. */
const HIGH_WATER_MARK = 64 * 1024;
const byteSize = (chunk: Uint8Array) => chunk.byteLength;

export class FetchSink implements Sink {
  private code = 200;
  private reason = '';
  private headerList: HeaderList | null = null;
  private bodyless = false;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private response: Response | null = null;
  private waiter: ((r: Response) => void) | null = null;
  private failed: ((e: unknown) => void) | null = null;
  private ended = false;
  private cancelled = false;
  private drainWaiters: Array<() => void> = [];
  private closeListeners: Array<() => void> | null = null;
  private signal: AbortSignal | null | undefined = undefined;
  private watching = false;

  /**
   * `clientSignal` returns the client's disconnect signal (read lazily: some runtimes build it on
   * first access). It counts only while the response is in progress.
   */
  constructor(private readonly clientSignal?: () => AbortSignal | null | undefined) {}

  // --- what the door hands back ---------------------------------------------------------------

  /**
   * The Response, once the status and headers are known. `done` is what the engine's runApp
   * returned: when the response completed synchronously the Response is already here.
   */
  ready(done: void | Promise<void>): Promise<Response> {
    if (this.response !== null) return Promise.resolve(this.response);
    const p = new Promise<Response>((resolve, reject) => {
      this.waiter = resolve;
      this.failed = reject;
    });
    // Headers given (the first write() of a legacy app) but no body yet: answer with a stream now.
    if (this.headerList !== null) this.openStream();
    if (done !== undefined) {
      done.then(() => {
        if (this.response !== null) return;
        // The client went away before the status was known: as fetch() does, reject with an AbortError.
        this.failed?.(this.cancelled || this.signal?.aborted ? disconnectReason() : new Error('tsgi: the engine finished without a response'));
      });
    }
    return p;
  }

  /** True once the client went away (the stream was cancelled or the client's signal fired). */
  get closed(): boolean {
    if (this.cancelled) return true;
    if (this.ended) return false;
    return this.getSignal()?.aborted === true;
  }

  // --- Sink -----------------------------------------------------------------------------------

  head(code: number, status: string, headers: HeaderList, _length: number, bodyless: boolean): void {
    this.code = code;
    this.reason = status.slice(4);
    this.headerList = headers;
    // 205 Reset Content carries no content either, and a Fetch Response refuses a body with it.
    this.bodyless = bodyless || code === 205;
    // Someone waits and no body came with the headers in this tick (a legacy app's first write()
    // sends the headers alone): give them a streaming Response after this tick's writes.
    if (this.waiter !== null) queueMicrotask(() => this.openStream());
  }

  write(chunk: Uint8Array): boolean {
    if (this.cancelled) return false;
    const c = this.openStream();
    if (c === null) return true;
    c.enqueue(chunk);
    return (c.desiredSize ?? 0) > 0;
  }

  drain(): Promise<void> {
    const c = this.controller;
    if (c === null || (c.desiredSize ?? 0) > 0 || this.closed) return Promise.resolve();
    this.watch();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  end(last?: Uint8Array): void {
    if (this.ended) return;
    this.ended = true;
    const c = this.controller;
    if (c !== null) {
      if (!this.cancelled) {
        if (last !== undefined && last.length > 0) c.enqueue(last);
        c.close();
      }
    } else {
      this.respond(this.bodyless || last === undefined || last.length === 0 ? null : last);
    }
    this.closeListeners = null;
  }

  abort(): void {
    if (this.ended) return;
    this.ended = true;
    // The reader of the body sees an error: the response was cut short, as a reset connection.
    const c = this.openStream();
    if (c !== null && !this.cancelled) c.error(new TypeError('tsgi: the response was cut short'));
    this.closeListeners = null;
  }

  onClose(listener: () => void): void {
    if (this.ended) return;
    if (this.closed) {
      listener();
      return;
    }
    this.watch();
    (this.closeListeners ??= []).push(listener);
  }

  // --- internals ------------------------------------------------------------------------------

  /** Listens to the client's signal, once. */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    this.getSignal()?.addEventListener('abort', () => this.disconnected(), { once: true });
  }

  private getSignal(): AbortSignal | null | undefined {
    if (this.signal === undefined) this.signal = this.clientSignal?.() ?? null;
    return this.signal;
  }

  /** The streaming Response, made once; null when the response is bodyless or already made whole. */
  private openStream(): ReadableStreamDefaultController<Uint8Array> | null {
    if (this.controller !== null) return this.controller;
    if (this.response !== null || this.headerList === null) return null;
    if (this.bodyless) {
      this.respond(null);
      return null;
    }
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => this.wake(),
        cancel: () => this.disconnected(),
      },
      { highWaterMark: HIGH_WATER_MARK, size: byteSize },
    );
    this.respond(stream);
    return this.controller;
  }

  private respond(body: ReadableStream<Uint8Array> | Uint8Array | null): void {
    if (this.response !== null) return;
    this.response = new Response(body, { status: this.code, statusText: this.reason, headers: this.headerList! });
    const w = this.waiter;
    this.waiter = this.failed = null;
    w?.(this.response);
  }

  private wake(): void {
    const ws = this.drainWaiters;
    if (ws.length === 0) return;
    this.drainWaiters = [];
    for (const w of ws) w();
  }

  /** The client went away while the response was in progress: wake the engine, tell the listeners. */
  private disconnected(): void {
    if (this.ended || this.cancelled) return;
    this.cancelled = true;
    this.wake();
    const ls = this.closeListeners;
    this.closeListeners = null;
    if (ls !== null) for (const l of ls) l();
  }
}
