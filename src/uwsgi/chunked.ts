// A strict HTTP/1.1 chunked-body decoder (RFC 9112 §7.1), for the one uwsgi front end that forwards
// a chunked request body as it came: the uWSGI HTTP router with --http-chunked-input sends the raw
// chunked stream after the vars, with HTTP_TRANSFER_ENCODING=chunked and no CONTENT_LENGTH
// (fixture uwsgi-router-ka-chunked.bin). nginx, lighttpd and Apache de-chunk before sending.
// Pure and incremental. Strict where lenient parsers were smuggling vectors (reliability.md H31–H37):
// hex digits only, no 0x or sign, a bounded size and bounded lines, CRLF only (no bare LF).

export class ChunkError extends Error {
  override name = 'ChunkError';
}

/** The longest chunk-size line (size and extensions) and trailer line accepted. */
const MAX_LINE = 4096;
/** The most trailer bytes accepted (they are read and dropped, as trailers are not in the environ). */
const MAX_TRAILERS = 16384;
/** 12 significant hex digits: 2^48 bytes, far above any body and well inside a safe integer. */
const MAX_SIZE_DIGITS = 12;

const SIZE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILER = 4;
const DONE = 5;

// chunk-size, then optional BWS ";" extensions (any byte but controls), nothing else.
const SIZE_LINE = /^([0-9A-Fa-f]+)(?:[ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?$/;

export class ChunkedDecoder {
  private state = SIZE;
  private line = '';
  private sawCR = false;
  private remaining = 0;
  private trailerBytes = 0;

  /** True once the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Decodes `input`, appending body bytes (views into `input`) to `out`. Returns how many bytes of
   * `input` belonged to the chunked stream: anything after the end is not part of the body.
   */
  push(input: Uint8Array, out: Uint8Array[]): number {
    let i = 0;
    const n = input.length;
    while (i < n && this.state !== DONE) {
      switch (this.state) {
        case DATA: {
          const take = Math.min(this.remaining, n - i);
          out.push(input.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (input[i++] !== 13) throw new ChunkError('chunk data not followed by CRLF');
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (input[i++] !== 10) throw new ChunkError('chunk data not followed by CRLF');
          this.state = SIZE;
          break;
        default:
          i = this.lineByte(input, i);
      }
    }
    return i;
  }

  /** One byte of a size or trailer line; a whole line is handled at its LF. */
  private lineByte(input: Uint8Array, i: number): number {
    const c = input[i]!;
    if (this.sawCR) {
      if (c !== 10) throw new ChunkError('a bare CR in a chunk line');
      this.sawCR = false;
      this.endLine();
      return i + 1;
    }
    if (c === 13) {
      this.sawCR = true;
      return i + 1;
    }
    if (c === 10) throw new ChunkError('a bare LF in a chunk line (CRLF required)');
    if (this.line.length >= MAX_LINE) throw new ChunkError(`a chunk line longer than ${MAX_LINE} bytes`);
    if (this.state === TRAILER && ++this.trailerBytes > MAX_TRAILERS) {
      throw new ChunkError(`trailers longer than ${MAX_TRAILERS} bytes`);
    }
    this.line += String.fromCharCode(c);
    return i + 1;
  }

  private endLine(): void {
    const line = this.line;
    this.line = '';
    if (this.state === TRAILER) {
      if (line === '') this.state = DONE;
      return;
    }
    const m = SIZE_LINE.exec(line);
    if (m === null) throw new ChunkError(`an invalid chunk size line ${JSON.stringify(line.slice(0, 40))}`);
    const digits = m[1]!.replace(/^0+(?=.)/, '');
    if (digits.length > MAX_SIZE_DIGITS) throw new ChunkError(`a chunk size of ${digits.length} hex digits is too large`);
    this.remaining = parseInt(digits, 16);
    this.state = this.remaining === 0 ? TRAILER : DATA;
  }
}
