// The chunked transfer coding of a request body (RFC 9112 §7.1), decoded incrementally and strictly.
// The one decoder of every door that sees a chunked body: the net engine, and the uwsgi door (the
// uWSGI HTTP router with --http-chunked-input forwards the chunked stream as it came; nginx, Apache
// and lighttpd de-chunk first). node:http's llhttp decodes its own.
//
// Strict where lenient parsers were smuggling vectors (reliability.md H31–H37):
//   chunk-size   hex digits only (no sign, no 0x, no whitespace before), at most MAX_SIZE_DIGITS of
//                them, and a value below 2^52 so that it is exact in a double (H31's 64-bit overflow);
//   chunk-ext    *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) as §7.1.1 writes it
//                (so `5 ; a = b` is valid, gunicorn valid/013; `5 \r\n` without a `;` is not, H34),
//                bounded per line (H37, the CVE-2024-22019 class), read and dropped;
//   trailers     field lines `name: value`, no obs-fold, bounded in total, read and dropped (trailers
//                are not in the environ, so none can override a header);
//   line ends    CRLF only: a bare LF or a bare CR is refused anywhere (H35), and chunk data must be
//                followed by CRLF (H36).
// Anything else is a ClientError 400 TSGI_ERR_CHUNKED: the body is broken, and the connection
// cannot carry another request.
import { ClientError } from '../errors.js';

export interface ChunkedLimits {
  /** Digits of one chunk-size, leading zeros included. */
  maxSizeDigits: number;
  /** Bytes of the chunk extensions of one size line (everything between the size and its CRLF). */
  maxExtension: number;
  /** Bytes of the whole trailer section, line ends included. */
  maxTrailers: number;
}

export const CHUNKED_LIMITS: ChunkedLimits = { maxSizeDigits: 16, maxExtension: 4096, maxTrailers: 16384 };

/** 2^48: a size at or above this, times 16, would pass 2^52 (doubles stay exact below 2^53). */
const SIZE_SHIFT_LIMIT = 2 ** 48;

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const SEMI = 59;
const EQ = 61;
const DQUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;

/** tchar (RFC 9110 §5.6.2): the bytes of a token. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** Hex digit values, -1 for anything else. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[65 + c] = HEX[97 + c] = 10 + c;

/** qdtext and the obs-text of a field value: HTAB, SP, visible ASCII, 0x80-0xFF (RFC 9110 §5.6.4). */
const isText = (c: number): boolean => c === HT || (c >= SP && c !== 127);

enum S {
  SizeFirst,
  Size,
  /** BWS after the size: only a `;` may follow. */
  BwsSemi,
  /** After a `;`: BWS, then an extension name. */
  BwsName,
  Name,
  /** BWS after a name: `=` or the next `;`. */
  AfterName,
  BwsValue,
  Token,
  Quoted,
  QuotedPair,
  /** Just after a closing quote. */
  AfterQuoted,
  SizeLF,
  Data,
  DataCR,
  DataLF,
  TrailerStart,
  TrailerName,
  TrailerValue,
  TrailerLF,
  EndLF,
  Done,
}

export class ChunkedDecoder {
  private state = S.SizeFirst;
  private size = 0;
  private digits = 0;
  private remaining = 0;
  /** Bytes of the current size line's extensions. */
  private extBytes = 0;
  /** Bytes of the trailer section so far. */
  private trailerBytes = 0;
  private readonly limits: ChunkedLimits;

  constructor(limits: Partial<ChunkedLimits> = {}) {
    this.limits = { ...CHUNKED_LIMITS, ...limits };
  }

  /** True once the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.state === S.Done;
  }

  /**
   * Decodes `buf`, calling `emit` with each piece of body data (views into `buf`, never empty).
   * Returns the offset where the chunked body ended (what follows is not part of it), or -1 when it
   * needs more bytes. Throws a ClientError 400 on a malformed body.
   */
  push(buf: Uint8Array, emit: (data: Uint8Array) => void): number {
    const n = buf.length;
    let i = 0;
    while (i < n) {
      const state = this.state;
      if (state === S.Data) {
        const take = Math.min(this.remaining, n - i);
        emit(buf.subarray(i, i + take));
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = S.DataCR;
        continue;
      }
      if (state === S.Done) return i;
      const c = buf[i++]!;
      if (state >= S.BwsSemi && state <= S.AfterQuoted && c !== CR && ++this.extBytes > this.limits.maxExtension) {
        throw bad(`chunk extensions longer than ${this.limits.maxExtension} bytes`);
      }
      if (state >= S.TrailerStart && ++this.trailerBytes > this.limits.maxTrailers) {
        throw bad(`trailer section longer than ${this.limits.maxTrailers} bytes`);
      }
      switch (state) {
        case S.SizeFirst:
        case S.Size: {
          const h = HEX[c]!;
          if (h !== -1) {
            if (++this.digits > this.limits.maxSizeDigits) throw bad(`chunk size of more than ${this.limits.maxSizeDigits} hex digits`);
            if (this.size >= SIZE_SHIFT_LIMIT) throw bad('chunk size too large');
            this.size = this.size * 16 + h;
            this.state = S.Size;
          } else if (state === S.SizeFirst) throw bad('malformed chunk size');
          else if (c === CR) this.state = S.SizeLF;
          else if (c === SEMI) this.enterExt(S.BwsName);
          else if (c === SP || c === HT) this.enterExt(S.BwsSemi);
          else throw bad('malformed chunk size');
          break;
        }
        case S.BwsSemi:
          if (c === SEMI) this.state = S.BwsName;
          else if (c !== SP && c !== HT) throw bad('whitespace after a chunk size or extension not followed by ";"');
          break;
        case S.BwsName:
          if (TCHAR[c] === 1) this.state = S.Name;
          else if (c !== SP && c !== HT) throw bad('malformed chunk extension name');
          break;
        case S.Name:
          if (TCHAR[c] === 1) break;
          if (c === CR) this.state = S.SizeLF;
          else if (c === SEMI) this.state = S.BwsName;
          else if (c === EQ) this.state = S.BwsValue;
          else if (c === SP || c === HT) this.state = S.AfterName;
          else throw bad('malformed chunk extension name');
          break;
        case S.AfterName:
          if (c === EQ) this.state = S.BwsValue;
          else if (c === SEMI) this.state = S.BwsName;
          else if (c !== SP && c !== HT) throw bad('malformed chunk extension');
          break;
        case S.BwsValue:
          if (c === DQUOTE) this.state = S.Quoted;
          else if (TCHAR[c] === 1) this.state = S.Token;
          else if (c !== SP && c !== HT) throw bad('malformed chunk extension value');
          break;
        case S.Token:
          if (TCHAR[c] === 1) break;
          if (c === CR) this.state = S.SizeLF;
          else if (c === SEMI) this.state = S.BwsName;
          else if (c === SP || c === HT) this.state = S.BwsSemi;
          else throw bad('malformed chunk extension value');
          break;
        case S.Quoted:
          if (c === DQUOTE) this.state = S.AfterQuoted;
          else if (c === BACKSLASH) this.state = S.QuotedPair;
          else if (!isText(c)) throw bad('malformed quoted chunk extension value');
          break;
        case S.QuotedPair:
          if (!isText(c)) throw bad('malformed quoted chunk extension value');
          this.state = S.Quoted;
          break;
        case S.AfterQuoted:
          if (c === CR) this.state = S.SizeLF;
          else if (c === SEMI) this.state = S.BwsName;
          else if (c === SP || c === HT) this.state = S.BwsSemi;
          else throw bad('malformed chunk extension after a quoted value');
          break;
        case S.SizeLF:
          if (c !== LF) throw bad('chunk size line not ended by CRLF');
          if (this.size === 0) this.state = S.TrailerStart;
          else {
            this.state = S.Data;
            this.remaining = this.size;
          }
          this.size = 0;
          this.digits = 0;
          break;
        case S.DataCR:
          if (c !== CR) throw bad('chunk data not followed by CRLF');
          this.state = S.DataLF;
          break;
        case S.DataLF:
          if (c !== LF) throw bad('chunk data not followed by CRLF');
          this.state = S.SizeFirst;
          break;
        case S.TrailerStart:
          if (c === CR) this.state = S.EndLF;
          else if (TCHAR[c] === 1) this.state = S.TrailerName;
          else throw bad(c === SP || c === HT ? 'obs-fold in the trailer section' : 'malformed trailer field');
          break;
        case S.TrailerName:
          if (c === COLON) this.state = S.TrailerValue;
          else if (TCHAR[c] !== 1) throw bad('malformed trailer field name');
          break;
        case S.TrailerValue:
          if (c === CR) this.state = S.TrailerLF;
          else if (!isText(c)) throw bad('malformed trailer field value');
          break;
        case S.TrailerLF:
          if (c !== LF) throw bad('trailer field not ended by CRLF');
          this.state = S.TrailerStart;
          break;
        case S.EndLF:
          if (c !== LF) throw bad('trailer section not ended by CRLF');
          this.state = S.Done;
          return i;
      }
    }
    return this.state === S.Done ? i : -1;
  }

  private enterExt(state: S): void {
    this.state = state;
    this.extBytes = 1;
  }
}

function bad(why: string): ClientError {
  return new ClientError(400, `malformed chunked request body: ${why}`, 'TSGI_ERR_CHUNKED');
}
