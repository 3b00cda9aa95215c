// wsgi.input over any transport. A door supplies a ByteSource (the decoded body, chunk by chunk);
// Input serves PEP 3333's read/readline/readlines/iteration on top of it and never hands out more
// than the declared length (R30): past CONTENT_LENGTH it simulates EOF.
import type { Bytes, InputStream } from '../spec.js';
import { EMPTY, concat } from '../protocol/bytes.js';
import { ClientError } from './handler.js';

export interface ByteSource {
  /** The next piece of the body, or null at its end. Rejects when the body breaks or times out. */
  pull(): Promise<Uint8Array | null>;
}

const NL = 10;

/**
 * Whether bytes sit on a plain ArrayBuffer, as the `Bytes` that wsgi.input promises must (a Blob or a
 * Response refuses a view of a SharedArrayBuffer). Node's socket and stream Buffers always do, so
 * this is one `instanceof` per chunk; a source that hands out anything else gets its chunk copied.
 */
function onArrayBuffer(chunk: Uint8Array): chunk is Bytes {
  return chunk.buffer instanceof ArrayBuffer;
}

/** Sizes are whole numbers (or null/undefined/negative for "all"), as in Python. */
function checkSize(size: unknown, method: string): TypeError | undefined {
  if (size === undefined || size === null || (typeof size === 'number' && Number.isInteger(size))) return undefined;
  return new TypeError(`wsgi.input.${method}() size must be a whole number, null or undefined (got ${String(size)})`);
}

export class Input implements InputStream {
  /** The read in progress: reads run one after another, so concurrent calls get bytes in order. */
  private turn: Promise<void> = Promise.resolve();
  private busy = false;
  private chunks: Bytes[] = [];
  private buffered = 0;
  private eof = false;
  /** Bytes that may still be handed out (Infinity for a chunked body, which the source terminates). */
  private remaining: number;

  constructor(
    private readonly source: ByteSource,
    limit: number = Infinity,
  ) {
    this.remaining = limit;
    if (limit <= 0) this.eof = true;
  }

  read(size?: number | null): Promise<Bytes> {
    const bad = checkSize(size, 'read');
    return bad ? Promise.reject(bad) : this.queue(() => this.readNow(size));
  }

  readline(size?: number | null): Promise<Bytes> {
    const bad = checkSize(size, 'readline');
    return bad ? Promise.reject(bad) : this.queue(() => this.readlineNow(size));
  }

  /**
   * At most `size` bytes, waiting only when nothing is buffered (Python's `read1`): for bridges and
   * interactive uploads that must pass data on as it arrives. Empty at the end.
   */
  read1(size?: number | null): Promise<Bytes> {
    const bad = checkSize(size, 'read1');
    return bad
      ? Promise.reject(bad)
      : this.queue(async () => {
          while (this.buffered === 0 && !this.eof) await this.fill();
          const max = size === undefined || size === null || size < 0 ? this.buffered : size;
          return this.take(Math.min(max, this.buffered));
        });
  }

  /** Runs `op` after every read queued before it (at once when none is in progress). */
  private queue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.busy ? this.turn.then(op, op) : op();
    this.busy = true;
    const settled: Promise<void> = run.then(
      () => this.release(settled),
      () => this.release(settled),
    );
    this.turn = settled;
    return run;
  }

  private release(settled: Promise<void>): void {
    if (this.turn === settled) this.busy = false;
  }

  private async readNow(size?: number | null): Promise<Bytes> {
    if (size === undefined || size === null || size < 0) {
      while (!this.eof) await this.fill();
      return this.take(this.buffered);
    }
    while (this.buffered < size && !this.eof) await this.fill();
    return this.take(Math.min(size, this.buffered));
  }

  private async readlineNow(size?: number | null): Promise<Bytes> {
    const max = size === undefined || size === null || size < 0 ? Infinity : size;
    let scanned = 0;
    for (;;) {
      const nl = this.indexOfNewline(scanned);
      if (nl !== -1 && nl + 1 <= max) return this.take(nl + 1);
      if (this.buffered >= max) return this.take(max);
      if (this.eof) return this.take(this.buffered);
      scanned = this.buffered;
      await this.fill();
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

  private async fill(): Promise<void> {
    const chunk = await this.source.pull();
    if (chunk === null) {
      this.eof = true;
      // A body that ends before its declared length is broken, never a silently short body.
      if (this.remaining !== Infinity && this.remaining > 0) {
        throw new ClientError(400, `the request body ended ${this.remaining} bytes before its Content-Length`);
      }
      return;
    }
    if (chunk.length === 0) return;
    const bytes = onArrayBuffer(chunk) ? chunk : new Uint8Array(chunk);
    // Never keep more than the declared length: extra bytes are not part of this body.
    const piece = bytes.length > this.remaining ? bytes.subarray(0, this.remaining) : bytes;
    this.remaining -= piece.length;
    this.chunks.push(piece);
    this.buffered += piece.length;
    if (this.remaining <= 0) this.eof = true;
  }

  private indexOfNewline(from: number): number {
    let base = 0;
    for (const c of this.chunks) {
      if (from < base + c.length) {
        const i = c.indexOf(NL, Math.max(0, from - base));
        if (i !== -1) return base + i;
      }
      base += c.length;
    }
    return -1;
  }

  private take(n: number): Bytes {
    if (n <= 0) return EMPTY;
    const first = this.chunks[0]!;
    if (first.length === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const parts: Bytes[] = [];
    let need = n;
    while (need > 0) {
      const c = this.chunks[0]!;
      if (c.length <= need) {
        parts.push(c);
        this.chunks.shift();
        need -= c.length;
      } else {
        parts.push(c.subarray(0, need));
        this.chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    this.buffered -= n;
    return concat(parts, n);
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
