/**
 * Reading the request body from `wsgi.input` within its limits: never past `CONTENT_LENGTH` (or to the
 * end when the server set `wsgi.input_terminated`, docs/SPEC.md R30, R68), a 413 as soon as the body
 * is known to exceed `maxContentLength` (before reading anything when Content-Length says so), and a
 * 400 when the input ends before the declared length, so a cut-short body is never taken for a whole
 * one. Errors the input itself raises (the client went away, the body stalled) pass through unchanged:
 * the engine knows them and answers 400 or 408 (R57).
 * @module
 */
import type { Environ } from '../spec.js';
import { BadRequest, RequestEntityTooLarge } from '../exceptions/index.js';

/** Bytes asked of `wsgi.input` per read. */
export const READ_SIZE = 64 * 1024;

/** The declared Content-Length: a number, null when absent; a BadRequest when it is not digits. */
export function declaredLength(environ: Environ): number | null {
  const raw = environ.CONTENT_LENGTH;
  if (raw === undefined || raw === '') return null;
  if (typeof raw !== 'string' || !/^\s*\d{1,15}\s*$/.test(raw)) throw new BadRequest(`Invalid Content-Length ${JSON.stringify(raw)}.`);
  return Number(raw);
}

export function tooLarge(what: string, limit: number): RequestEntityTooLarge {
  return new RequestEntityTooLarge(`The ${what} exceeds the limit of ${limit} bytes.`);
}

/** The request body as a stream of chunks, read once, front to back. */
export class BodyReader {
  /** Bytes handed out so far. */
  consumed = 0;
  private readonly length: number | null;
  private readonly terminated: boolean;
  private done = false;

  constructor(
    private readonly environ: Environ,
    private readonly maxContentLength: number | null,
  ) {
    this.length = declaredLength(environ);
    this.terminated = environ['wsgi.input_terminated'] === true;
  }

  /** Whether anything has been read. */
  get started(): boolean {
    return this.consumed > 0 || this.done;
  }

  /** Throws the 413 a declared length already deserves, before any byte is read. */
  checkDeclared(limit: number | null = this.maxContentLength, what = 'request body'): void {
    if (limit !== null && this.length !== null && this.length > limit) throw tooLarge(what, limit);
  }

  /** The next chunk of at most `size` bytes; an empty array at the end of the body. */
  async read(size = READ_SIZE): Promise<Uint8Array> {
    if (this.done) return new Uint8Array(0);
    this.checkDeclared();
    let want = size;
    if (this.length !== null) want = Math.min(want, this.length - this.consumed);
    else if (!this.terminated) want = 0; // no Content-Length and no input_terminated: there is no body (R30)
    if (want <= 0) {
      this.done = true;
      return new Uint8Array(0);
    }
    const chunk = await this.environ['wsgi.input'].read(want);
    if (chunk.length === 0) {
      this.done = true;
      if (this.length !== null && this.consumed < this.length) {
        throw new BadRequest(`The request body ended after ${this.consumed} of its ${this.length} bytes.`);
      }
      return chunk;
    }
    this.consumed += chunk.length;
    if (this.maxContentLength !== null && this.consumed > this.maxContentLength) {
      this.done = true;
      throw tooLarge('request body', this.maxContentLength);
    }
    return chunk;
  }

  /** Every remaining chunk. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = await this.read();
      if (chunk.length === 0) return;
      yield chunk;
    }
  }

  /** The rest of the body in one array; a 413 naming `what` once it passes `limit` bytes. */
  async readAll(limit: number | null = null, what = 'request body'): Promise<Uint8Array> {
    this.checkDeclared(limit, what);
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this.chunks()) {
      total += chunk.length;
      if (limit !== null && total > limit) throw tooLarge(what, limit);
      parts.push(chunk);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  }
}

/** A BodyReader's interface over bytes already in memory (the cached body, parsed again). */
export class MemoryReader {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}
  async *chunks(): AsyncGenerator<Uint8Array> {
    while (this.pos < this.data.length) {
      const chunk = this.data.subarray(this.pos, this.pos + READ_SIZE);
      this.pos += chunk.length;
      yield chunk;
    }
  }
}

/** What the form parsers read from. */
export interface ChunkSource {
  chunks(): AsyncIterable<Uint8Array>;
}
