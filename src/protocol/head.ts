// A strict HTTP/1.1 request-head parser (RFC 9112 §2–§5) for the net engine.
//
// Why by hand: node:http's parser (llhttp) is reachable only through node:http's own layers
// (IncomingMessage, ServerResponse, their streams and events), which are what the net engine exists
// to skip; llhttp's WebAssembly build would cost a copy into wasm memory and a boundary crossing
// per callback. A request head is small and its grammar short, so one pass over the bytes in
// JavaScript is both the fastest and the easiest to hold to the hostile catalogue: anything the
// grammar does not allow is refused, never repaired.
//
// parseHead() is called with everything received so far; it returns null while the head is
// incomplete (the caller keeps the bytes and calls again with more), or the parsed head and where
// it ends. It throws a ClientError with the status to answer. What the head means (its target's form,
// Host, the body's framing, keep-alive, Expect) is decided by frameRequest() (framing.ts), which the
// node engine calls on llhttp's parse too.
import { ClientError } from '../errors.js';
import { TCHAR } from './fields.js';
import { hasTargetShape } from './target.js';

export interface Limits {
  /** The longest request-target (414 beyond). */
  limitRequestLine: number;
  /** The most header fields (431 beyond). */
  limitRequestFields: number;
  /**
   * The size of a head as llhttp counts it, so that both engines refuse the same heads: the
   * request-target plus every field's name and value (with any OWS after the value); method, version,
   * colons, the OWS before a value and line ends are not counted. 431 when it reaches this.
   */
  maxHeaderSize: number;
}

export interface Head {
  method: string;
  url: string;
  /** The version as received after `HTTP/`: "1.0", "1.1", or "1.2"–"1.9" (served as 1.1). */
  httpVersion: string;
  /** 0 for HTTP/1.0; 1 for HTTP/1.1 and later 1.x (RFC 9110 §2.5: process as the highest minor version we implement). */
  versionMinor: 0 | 1;
  /** [name, value, name, value, ...] as received (values without their surrounding whitespace). */
  rawHeaders: string[];
  /** Offset just past the empty line that ends the head. */
  end: number;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

// Bytes allowed in a field value: VCHAR, obs-text, SP, HTAB (no other control byte, no DEL).
const VALUE = new Uint8Array(256);
for (let c = 33; c <= 126; c++) VALUE[c] = 1;
for (let c = 128; c <= 255; c++) VALUE[c] = 1;
VALUE[SP] = 1;
VALUE[HTAB] = 1;

// Bytes allowed in a request-target: VCHAR only (no control byte, no space, no DEL, no raw non-ASCII:
// RFC 9112 §3.2's grammar is ASCII, browsers percent-encode, and llhttp refuses them too).
const TARGET = new Uint8Array(256);
for (let c = 33; c <= 126; c++) TARGET[c] = 1;

/** A head that has reached the size limit. */
function tooLarge(limits: Limits): ClientError {
  return new ClientError(431, `request head of ${limits.maxHeaderSize} bytes or more (target, names and values)`, 'TSGI_ERR_HEADERS_TOO_LARGE');
}

// Short lines and heads are searched in JavaScript, longer ones by Buffer#indexOf (memchr/memmem):
// each indexOf is a call into C++ that costs as much as a loop over ~100 bytes, and most lines
// (the request line, Host, Accept, ...) are shorter than that. Measured on a hello request: the four
// indexOf calls of a two-line head were 2.6% of the server's CPU.
const SHORT = 96;

/** Index of the next LF at or after `from`, or -1. */
function lineEnd(buf: Buffer, from: number, to: number): number {
  const near = Math.min(to, from + SHORT);
  for (let i = from; i < near; i++) if (buf[i] === LF) return i;
  if (near === to) return -1;
  const i = buf.indexOf(LF, near);
  return i === -1 || i >= to ? -1 : i;
}

// Where a complete head ends: its first empty line (leading empty lines are skipped before the search).
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Index of the first CRLFCRLF at or after `from`, or -1. */
function headEnd(buf: Buffer, from: number): number {
  const len = buf.length;
  if (len - from > 4 * SHORT) return buf.indexOf(HEAD_END, from);
  for (let i = from + 3; i < len; i++) {
    if (buf[i] === LF && buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i - 3;
  }
  return -1;
}

/**
 * A piece of the head as text. `text` is the head's bytes from `at`, decoded once; each method, target,
 * name and value is a slice of it. Decoding each piece on its own (`buf.toString` per piece) cost ~1 µs of
 * a ~20 µs hello request; one decode and slices cost a third of that. `text` is null while the head is
 * incomplete (the bytes are decoded piece by piece then, rarely: a head split across reads, or one about
 * to be refused).
 */
function latin1(buf: Buffer, text: string | null, at: number, start: number, end: number): string {
  return text === null ? buf.toString('latin1', start, end) : text.slice(start - at, end - at);
}

/** The most raw bytes of head the net engine buffers, whatever they count: a head padded with OWS. */
function rawBound(limits: Limits): number {
  return 4 * limits.maxHeaderSize + 8192;
}

export function parseHead(buf: Buffer, start: number, limits: Limits): Head | null {
  const len = buf.length;
  let pos = start;
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line. llhttp
  // skips any CR and LF bytes there, and so do we (they belong to no message).
  while (pos < len && (buf[pos] === CR || buf[pos] === LF)) pos++;
  if (pos - start > rawBound(limits)) throw tooLarge(limits);
  const stop = headEnd(buf, pos);
  const text = stop === -1 ? null : buf.toString('latin1', pos, stop + 4);
  const at = pos;
  // --- request-line: method SP request-target SP HTTP-version CRLF
  const nl = lineEnd(buf, pos, len);
  if (nl === -1) {
    // Refuse a request line that is already wrong rather than wait for its end (binary junk, a
    // uwsgi packet on an HTTP port, `G@T`).
    let m = pos;
    while (m < len && TCHAR[buf[m]!]) m++;
    if (m < len && (buf[m] !== SP || m === pos)) throw new ClientError(400, 'malformed method', 'TSGI_ERR_METHOD');
    if (m < len) {
      let t = m + 1;
      while (t < len && TARGET[buf[t]!]) t++;
      if (t < len && buf[t] !== SP && buf[t] !== CR)
        throw new ClientError(400, 'a control byte or raw non-ASCII in the request target', 'TSGI_ERR_REQUEST_LINE');
      const target = t - m - 1;
      if (target > limits.limitRequestLine && t === len) {
        throw new ClientError(414, `request target longer than ${limits.limitRequestLine} bytes`, 'TSGI_ERR_URI_TOO_LONG');
      }
      if (target >= limits.maxHeaderSize) throw tooLarge(limits);
    }
    if (len - pos > rawBound(limits)) throw tooLarge(limits);
    return null;
  }
  if (nl === pos || buf[nl - 1] !== CR) throw new ClientError(400, 'request line not ended by CRLF', 'TSGI_ERR_REQUEST_LINE');
  let i = pos;
  while (i < nl && TCHAR[buf[i]!]) i++;
  if (i === pos || buf[i] !== SP) throw new ClientError(400, 'malformed method', 'TSGI_ERR_METHOD');
  const method = latin1(buf, text, at, pos, i);
  const t0 = ++i;
  while (i < nl && TARGET[buf[i]!]) i++;
  if (i === t0) throw new ClientError(400, 'empty request target', 'TSGI_ERR_REQUEST_LINE');
  const versionless = i === nl - 1;
  if (buf[i] !== SP && !versionless) throw new ClientError(400, 'a control byte, raw non-ASCII or a space in the request target', 'TSGI_ERR_REQUEST_LINE');
  const url = latin1(buf, text, at, t0, i);
  if (!hasTargetShape(method, url))
    throw new ClientError(400, `request target ${JSON.stringify(url.slice(0, 64))} is not a path, * or a URI`, 'TSGI_ERR_TARGET');
  // Refusals decided on the request line but answered at the end of the head, in the order node's
  // engine applies them to llhttp's parse (a version llhttp lets through, then 414), so that a
  // request with several faults gets the same answer from both engines.
  let late: ClientError | null = null;
  // HTTP/0.9's simple-request: a version we do not speak, 505 as for an explicit HTTP/0.9 (llhttp
  // reads both as 0.9 and goes on to a header section; the node engine cannot tell them apart).
  if (versionless) late = new ClientError(505, 'request line without an HTTP version (HTTP/0.9 is not served)', 'TSGI_ERR_VERSION');
  let size = i - t0;
  if (size >= limits.maxHeaderSize) throw tooLarge(limits);
  let httpVersion = '0.9';
  let versionMinor: 0 | 1 = 1;
  if (!versionless) {
    i++;
    // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (§2.3).
    if (nl - 1 - i !== 8 || buf[i] !== 72 || buf[i + 1] !== 84 || buf[i + 2] !== 84 || buf[i + 3] !== 80 || buf[i + 4] !== 47 || buf[i + 6] !== 46) {
      throw new ClientError(400, 'malformed HTTP version', 'TSGI_ERR_REQUEST_LINE');
    }
    const major = buf[i + 5]! - 48;
    const minor = buf[i + 7]! - 48;
    if (major < 0 || major > 9 || minor < 0 || minor > 9) throw new ClientError(400, 'malformed HTTP version', 'TSGI_ERR_REQUEST_LINE');
    // RFC 9110 §2.5: a later 1.x is served as the highest 1.x we implement (1.1); another major is
    // 505: at once, as llhttp refuses it, except 0.9 and 2.0, which llhttp lets through to the end of the head.
    if (major !== 1) {
      const e = new ClientError(505, `unsupported protocol HTTP/${major}.${minor}`, 'TSGI_ERR_VERSION');
      if ((major === 0 && minor === 9) || (major === 2 && minor === 0)) late = e;
      else throw e;
    }
    versionMinor = minor === 0 ? 0 : 1;
    httpVersion = minor === 0 ? '1.0' : minor === 1 ? '1.1' : `${major}.${minor}`;
  }
  if (late === null && url.length > limits.limitRequestLine) {
    late = new ClientError(414, `request target of ${url.length} bytes (limit ${limits.limitRequestLine})`, 'TSGI_ERR_URI_TOO_LONG');
  }
  // --- fields: name ":" OWS value OWS CRLF, until an empty line
  const rawHeaders: string[] = [];
  const bound = pos + rawBound(limits);
  pos = nl + 1;
  for (;;) {
    if (pos >= len) return null;
    const e = lineEnd(buf, pos, len);
    if (e === -1) {
      // The line so far counts as llhttp counts it: its name, and its value from the first byte that
      // is not OWS (a CR at the end may be the line's own).
      // (Only worked out near the limit: the raw length of the line is an upper bound.)
      if (size + (len - pos) >= limits.maxHeaderSize) {
        let stop = len;
        if (buf[stop - 1] === CR) stop--;
        const colon = buf.indexOf(COLON, pos);
        let part = stop - pos;
        if (colon !== -1 && colon < stop) {
          let v = colon + 1;
          while (v < stop && (buf[v] === SP || buf[v] === HTAB)) v++;
          part = colon - pos + (stop - v);
        }
        if (size + part >= limits.maxHeaderSize || len > bound) throw tooLarge(limits);
      }
      // A CR must be followed by LF: reject `\r\rX` now rather than wait for a LF that may come later.
      const cr = buf.indexOf(CR, pos);
      if (cr !== -1 && cr + 1 < len) throw new ClientError(400, 'a CR not followed by LF in the head', 'TSGI_ERR_FIELD');
      return null;
    }
    if (e === pos || buf[e - 1] !== CR) throw new ClientError(400, 'header line not ended by CRLF', 'TSGI_ERR_FIELD');
    const lineStop = e - 1; // the CR
    if (lineStop === pos) {
      // The empty line: the head is complete.
      if (late !== null) throw late;
      return { method, url, httpVersion, versionMinor, rawHeaders, end: e + 1 };
    }
    const first = buf[pos]!;
    if (first === SP || first === HTAB) throw new ClientError(400, 'obsolete line folding (obs-fold) in the head', 'TSGI_ERR_FIELD');
    let j = pos;
    while (j < lineStop && TCHAR[buf[j]!]) j++;
    if (j === pos) throw new ClientError(400, 'malformed header field name', 'TSGI_ERR_FIELD');
    if (buf[j] !== COLON) {
      throw new ClientError(
        400,
        buf[j] === SP || buf[j] === HTAB ? 'whitespace between a header field name and its colon' : 'malformed header field name',
        'TSGI_ERR_FIELD',
      );
    }
    const name = latin1(buf, text, at, pos, j);
    let v0 = j + 1;
    while (v0 < lineStop && (buf[v0] === SP || buf[v0] === HTAB)) v0++;
    size += j - pos + (lineStop - v0);
    if (size >= limits.maxHeaderSize || e > bound) throw tooLarge(limits);
    let v1 = lineStop;
    while (v1 > v0 && (buf[v1 - 1] === SP || buf[v1 - 1] === HTAB)) v1--;
    for (let k = v0; k < v1; k++) {
      if (!VALUE[buf[k]!]) throw new ClientError(400, `a control byte (0x${buf[k]!.toString(16).padStart(2, '0')}) in the value of ${name}`, 'TSGI_ERR_FIELD');
    }
    // Refused as soon as they arrive, not at the end of the head as on the node engine: the parse
    // starts over with every read, and thousands of fields dripped a byte at a time would cost that much.
    if (rawHeaders.length >= 2 * limits.limitRequestFields)
      throw new ClientError(431, `more than ${limits.limitRequestFields} header fields`, 'TSGI_ERR_HEADERS_TOO_LARGE');
    rawHeaders.push(name, latin1(buf, text, at, v0, v1));
    pos = e + 1;
  }
}
