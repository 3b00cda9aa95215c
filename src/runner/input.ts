// wsgi.input over any transport. A door supplies a ByteSource (the decoded body, chunk by chunk: a
// BodyQueue, src/protocol/body.ts); Input serves PEP 3333's read/readline/readlines/iteration on top
// of it and never hands out more than the declared length (R30): past CONTENT_LENGTH it simulates EOF.
//
// Linear in the bytes read, however the body is cut: the pieces are held in a Pieces list (consumed
// by index, small pieces copied together), readline() searches only the bytes it has not searched
// yet, and read(n) hands over a received piece as it is when it is exactly n bytes (a view of it when
// it is longer): bytes are copied only to join pieces (in place when the source gives its pieces:
// pieces.ts). A read answers from what has arrived without waiting on a promise per piece.
import type { Bytes, InputStream } from '../spec.js';
import type { ByteSource } from '../protocol/body.js';
import { Pieces } from '../protocol/pieces.js';
import { ClientError } from './handler.js';

export type { ByteSource };

const NL = 10;

/** Sizes are whole numbers (or null/undefined/negative for "all"), as in Python. */
function checkSize(size: unknown, method: string): TypeError | undefined {
  if (size === undefined || size === null || (typeof size === 'number' && Number.isInteger(size))) return undefined;
  return new TypeError(`wsgi.input.${method}() size must be a whole number, null or undefined (got ${String(size)})`);
}

/** What a read asks for: read(size), readline(size) or read1(size), `size` < 0 for "all". */
enum Kind {
  Read,
  Line,
  Read1,
}

/** A read that has to wait for more of the body. */
interface Pending {
  kind: Kind;
  size: number;
  resolve: (b: Bytes) => void;
  reject: (e: unknown) => void;
}

export class Input implements InputStream {
  /** Reads waiting for more of the body, answered in the order they were made. */
  private readonly pending: Pending[] = [];
  /** A wait on the source is under way (for pending[0]). */
  private waiting = false;
  private readonly pieces: Pieces;
  private eof = false;
  /** Bytes that may still be handed out (Infinity for a chunked body, which the source terminates). */
  private remaining: number;
  /** The bytes the readline of pending[0] has searched for a newline: each byte is searched once a line. */
  private scanned = 0;

  constructor(
    private readonly source: ByteSource,
    limit: number = Infinity,
  ) {
    this.pieces = new Pieces(source.given === true);
    this.remaining = limit;
    if (limit <= 0) this.eof = true;
  }

  // A read is answered from what has arrived (the pieces the source holds are taken with pullNow, no
  // promise each) and waits only for what has not: then it joins `pending`, and one wait on the source
  // serves the reads in order (waitNow: no promise per piece either). An upload read by read(65536)
  // costs one promise per read, the one the application awaits.

  read(size?: number | null): Promise<Bytes> {
    return this.ask(Kind.Read, size, 'read');
  }

  readline(size?: number | null): Promise<Bytes> {
    return this.ask(Kind.Line, size, 'readline');
  }

  /**
   * At most `size` bytes, waiting only when nothing is buffered (Python's `read1`): for bridges and
   * interactive uploads that must pass data on as it arrives. Empty at the end.
   */
  read1(size?: number | null): Promise<Bytes> {
    return this.ask(Kind.Read1, size, 'read1');
  }

  private ask(kind: Kind, size: number | null | undefined, method: string): Promise<Bytes> {
    const bad = checkSize(size, method);
    if (bad) return Promise.reject(bad);
    const n = size === undefined || size === null || size < 0 ? -1 : size;
    if (this.pending.length === 0) {
      this.scanned = 0;
      try {
        const now = this.answer(kind, n);
        if (now !== undefined) return Promise.resolve(now);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise<Bytes>((resolve, reject) => {
      this.pending.push({ kind, size: n, resolve, reject });
      if (!this.waiting) this.wait();
    });
  }

  /** The read from the bytes here now (taking what the source holds), or undefined when it must wait. */
  private answer(kind: Kind, size: number): Bytes | undefined {
    const p = this.pieces;
    if (kind === Kind.Read) {
      if (size < 0) {
        while (!this.eof) if (!this.fillNow()) return undefined;
        return p.take(p.size);
      }
      while (p.size < size && !this.eof) if (!this.fillNow()) return undefined;
      return p.take(Math.min(size, p.size));
    }
    if (kind === Kind.Read1) {
      while (p.size === 0 && !this.eof) if (!this.fillNow()) return undefined;
      return p.take(size < 0 ? p.size : Math.min(size, p.size));
    }
    const max = size < 0 ? Infinity : size;
    for (;;) {
      const nl = p.indexOf(NL, this.scanned, max);
      if (nl !== -1 && nl + 1 <= max) return p.take(nl + 1);
      if (p.size >= max) return p.take(max);
      if (this.eof) return p.take(p.size);
      this.scanned = p.size;
      if (!this.fillNow()) return undefined;
    }
  }

  /** Waits for more of the body, for pending[0]. */
  private wait(): void {
    this.waiting = true;
    const source = this.source;
    if (source.waitNow !== undefined && source.pullNow !== undefined) source.waitNow(this.woken);
    else source.pull().then(this.pulled, this.failed);
  }

  /** The source has an answer for pullNow. */
  private readonly woken = (): void => {
    this.waiting = false;
    let took: boolean;
    try {
      took = this.fillNow();
    } catch (err) {
      return this.failed(err);
    }
    if (took) return this.serve();
    // Woken with nothing to take: the body broke, and pull() says how.
    this.waiting = true;
    this.source.pull().then(this.pulled, this.failed);
  };

  private readonly pulled = (chunk: Uint8Array | null): void => {
    this.waiting = false;
    try {
      this.accept(chunk);
    } catch (err) {
      return this.failed(err);
    }
    this.serve();
  };

  /** The body broke (or ended short): the read waiting for it fails; the next ones try in their turn. */
  private readonly failed = (err: unknown): void => {
    this.waiting = false;
    this.scanned = 0;
    this.pending.shift()!.reject(err);
    this.serve();
  };

  /** Answers the pending reads in order, as far as the bytes go; the first that must wait waits. */
  private serve(): void {
    const pending = this.pending;
    while (pending.length > 0) {
      const head = pending[0]!;
      let out: Bytes | undefined;
      try {
        out = this.answer(head.kind, head.size);
      } catch (err) {
        pending.shift();
        this.scanned = 0;
        head.reject(err);
        continue;
      }
      if (out === undefined) return this.wait();
      pending.shift();
      this.scanned = 0;
      head.resolve(out);
    }
  }

  async readlines(hint?: number | null): Promise<Bytes[]> {
    const lines: Bytes[] = [];
    let total = 0;
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return lines;
      lines.push(line);
      total += line.length;
      if (hint !== undefined && hint !== null && hint > 0 && total >= hint) return lines;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Bytes> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** Takes the next piece if the source already has it: false when it would have to wait. */
  private fillNow(): boolean {
    const source = this.source;
    if (source.pullNow === undefined) return false;
    const chunk = source.pullNow();
    if (chunk === undefined) return false;
    this.accept(chunk);
    return true;
  }

  private accept(chunk: Uint8Array | null): void {
    if (chunk === null) {
      this.eof = true;
      // A body that ends before its declared length is broken, never a silently short body.
      if (this.remaining !== Infinity && this.remaining > 0) {
        throw new ClientError(400, `the request body ended ${this.remaining} bytes before its Content-Length`, 'TSGI_ERR_BODY_INCOMPLETE');
      }
      return;
    }
    if (chunk.length === 0) return;
    // Never keep more than the declared length: extra bytes are not part of this body.
    const piece = chunk.length > this.remaining ? chunk.subarray(0, this.remaining) : chunk;
    this.remaining -= piece.length;
    this.pieces.push(piece);
    if (this.remaining <= 0) this.eof = true;
  }
}

const ENDED: ByteSource = { pull: () => Promise.resolve(null) };

/** The input of a request without a body: every read is empty at once. Stateless, so shared. */
export const EMPTY_INPUT: InputStream = new Input(ENDED, 0);

/** An in-memory source (test client, CGI with a known body). */
export function bytesSource(data: Uint8Array): ByteSource {
  let done = false;
  return {
    pull() {
      if (done) return Promise.resolve(null);
      done = true;
      return Promise.resolve(data);
    },
  };
}
