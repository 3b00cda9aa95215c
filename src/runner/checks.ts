// Checks on what an application hands to startResponse (PEP 3333 R37–R42, wsgiref B4).
// They run when startResponse is called, so the application can still catch the error and answer
// differently (R42). Errors are thrown as the errors wsgiref raises, by name, with its messages where
// it has them, so ported tests and habits carry over; each also carries a catalogue code (src/errors.ts)
// saying which part of the contract was broken.
import { TsgiError, type ErrorCode } from '../errors.js';
import { HOP_BY_HOP } from '../protocol/hop.js';
import { noContentRule } from '../protocol/bodyless.js';

// isToken lives in the pure layer (src/protocol/names.ts), where the environ builders use it too.
import { isToken } from '../protocol/names.js';

export { isToken };

/** wsgiref's ValueError: a value the application gave is malformed. */
export class ValueError extends TsgiError {
  override name = 'ValueError';
  constructor(message: string, code: ErrorCode = 'TSGI_ERR_APP_CONTRACT') {
    super(code, message);
  }
}

/** wsgiref's AssertionError: the application broke a rule of the contract. */
export class AssertionError extends TsgiError {
  override name = 'AssertionError';
  constructor(message: string, code: ErrorCode = 'TSGI_ERR_APP_CONTRACT') {
    super(code, message);
  }
}

/** Whether a header name is hop-by-hop (src/protocol/hop.ts holds the one list). */
export { isHopByHop as isHopByHopName } from '../protocol/hop.js';

/** A field value: latin-1, no control characters except HTAB (no CR, LF, NUL, DEL). */
export function badValueChar(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return i;
  }
  return -1;
}

/** 1 at the lengths of the names checkHeaders must look at: the hop-by-hop ones and content-length. */
const NAME_LENGTHS = new Uint8Array(32);
for (const name of [...HOP_BY_HOP, 'content-length']) NAME_LENGTHS[name.length] = 1;

const STATUS: ErrorCode = 'TSGI_ERR_APP_STATUS';
const HEADERS: ErrorCode = 'TSGI_ERR_APP_HEADERS';

/** Parses and checks a status line ('NNN Reason'); returns the code. */
export function checkStatus(status: unknown): number {
  if (typeof status !== 'string') {
    throw new AssertionError(`Status must be of type str (got ${describe(status)})`, STATUS);
  }
  if (status.length < 4) throw new AssertionError('Status must be at least 4 characters', STATUS);
  const c0 = status.charCodeAt(0) - 48;
  const c1 = status.charCodeAt(1) - 48;
  const c2 = status.charCodeAt(2) - 48;
  if (c0 < 1 || c0 > 9 || c1 < 0 || c1 > 9 || c2 < 0 || c2 > 9) {
    throw new AssertionError('Status message must begin w/3-digit code', STATUS);
  }
  if (status.charCodeAt(3) !== 32) throw new AssertionError('Status message must have a space after code', STATUS);
  for (let i = 4; i < status.length; i++) {
    const c = status.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new ValueError('Control characters are not allowed in status', STATUS);
    if (c > 0xff) throw new ValueError(`Status must be latin-1 (got U+${c.toString(16).toUpperCase().padStart(4, '0')})`, STATUS);
  }
  const code = c0 * 100 + c1 * 10 + c2;
  // An interim (1xx) status cannot end a response: the client would wait for the final one forever.
  if (code < 200) throw new AssertionError(`Status ${code} is interim (1xx); a response needs a final status, 200-599`, STATUS);
  return code;
}

// The pairs at the first positions of the last lists that passed every check which does not depend on
// the status (name a token, value latin-1 without controls, not hop-by-hop, not Content-Length): an
// application sends the same names and mostly the same values in the same order on every response, and
// a pair equal to the one that passed at its position needs no second look. Strings compare by content,
// so an equal pair is the same input the checks passed.
const MEMO = 8;
const memoNames: string[] = new Array<string>(MEMO).fill('');
const memoValues: string[] = new Array<string>(MEMO).fill('');

/**
 * Checks the header list and returns the declared Content-Length (or -1 when there is none).
 * Throws on the first bad header, naming it.
 */
export function checkHeaders(headers: unknown, code = 200): number {
  if (!Array.isArray(headers)) {
    throw new TypeError(`Headers must be a list of [name, value] pairs (got ${describe(headers)})`);
  }
  let length = -1;
  for (let i = 0; i < headers.length; i++) {
    const pair: unknown = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError(`Header ${i} must be a [name, value] pair (got ${describe(pair)})`);
    }
    const name: unknown = pair[0];
    const value: unknown = pair[1];
    if (typeof name !== 'string') throw new AssertionError(`Header name must be of type str (got ${describe(name)})`, HEADERS);
    if (typeof value !== 'string') {
      throw new AssertionError(`Header value must be of type str (got ${describe(value)}) for ${name}`, HEADERS);
    }
    if (i < MEMO && memoNames[i] === name && memoValues[i] === value) continue;
    if (!isToken(name)) throw new ValueError(`Invalid header name ${JSON.stringify(name)}: must be an RFC 9110 token`, HEADERS);
    const bad = badValueChar(value);
    if (bad !== -1) {
      const code = value.charCodeAt(bad);
      throw new ValueError(
        code > 0xff
          ? `Header value of ${name} must be latin-1 (U+${code.toString(16).toUpperCase().padStart(4, '0')} at ${bad})`
          : `Control characters not allowed in headers (${name}: 0x${code.toString(16).padStart(2, '0')} at ${bad})`,
        HEADERS,
      );
    }
    const n = name.length;
    // Only names of these lengths can be hop-by-hop or Content-Length; skip the lowercase otherwise.
    if (n < NAME_LENGTHS.length && NAME_LENGTHS[n] === 1) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) throw new AssertionError(`Hop-by-hop header, '${name}: ${value}', not allowed`, HEADERS);
      if (lower === 'content-length') {
        if (!/^[0-9]{1,15}$/.test(value)) throw new ValueError(`Invalid Content-Length ${JSON.stringify(value)}`, HEADERS);
        // RFC 9110 §8.6: no Content-Length on 204 (nor 1xx, refused by checkStatus); 304 may have one.
        if (noContentRule(code)?.contentLength === 'forbidden') {
          throw new AssertionError(`Content-Length is not allowed with status ${code}`, HEADERS);
        }
        const v = Number(value);
        if (length !== -1 && length !== v) throw new ValueError('Conflicting Content-Length headers', HEADERS);
        length = v;
        continue;
      }
    }
    if (i < MEMO) {
      memoNames[i] = name;
      memoValues[i] = value;
    }
  }
  return length;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return Array.isArray(v) ? 'array' : (v.constructor?.name ?? 'object');
  return `${typeof v} ${String(v)}`;
}
