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
// it ends. It throws HeadError with the status to answer.

export class HeadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Limits {
  /** The longest request-target (414 beyond). */
  limitRequestLine: number;
  /** The most header fields (431 beyond). */
  limitRequestFields: number;
  /** The largest head, request line and fields together (431 beyond). */
  maxHeaderSize: number;
}

export interface Head {
  method: string;
  url: string;
  /** "1.0" or "1.1". */
  httpVersion: string;
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

// tchar (RFC 9110 §5.6.2): the bytes of a method or a field name.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

// Bytes allowed in a field value: VCHAR, obs-text, SP, HTAB (no other control byte, no DEL).
const VALUE = new Uint8Array(256);
for (let c = 33; c <= 126; c++) VALUE[c] = 1;
for (let c = 128; c <= 255; c++) VALUE[c] = 1;
VALUE[SP] = 1;
VALUE[HTAB] = 1;

// Bytes allowed in a request-target: VCHAR and obs-text (no control byte, no space, no DEL).
const TARGET = new Uint8Array(256);
for (let c = 33; c <= 126; c++) TARGET[c] = 1;
for (let c = 128; c <= 255; c++) TARGET[c] = 1;

/** Index of the next LF at or after `from`, or -1. */
function lineEnd(buf: Buffer, from: number, to: number): number {
  const i = buf.indexOf(LF, from);
  return i === -1 || i >= to ? -1 : i;
}

function latin1(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end);
}

export function parseHead(buf: Buffer, start: number, limits: Limits): Head | null {
  const len = buf.length;
  let pos = start;
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
  for (let skipped = 0; skipped < 4 && pos < len; skipped++) {
    if (buf[pos] === CR && pos + 1 < len && buf[pos + 1] === LF) pos += 2;
    else if (buf[pos] === CR && pos + 1 === len) return null;
    else break;
  }
  const headLimit = start + limits.maxHeaderSize;
  // --- request-line: method SP request-target SP HTTP-version CRLF
  const nl = lineEnd(buf, pos, len);
  if (nl === -1) {
    // Refuse a request line that is already wrong rather than wait for its end (binary junk, a
    // uwsgi packet on an HTTP port, `G@T`).
    let m = pos;
    while (m < len && TCHAR[buf[m]!]) m++;
    if (m < len && (buf[m] !== SP || m === pos)) throw new HeadError(400, 'malformed method');
    if (len - pos > limits.limitRequestLine + 64) {
      // No end in sight: tell a long target (414) from something else that is too long (431).
      const sp = buf.indexOf(SP, pos);
      if (sp !== -1 && sp - pos < 32 && buf.indexOf(SP, sp + 1) === -1) throw new HeadError(414, `request target longer than ${limits.limitRequestLine} bytes`);
    }
    if (len - start > limits.maxHeaderSize) throw new HeadError(431, `request head larger than ${limits.maxHeaderSize} bytes`);
    return null;
  }
  if (nl === pos || buf[nl - 1] !== CR) throw new HeadError(400, 'request line not ended by CRLF');
  let i = pos;
  while (i < nl && TCHAR[buf[i]!]) i++;
  if (i === pos || buf[i] !== SP) throw new HeadError(400, 'malformed method');
  const method = latin1(buf, pos, i);
  const t0 = ++i;
  while (i < nl && TARGET[buf[i]!]) i++;
  if (i === t0) throw new HeadError(400, 'empty request target');
  if (buf[i] !== SP) {
    if (i === nl - 1) throw new HeadError(400, 'request line without an HTTP version (HTTP/0.9 is not served)');
    throw new HeadError(400, 'a control byte or a space in the request target');
  }
  if (i - t0 > limits.limitRequestLine) throw new HeadError(414, `request target of ${i - t0} bytes (limit ${limits.limitRequestLine})`);
  const url = latin1(buf, t0, i);
  i++;
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (§2.3).
  if (nl - 1 - i !== 8 || buf[i] !== 72 || buf[i + 1] !== 84 || buf[i + 2] !== 84 || buf[i + 3] !== 80 || buf[i + 4] !== 47 || buf[i + 6] !== 46) {
    throw new HeadError(400, 'malformed HTTP version');
  }
  const major = buf[i + 5]! - 48;
  const minor = buf[i + 7]! - 48;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) throw new HeadError(400, 'malformed HTTP version');
  if (major !== 1 || minor > 1) throw new HeadError(505, `unsupported protocol HTTP/${major}.${minor}`);
  const c0 = url.charCodeAt(0);
  // Origin-form, absolute-form (http: or https:), or `*` for OPTIONS (§3.2). CONNECT's
  // authority-form is for proxies, which this is not.
  if (c0 !== 47 && !(url === '*' && method === 'OPTIONS') && !/^https?:\/\//i.test(url)) {
    throw new HeadError(400, 'request target is not a path (origin-form) or an absolute URI');
  }
  // --- fields: name ":" OWS value OWS CRLF, until an empty line
  const rawHeaders: string[] = [];
  pos = nl + 1;
  for (;;) {
    if (pos >= len) {
      if (len > headLimit) throw new HeadError(431, `request head larger than ${limits.maxHeaderSize} bytes`);
      return null;
    }
    const e = lineEnd(buf, pos, len);
    if (e === -1) {
      if (len > headLimit) throw new HeadError(431, `request head larger than ${limits.maxHeaderSize} bytes`);
      // A CR must be followed by LF: reject `\r\rX` now rather than wait for a LF that may come later.
      const cr = buf.indexOf(CR, pos);
      if (cr !== -1 && cr + 1 < len) throw new HeadError(400, 'a CR not followed by LF in the head');
      return null;
    }
    if (e + 1 > headLimit) throw new HeadError(431, `request head larger than ${limits.maxHeaderSize} bytes`);
    if (e === pos || buf[e - 1] !== CR) throw new HeadError(400, 'header line not ended by CRLF');
    const lineStop = e - 1; // the CR
    if (lineStop === pos) {
      // The empty line: the head is complete.
      return { method, url, httpVersion: minor === 1 ? '1.1' : '1.0', versionMinor: minor as 0 | 1, rawHeaders, end: e + 1 };
    }
    const first = buf[pos]!;
    if (first === SP || first === HTAB) throw new HeadError(400, 'obsolete line folding (obs-fold) in the head');
    let j = pos;
    while (j < lineStop && TCHAR[buf[j]!]) j++;
    if (j === pos) throw new HeadError(400, 'malformed header field name');
    if (buf[j] !== COLON) {
      throw new HeadError(400, buf[j] === SP || buf[j] === HTAB ? 'whitespace between a header field name and its colon' : 'malformed header field name');
    }
    const name = latin1(buf, pos, j);
    let v0 = j + 1;
    while (v0 < lineStop && (buf[v0] === SP || buf[v0] === HTAB)) v0++;
    let v1 = lineStop;
    while (v1 > v0 && (buf[v1 - 1] === SP || buf[v1 - 1] === HTAB)) v1--;
    for (let k = v0; k < v1; k++) {
      if (!VALUE[buf[k]!]) throw new HeadError(400, `a control byte (0x${buf[k]!.toString(16).padStart(2, '0')}) in the value of ${name}`);
    }
    if (rawHeaders.length >= 2 * limits.limitRequestFields) throw new HeadError(431, `more than ${limits.limitRequestFields} header fields`);
    rawHeaders.push(name, latin1(buf, v0, v1));
    pos = e + 1;
  }
}
