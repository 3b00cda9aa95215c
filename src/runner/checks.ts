// Checks on what an application hands to startResponse (PEP 3333 R37–R42, wsgiref B4).
// They run when startResponse is called, so the application can still catch the error and answer
// differently (R42). Errors are thrown as the errors wsgiref raises, by name, with its messages where
// it has them, so ported tests and habits carry over.

// isToken lives in the pure layer (src/protocol/names.ts), where the environ builders use it too.
import { isToken } from '../protocol/names.js';

export { isToken };

export class ValueError extends Error {
  override name = 'ValueError';
}

export class AssertionError extends Error {
  override name = 'AssertionError';
}

/** Hop-by-hop headers (RFC 2616 §13.5.1 as wsgiref spells them: `trailers`, not `trailer`). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

export function isHopByHopName(name: string): boolean {
  return HOP_BY_HOP.has(name.toLowerCase());
}


/** A field value: latin-1, no control characters except HTAB (no CR, LF, NUL, DEL). */
export function badValueChar(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return i;
  }
  return -1;
}

/** Parses and checks a status line ('NNN Reason'); returns the code. */
export function checkStatus(status: unknown): number {
  if (typeof status !== 'string') {
    throw new AssertionError(`Status must be of type str (got ${describe(status)})`);
  }
  if (status.length < 4) throw new AssertionError('Status must be at least 4 characters');
  const c0 = status.charCodeAt(0) - 48;
  const c1 = status.charCodeAt(1) - 48;
  const c2 = status.charCodeAt(2) - 48;
  if (c0 < 1 || c0 > 9 || c1 < 0 || c1 > 9 || c2 < 0 || c2 > 9) {
    throw new AssertionError('Status message must begin w/3-digit code');
  }
  if (status.charCodeAt(3) !== 32) throw new AssertionError('Status message must have a space after code');
  for (let i = 4; i < status.length; i++) {
    const c = status.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new ValueError('Control characters are not allowed in status');
    if (c > 0xff) throw new ValueError(`Status must be latin-1 (got U+${c.toString(16).toUpperCase().padStart(4, '0')})`);
  }
  const code = c0 * 100 + c1 * 10 + c2;
  // An interim (1xx) status cannot end a response: the client would wait for the final one forever.
  if (code < 200) throw new AssertionError(`Status ${code} is interim (1xx); a response needs a final status, 200-599`);
  return code;
}

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
    if (typeof name !== 'string') throw new AssertionError(`Header name must be of type str (got ${describe(name)})`);
    if (typeof value !== 'string') {
      throw new AssertionError(`Header value must be of type str (got ${describe(value)}) for ${name}`);
    }
    if (!isToken(name)) throw new ValueError(`Invalid header name ${JSON.stringify(name)}: must be an RFC 9110 token`);
    const bad = badValueChar(value);
    if (bad !== -1) {
      const code = value.charCodeAt(bad);
      throw new ValueError(
        code > 0xff
          ? `Header value of ${name} must be latin-1 (U+${code.toString(16).toUpperCase().padStart(4, '0')} at ${bad})`
          : `Control characters not allowed in headers (${name}: 0x${code.toString(16).padStart(2, '0')} at ${bad})`,
      );
    }
    const n = name.length;
    // Only names of these lengths can be hop-by-hop or Content-Length; skip the lowercase otherwise.
    if (n === 2 || n === 7 || n === 8 || n === 10 || n === 14 || n === 17 || n === 18 || n === 19) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) throw new AssertionError(`Hop-by-hop header, '${name}: ${value}', not allowed`);
      if (lower === 'content-length') {
        if (!/^[0-9]{1,15}$/.test(value)) throw new ValueError(`Invalid Content-Length ${JSON.stringify(value)}`);
        // RFC 9110 §8.6: no Content-Length on 204 (nor 1xx, refused above).
        if (code === 204) throw new AssertionError('Content-Length is not allowed with status 204');
        const v = Number(value);
        if (length !== -1 && length !== v) throw new ValueError('Conflicting Content-Length headers');
        length = v;
      }
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
