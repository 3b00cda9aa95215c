// The request body between a transport and wsgi.input, the same for every door (HTTP on node:net and
// on node:http, uwsgi, FastCGI). The transport feeds what it receives (feed), says when the body is
// over (end) or broken (fail); wsgi.input pulls the body piece by piece (pull). In between, one
// backpressure rule and one bound on memory:
//
//   The queue is charged its bytes plus PIECE_OVERHEAD (128) per piece it holds, and small pieces are
//   copied together (pieces.ts), so a body of one-byte pieces is charged what it really costs. Above
//   HIGH_WATER (256 KiB) charged, the transport is paused; it is resumed once the application has
//   read it down below LOW_WATER (64 KiB), or as soon as a read has to wait.
//
// Bound, per request: a paused transport can still deliver what it had already read, one socket read
// (at most 64 KiB on Node; 64 KiB of FastCGI record for the FastCGI door), so the queue is never charged
// more than HIGH_WATER + 64 KiB + 64 x PIECE_OVERHEAD (a read holds at most 64 pieces of 1 KiB that are
// not copied) ~ 328 KiB; the bytes it really keeps alive are at most 4 times what the views among them
// are charged (pieces.ts), plus one 16 KiB slab. A client sending one-byte chunks therefore costs a
// connection ~0.35 MB however it cuts its body (measured: 308-368 KiB on each door), where it used
// to cost 30 MB (300,000 one-byte chunks, net engine and uwsgi door; 4 MB on node:http).
//
// The body's framing is the queue's, so a door need not know it: a Content-Length (bytes past it are
// not taken), chunked (decoded here: the net engine and the uwsgi router send it raw), or framed by
// the transport (node:http decodes its own; FastCGI's STDIN ends with an empty record).
//
// The pure layer: no Node import. The transport is reached through the Flow callbacks.
import { ClientError } from '../errors.js';
import { ChunkedDecoder } from './chunked.js';
import { Pieces } from './pieces.js';

/** What `wsgi.input` reads from: the decoded body, piece by piece. */
export interface ByteSource {
  /** The next piece of the body, or null at its end. Rejects when the body breaks or times out. */
  pull(): Promise<Uint8Array | null>;
  /**
   * The next piece when it is already here, without a promise: null at the end, undefined when a read
   * would have to wait (or the body broke: pull() says how). What a source without it does: pull().
   */
  pullNow?(): Uint8Array | null | undefined;
  /**
   * With pullNow: calls `wake` once pullNow has an answer again, after it returned undefined (a wait
   * without a promise per piece). Without it, a reader waits with pull().
   */
  waitNow?(wake: () => void): void;
  /**
   * The pieces are given, not lent: whoever fed them keeps no reference to their bytes, so Input may
   * join pieces in place over bytes it has copied out of them (pieces.ts).
   */
  readonly given?: boolean;
}

/** The transport's reading side, as the queue drives it. */
export interface Flow {
  pause(): void;
  resume(): void;
}

export const HIGH_WATER = 256 * 1024;
export const LOW_WATER = 64 * 1024;

export type Framing =
  /** Exactly `length` bytes follow. */
  | { kind: 'length'; length: number }
  /** The chunked transfer coding: decoded here, ends with its last chunk. */
  | { kind: 'chunked' }
  /** The transport frames the body (decoded bytes come in, end() says it is over); `length` when declared. */
  | { kind: 'transport'; length?: number | undefined };

export interface BodyOptions {
  framing: Framing;
  /** A pull that waits longer than this for data fails the body with a 408 (0: no limit). */
  timeoutMs: number;
  /** Called once, at the first pull: where a door sends `100 Continue` (PEP 3333 R59). */
  onFirstPull?: ((body: BodyQueue) => void) | undefined;
  /** Called once when the body breaks (fail): the connection cannot carry another request. */
  onBroken?: ((err: ClientError) => void) | undefined;
  highWater?: number;
  lowWater?: number;
  /** The door keeps no reference to the bytes it feeds (its socket reads): see ByteSource.given. */
  given?: boolean;
}

/**
 * The read waiting for the body: a pull(), handed the next piece, or a reader that waits with
 * waitNow() and is only woken (`wakes`), to take what came with pullNow().
 */
type Waiter = { resolve: (b: Uint8Array | null) => void; reject: (e: Error) => void; wakes: boolean };

export class BodyQueue implements ByteSource {
  private readonly pieces: Pieces;
  private readonly decoder: ChunkedDecoder | null;
  private readonly length: number | undefined;
  /** Bytes of the body taken so far (decoded). */
  private received = 0;
  private error: ClientError | null = null;
  /** The application is done with the body: what comes is dropped and reads see its end. */
  private closed = false;
  private waiter: Waiter | null = null;
  /** When the pending pull began to wait (Date.now()), for the body timeout. */
  private waitingSince = 0;
  /**
   * One timer for the body timeout, not one per pull: a body of one-byte pieces is as many pulls, and
   * a timer set and cleared per pull cost more than the rest of the read (measured: 300,000 of them).
   * It fires at the earliest moment the pending pull could time out, and re-arms itself if that pull
   * was answered meanwhile and another is waiting.
   */
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Reads made while another waits (Input never does this), run in order once it is answered. */
  private later: Array<() => void> | null = null;
  private paused = false;
  private pulled = false;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly emit = (data: Uint8Array): void => this.accept(data);
  /** All of the body has arrived (some of it may still be queued). */
  complete = false;
  readonly given: boolean;

  constructor(
    private readonly flow: Flow,
    private readonly o: BodyOptions,
  ) {
    const f = o.framing;
    this.decoder = f.kind === 'chunked' ? new ChunkedDecoder() : null;
    this.length = f.kind === 'chunked' ? undefined : f.length;
    this.highWater = o.highWater ?? HIGH_WATER;
    this.lowWater = o.lowWater ?? LOW_WATER;
    this.given = o.given === true;
    // Lent to no one else either way; views of a giving door's buffers are kept (see Pieces).
    this.pieces = new Pieces(false, this.given);
    if (f.kind === 'length' && f.length === 0) this.complete = true;
  }

  /** The body has broken (or was cut short): false while it may still arrive. */
  get failed(): boolean {
    return this.error !== null;
  }

  /** Bytes of the body received so far. */
  get bytesReceived(): number {
    return this.received;
  }

  /** Bytes of the body still to come, when its length is known (undefined for a chunked body). */
  get remaining(): number | undefined {
    return this.length === undefined ? undefined : this.length - this.received;
  }

  /** What the queue is charged now (see the header). */
  get queuedCost(): number {
    return this.pieces.cost;
  }

  /**
   * Takes what belongs to the body from `buf` (the transport's bytes, still chunked if the body is)
   * and returns how many bytes it took: what follows the body is not taken. A malformed chunked body
   * fails the body and takes everything.
   */
  feed(buf: Uint8Array): number {
    if (this.complete || this.error !== null) return 0;
    const d = this.decoder;
    if (d === null) {
      // Never more than the declared length: past it, bytes are not part of this body.
      const take = this.length === undefined ? buf.length : Math.min(buf.length, this.length - this.received);
      if (take > 0) this.accept(take === buf.length ? buf : buf.subarray(0, take));
      if (this.o.framing.kind === 'length' && this.received === this.length) this.finish();
      return take;
    }
    let end: number;
    try {
      end = d.push(buf, this.emit);
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      this.fail(err);
      return buf.length;
    }
    if (end === -1) return buf.length;
    this.finish();
    return end;
  }

  /**
   * The transport says the body is over (node:http's 'end', FastCGI's empty STDIN). A body short of
   * its declared length, or a chunked body without its last chunk, is broken.
   */
  end(): void {
    if (this.complete || this.error !== null) return;
    if (this.length !== undefined && this.received < this.length) {
      return this.fail(incomplete(`the request body ended after ${this.received} of ${this.length} bytes`));
    }
    if (this.decoder !== null) return this.fail(incomplete('the request body ended before its last chunk'));
    this.finish();
  }

  /** The body is broken: the client left, the request timed out, the bytes are malformed. */
  fail(err: ClientError): void {
    if (this.complete || this.error !== null || this.closed) return;
    this.error = err;
    this.o.onBroken?.(err);
    this.stopTimer();
    // A read waits only when nothing is queued.
    if (this.waiter !== null) this.answer().reject(err);
  }

  /** The application is done with the body: drop what is queued; reads see the end from now on (or the error it failed with). */
  close(): void {
    this.closed = true;
    this.pieces.clear();
    this.resumeFlow();
    this.stopTimer();
    if (this.waiter !== null) this.answer().resolve(null);
  }

  pullNow(): Uint8Array | null | undefined {
    if (!this.pulled) {
      this.pulled = true;
      this.o.onFirstPull?.(this);
    }
    // A pull is waiting (two reads at once): this one would come after it.
    if (this.waiter !== null) return undefined;
    const p = this.pieces.shift();
    if (p !== null) {
      if (this.paused && this.pieces.cost < this.lowWater) this.resumeFlow();
      return p;
    }
    if (this.error !== null) return undefined;
    if (this.closed || this.complete) return null;
    return undefined;
  }

  pull(): Promise<Uint8Array | null> {
    if (this.waiter !== null) {
      // Two pulls at once: the second runs once the first is answered, so each gets its own piece, in order.
      return new Promise((resolve, reject) => (this.later ??= []).push(() => this.pull().then(resolve, reject)));
    }
    const now = this.pullNow();
    if (now !== undefined) return Promise.resolve(now);
    if (this.error !== null) return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.wait({ resolve, reject, wakes: false }));
  }

  /**
   * Calls `wake` once the next pullNow() has an answer (a piece, the end, or undefined again for a body
   * that broke: pull() then rejects with why): a wait without a promise, for Input, which answers its
   * own read's promise then. Call it only after pullNow() returned undefined.
   */
  waitNow(wake: () => void): void {
    if (this.waiter !== null) {
      (this.later ??= []).push(() => this.waitNow(wake));
      return;
    }
    if (this.error !== null || this.closed || this.complete || this.pieces.size > 0) return wake();
    this.wait({ resolve: wake, reject: wake, wakes: true });
  }

  private wait(w: Waiter): void {
    // A read that has to wait resumes the transport, whatever is charged.
    this.resumeFlow();
    this.waiter = w;
    const ms = this.o.timeoutMs;
    if (ms > 0) {
      this.waitingSince = Date.now();
      if (this.timer === undefined) this.arm(ms);
    }
  }

  /** The waiting read, which is being answered; the reads made meanwhile then run. */
  private answer(): Waiter {
    const w = this.waiter!;
    this.waiter = null;
    const later = this.later;
    if (later !== null) {
      this.later = null;
      // After the answer (a microtask later), as a pull made then would run.
      queueMicrotask(() => {
        for (const run of later) run();
      });
    }
    return w;
  }

  /** One piece of the body's data (decoded): to the waiting read, or queued. */
  private accept(data: Uint8Array): void {
    if (data.length === 0) return;
    this.received += data.length;
    if (this.closed) return;
    const w = this.waiter;
    if (w !== null && !w.wakes) {
      this.answer().resolve(data);
      return;
    }
    this.pieces.push(data);
    // A woken reader takes the piece with pullNow() at once.
    if (w !== null) this.answer().resolve(null);
    // Paused again on every piece over the mark, not once: node:http may resume its socket itself.
    if (this.pieces.cost > this.highWater) {
      this.paused = true;
      this.flow.pause();
    }
  }

  private finish(): void {
    this.complete = true;
    // Nothing more of the body to hold back: what follows (the next request) is the transport's.
    this.resumeFlow();
    this.stopTimer();
    if (this.waiter !== null) this.answer().resolve(null);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.waiter === null) return;
    const ms = this.o.timeoutMs;
    const left = this.waitingSince + ms - Date.now();
    if (left <= 0) this.fail(timeout(ms));
    else this.arm(left);
  };

  private arm(ms: number): void {
    this.timer = setTimeout(this.onTimer, ms);
  }

  private stopTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private resumeFlow(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flow.resume();
  }
}

function incomplete(why: string): ClientError {
  return new ClientError(400, why, 'TSGI_ERR_BODY_INCOMPLETE');
}

function timeout(ms: number): ClientError {
  return new ClientError(408, `no request body data for ${ms} ms`, 'TSGI_ERR_BODY_TIMEOUT');
}
