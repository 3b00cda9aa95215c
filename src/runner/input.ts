// wsgi.input over any transport. A door supplies a ByteSource (the decoded body, chunk by chunk: a
// BodyQueue, src/protocol/body.ts); Input serves PEP 3333's read/readline/readlines/iteration on top
// of it and never hands out more than the declared length (R30): past CONTENT_LENGTH it simulates EOF.
//
// Linear in the bytes read, however the body is cut: the pieces are held in a Pieces list (consumed
// by index, small pieces copied together), readline() searches only the bytes it has not searched
// yet, and read(n) hands over a received piece as it is when it is exactly n bytes (a view of it when
// it is longer): bytes are copied only to join pieces.
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

export class Input implements InputStream {
  /** The read in progress: reads run one after another, so concurrent calls get bytes in order. */
  private turn: Promise<void> = Promise.resolve();
  private busy = false;
  private readonly pieces = new Pieces();
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
          const p = this.pieces;
          while (p.size === 0 && !this.eof) await this.fill();
          const max = size === undefined || size === null || size < 0 ? p.size : size;
          return p.take(Math.min(max, p.size));
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
    const p = this.pieces;
    if (size === undefined || size === null || size < 0) {
      while (!this.eof) await this.fill();
      return p.take(p.size);
    }
    while (p.size < size && !this.eof) await this.fill();
    return p.take(Math.min(size, p.size));
  }

  private async readlineNow(size?: number | null): Promise<Bytes> {
    const max = size === undefined || size === null || size < 0 ? Infinity : size;
    const p = this.pieces;
    // Bytes already searched for a newline: each byte is searched once per line, not once per fill.
    let scanned = 0;
    for (;;) {
      const nl = p.indexOf(NL, scanned, max);
      if (nl !== -1 && nl + 1 <= max) return p.take(nl + 1);
      if (p.size >= max) return p.take(max);
      if (this.eof) return p.take(p.size);
      scanned = p.size;
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
