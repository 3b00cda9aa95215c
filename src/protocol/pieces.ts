// A FIFO of byte pieces, as a request body arrives: what BodyQueue holds for a transport and Input
// holds for wsgi.input. Every operation is linear in the bytes it touches, whatever the number of
// pieces: the list is consumed by an index (no Array.shift(), which moves the whole array), and
// indexOf() resumes from where the previous search stopped.
//
// Small pieces are copied into a shared slab. A body sent one byte per TCP segment or as one-byte
// chunks arrives as hundreds of thousands of 1-byte Uint8Arrays, each costing ~100-130 bytes of
// object and ArrayBuffer besides its byte (measured: 262,144 of them held 34 MB): copied, a byte
// costs a byte. A piece that is a small view of a much larger buffer (a 1 KiB chunk inside a 64 KiB
// socket read) is copied as well, so that a piece never keeps alive more than 4 times its size.
// Other pieces are kept as they came (a socket read of a Content-Length body is never copied).
//
// Joining pieces (take(n) across a piece boundary) is the one copy PEP 3333 asks for: read(n) gives
// n contiguous bytes. A door whose socket reads are 64 KiB from the start of the request (the uwsgi
// door's 'data' reads) has the body's pieces sit a head's length off every read(65536) an application
// makes, and each read joins two pieces. When the pieces are given, not lent (`given`: the door that
// fed them keeps no reference, as the net engine and the uwsgi door), the join is made in place: the bytes of a piece that an earlier join
// copied out are dead, and the head piece moves back over them and takes in the bytes that follow it,
// so the result is a view of the piece's own buffer and no buffer is allocated (a 1 MiB upload read by
// read(65536): one allocation instead of sixteen, which the garbage collector also no longer frees).
// Only bytes of the piece's own range are ever written, and only bytes no one was handed.
//
// A piece that continues the last one held in the same buffer (the net engine reads a body into 64 KiB
// buffers, each read after the one before, so that a buffer holds 64 KiB of the body at 64 KiB
// offsets) becomes part of it: the bytes are already contiguous, so read(65536) is handed a whole
// buffer with no copy. Such a door's pieces (`keepViews`) are kept as views however small against
// their buffer: the buffer is filled with the same body's bytes, not held for a few of them.
import type { Bytes } from '../spec.js';
import { EMPTY, uninitialized } from './bytes.js';

/** Memory charged per piece held, beyond its bytes: a typed array, its ArrayBuffer, a list slot. */
export const PIECE_OVERHEAD = 128;
/** Pieces shorter than this are always copied. */
const COPY_BELOW = 1024;
/** The slab that small pieces are copied into; pieces above it are never copied. */
const SLAB = 16 * 1024;

export class Pieces {
  /**
   * @param given The pieces are handed over, not lent: bytes of them copied out may be overwritten.
   * @param keepViews The pieces are views of buffers the door fills in order with the body: a view of
   *   1 KiB or more is kept as it is, however large its buffer.
   */
  constructor(
    private readonly given = false,
    private readonly keepViews = given,
  ) {}

  private list: Bytes[] = [];
  /** The first piece still held: list[head]. */
  private head = 0;
  /** Bytes held. */
  size = 0;
  // Copied bytes not yet in `list`: slab[runFrom, runTo) is logically the last piece. Bytes before
  // runFrom may have been handed out (as views), so the slab is only ever written past runTo.
  private slab: Bytes | null = null;
  private runFrom = 0;
  private runTo = 0;
  // Where the last indexOf() stopped: list[cursor] starts `cursorBase` bytes into the held bytes.
  private cursor = 0;
  private cursorBase = 0;
  /**
   * Bytes just before list[head], in its buffer, that a join copied out of that very piece and handed
   * to no one: room for an in-place join (always 0 unless `given`).
   */
  private headDead = 0;

  /** Pieces held (the open run of copied bytes counts as one). */
  get count(): number {
    return this.list.length - this.head + (this.runTo > this.runFrom ? 1 : 0);
  }

  /** The memory these pieces are charged: their bytes plus PIECE_OVERHEAD each. */
  get cost(): number {
    return this.size + PIECE_OVERHEAD * this.count;
  }

  push(p: Uint8Array): void {
    const n = p.length;
    if (n === 0) return;
    this.size += n;
    const list = this.list;
    const last = list.length - 1;
    if (this.runTo === this.runFrom && last >= this.head) {
      const q = list[last]!;
      if (q.buffer === p.buffer && q.byteOffset + q.length === p.byteOffset) {
        // The bytes that follow the last piece in its buffer: one longer view. A search that had
        // gone past the last piece resumes at its start.
        if (this.cursor > last) {
          this.cursor = last;
          this.cursorBase -= q.length;
        }
        list[last] = new Uint8Array(q.buffer, q.byteOffset, q.length + n);
        return;
      }
    }
    if (n >= COPY_BELOW && (n > SLAB || this.keepViews || 4 * n >= p.buffer.byteLength)) {
      this.seal();
      this.list.push(onArrayBuffer(p) ? p : new Uint8Array(p));
      return;
    }
    let slab = this.slab;
    if (slab === null || this.runTo + n > slab.length) {
      this.seal();
      slab = this.slab = new Uint8Array(SLAB);
      this.runFrom = this.runTo = 0;
    }
    if (n === 1) slab[this.runTo] = p[0]!;
    else slab.set(p, this.runTo);
    this.runTo += n;
  }

  /** The first piece, whole (null when empty). */
  shift(): Bytes | null {
    if (this.head === this.list.length) this.seal();
    if (this.head === this.list.length) return null;
    const p = this.list[this.head]!;
    this.list[this.head++] = EMPTY;
    this.headDead = 0;
    this.size -= p.length;
    this.consumed();
    return p;
  }

  /**
   * The first `n` bytes (n <= size). A piece of exactly `n` bytes is handed over as it is, a longer
   * one as a view (the rest stays held as a view after it); only bytes that span pieces are copied,
   * into the head piece's own buffer when it has the room (see the header), else into a new one.
   */
  take(n: number): Bytes {
    if (n <= 0) return EMPTY;
    if (n > this.size) throw new RangeError(`take(${n}) of ${this.size} bytes`);
    this.seal();
    const list = this.list;
    const first = list[this.head]!;
    let out: Bytes;
    if (first.length >= n) {
      if (first.length === n) {
        list[this.head++] = EMPTY;
        out = first;
      } else {
        list[this.head] = first.subarray(n);
        out = first.subarray(0, n);
      }
      // The bytes before the new head piece were handed out as they are: not dead.
      this.headDead = 0;
    } else {
      const missing = n - first.length;
      if (this.headDead >= missing) {
        // In place: the head piece moves back `missing` bytes, over bytes already copied out of it.
        out = new Uint8Array(first.buffer, first.byteOffset - missing, n);
        out.copyWithin(0, missing, n);
      } else {
        out = uninitialized(n);
        out.set(first, 0);
      }
      list[this.head++] = EMPTY;
      this.headDead = 0;
      let at = first.length;
      while (at < n) {
        const p = list[this.head]!;
        const want = n - at;
        if (p.length <= want) {
          out.set(p, at);
          at += p.length;
          list[this.head++] = EMPTY;
        } else {
          out.set(p.subarray(0, want), at);
          list[this.head] = p.subarray(want);
          // Copied out and handed to no one as they are: room for the next join.
          if (this.given) this.headDead = want;
          at = n;
        }
      }
    }
    this.size -= n;
    this.consumed();
    return out;
  }

  /** The position of the first `byte` in held bytes [from, to), or -1. */
  indexOf(byte: number, from: number, to: number = Infinity): number {
    const list = this.list;
    // Resume from the piece the last search reached, when `from` is not before it.
    if (this.cursor < this.head || from < this.cursorBase) {
      this.cursor = this.head;
      this.cursorBase = 0;
    }
    let i = this.cursor;
    let base = this.cursorBase;
    for (; i < list.length && base < to; i++) {
      const p = list[i]!;
      if (from < base + p.length) {
        const at = search(p, byte, from - base, to - base);
        if (at !== -1) {
          this.cursor = i;
          this.cursorBase = base;
          return base + at;
        }
      }
      base += p.length;
    }
    this.cursor = i;
    this.cursorBase = base;
    if (i === list.length && this.runTo > this.runFrom && from < base + this.runTo - this.runFrom && base < to) {
      const at = search(this.slab!.subarray(this.runFrom, this.runTo), byte, from - base, to - base);
      if (at !== -1) return base + at;
    }
    return -1;
  }

  /** Drops everything held. */
  clear(): void {
    this.list = [];
    this.head = 0;
    this.size = 0;
    this.slab = null;
    this.runFrom = this.runTo = 0;
    this.cursor = this.cursorBase = 0;
    this.headDead = 0;
  }

  /** The open run of copied bytes becomes a piece of the list (before a piece that follows it, or a read). */
  private seal(): void {
    if (this.runTo === this.runFrom) return;
    this.list.push(this.slab!.subarray(this.runFrom, this.runTo));
    this.runFrom = this.runTo;
    if (this.runTo === this.slab!.length) this.slab = null;
  }

  /** After the head moved: forget the search position, and drop consumed slots now and then. */
  private consumed(): void {
    this.cursor = this.head;
    this.cursorBase = 0;
    if (this.head === this.list.length) {
      this.list = [];
      this.head = this.cursor = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.list.length) {
      this.list = this.list.slice(this.head);
      this.head = this.cursor = 0;
    }
  }
}

/** `byte` in p[from, to) (clamped to p), or -1. */
function search(p: Bytes, byte: number, from: number, to: number): number {
  const start = Math.max(0, from);
  return to >= p.length ? p.indexOf(byte, start) : p.subarray(0, Math.max(0, to)).indexOf(byte, start);
}

/**
 * Whether bytes sit on a plain ArrayBuffer, as the `Bytes` that wsgi.input hands out must (a Blob or a
 * Response refuses a view of a SharedArrayBuffer). Node's socket and stream Buffers always do; other
 * pieces are copied (small ones into the slab anyway).
 */
function onArrayBuffer(p: Uint8Array): p is Bytes {
  return p.buffer instanceof ArrayBuffer;
}
