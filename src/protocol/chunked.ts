// The chunked transfer coding of a request body (RFC 9112 §7.1), decoded incrementally and strictly:
// chunk-size is hex digits only (no sign, no 0x, at most 15 of them), extensions and trailer fields
// are bounded and skipped, every line ends with CRLF. Anything else is a 400 (the body is broken,
// and the connection cannot be reused).
import { ClientError } from '../errors.js';

const CR = 13;
const LF = 10;

type State = 'size' | 'extBWS' | 'ext' | 'sizeLF' | 'data' | 'dataCR' | 'dataLF' | 'trailer' | 'trailerLF' | 'done';

export class ChunkedDecoder {
  private state: State = 'size';
  private size = 0;
  private digits = 0;
  private remaining = 0;
  /** Bytes of the current extension or trailer line, bounded. */
  private lineBytes = 0;
  /** Whether the current trailer line has any byte (an empty one ends the body). */
  private trailerEmpty = true;

  constructor(private readonly maxLine = 4096) {}

  /**
   * Decodes `buf`, calling `emit` with each piece of body data (views into `buf`). Returns the
   * offset where the chunked body ended (the rest belongs to the next request), or -1 if it needs
   * more bytes.
   */
  push(buf: Buffer, emit: (data: Buffer) => void): number {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      const c = buf[i]!;
      switch (this.state) {
        case 'size': {
          const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
          if (h !== -1) {
            if (++this.digits > 15) throw bad('chunk size too large');
            this.size = this.size * 16 + h;
            i++;
          } else if (this.digits === 0) throw bad('malformed chunk size');
          else if (c === CR) {
            this.state = 'sizeLF';
            i++;
          } else if (c === 59 /* ; */) {
            this.state = 'ext';
            this.lineBytes = 0;
            i++;
          } else if (c === 32 || c === 9) {
            // BWS is allowed only before a `;` (chunk-ext = *( BWS ";" ...)): `5 \r\n` is refused.
            this.state = 'extBWS';
            this.lineBytes = 0;
            i++;
          } else throw bad('malformed chunk size');
          break;
        }
        case 'extBWS':
          if (c === 59) this.state = 'ext';
          else if (c !== 32 && c !== 9) throw bad('whitespace after a chunk size without an extension');
          if (++this.lineBytes > this.maxLine) throw bad('chunk extensions too long');
          i++;
          break;
        case 'ext':
          if (c === CR) this.state = 'sizeLF';
          else if (c === LF || (c < 32 && c !== 9) || c === 127) throw bad('malformed chunk extension');
          else if (++this.lineBytes > this.maxLine) throw bad('chunk extensions too long');
          i++;
          break;
        case 'sizeLF':
          if (c !== LF) throw bad('chunk size line not ended by CRLF');
          i++;
          if (this.size === 0) {
            this.state = 'trailer';
            this.trailerEmpty = true;
            this.lineBytes = 0;
          } else {
            this.state = 'data';
            this.remaining = this.size;
          }
          this.size = 0;
          this.digits = 0;
          break;
        case 'data': {
          const take = Math.min(this.remaining, n - i);
          emit(buf.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = 'dataCR';
          break;
        }
        case 'dataCR':
          if (c !== CR) throw bad('chunk data not followed by CRLF');
          this.state = 'dataLF';
          i++;
          break;
        case 'dataLF':
          if (c !== LF) throw bad('chunk data not followed by CRLF');
          this.state = 'size';
          i++;
          break;
        case 'trailer':
          if (c === CR) this.state = 'trailerLF';
          else if (c === LF || (c < 32 && c !== 9) || c === 127) throw bad('malformed trailer field');
          else {
            if (++this.lineBytes > this.maxLine) throw bad('trailer fields too long');
            this.trailerEmpty = false;
          }
          i++;
          break;
        case 'trailerLF':
          if (c !== LF) throw bad('trailer line not ended by CRLF');
          i++;
          if (this.trailerEmpty) {
            this.state = 'done';
            return i;
          }
          this.state = 'trailer';
          this.trailerEmpty = true;
          break;
        case 'done':
          return i;
      }
    }
    return this.state === 'done' ? i : -1;
  }
}

function bad(why: string): ClientError {
  return new ClientError(400, `malformed chunked request body: ${why}`);
}
