/**
 * Conditional requests and byte ranges (RFC 9110 §13 and §14), as pure functions over an environ: the
 * one implementation that both `staticFiles()` (src/middleware/static.ts) and `Response` use, so a file
 * served either way answers `If-None-Match`, `If-Modified-Since`, `If-Match`, `If-Unmodified-Since`,
 * `If-Range` and `Range` alike.
 * @module
 */

/** The validators of a representation: its entity tag (quoted, maybe `W/`) and its modification time in whole seconds. */
export interface Validators {
  etag: string | null;
  /** Seconds since the epoch (an HTTP date has no finer resolution), or null when unknown. */
  lastModified: number | null;
}

/** What the preconditions of a request say: go on, answer 304 Not Modified, or answer 412 Precondition Failed. */
export type Precondition = 'proceed' | 'not-modified' | 'failed';

// Any environ (the typed Environ or a plain record): only the conditional request headers are read.
type EnvironLike = object;

function header(environ: EnvironLike, key: string): string {
  const v = Object.hasOwn(environ, key) ? (environ as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : '';
}

/**
 * Whether an entity-tag list (an `If-Match`/`If-None-Match` value) holds `etag`. `*` holds any tag.
 * Weak comparison ignores `W/` (If-None-Match); strong comparison needs both tags strong (If-Match,
 * If-Range), RFC 9110 §8.8.3.2.
 */
export function etagMatches(header: string, etag: string, weak: boolean): boolean {
  if (header.trim() === '*') return true;
  const strip = (t: string) => (t.startsWith('W/') ? t.slice(2) : t);
  for (const tag of splitEtags(header)) {
    if (weak) {
      if (strip(tag) === strip(etag)) return true;
    } else if (!tag.startsWith('W/') && !etag.startsWith('W/') && tag === etag) return true;
  }
  return false;
}

/**
 * The entity tags of a list, as sent (`"a"`, `W/"b"`). A comma inside a quoted tag does not split it
 * (RFC 9110 allows any visible character but `"` in an opaque tag). An unquoted token is kept as it is,
 * as lenient servers do, so `If-None-Match: abc` still matches an ETag `abc` a sloppy app set.
 */
export function splitEtags(header: string): string[] {
  const out: string[] = [];
  const re = /\s*((?:W\/)?"[^"]*"|[^,\s]+)\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < header.length && (m = re.exec(header)) !== null) out.push(m[1]!);
  return out;
}

/** An HTTP date (any of RFC 9110's three forms, as Date.parse reads them) in whole seconds, or NaN. */
export function parseHttpDate(value: string): number {
  const t = Date.parse(value);
  return Number.isNaN(t) ? NaN : Math.floor(t / 1000);
}

/**
 * The preconditions of RFC 9110 §13.2.2 in their order: `If-Match`, else `If-Unmodified-Since`, may
 * fail the request (412); then `If-None-Match`, else `If-Modified-Since` (GET and HEAD only), may make
 * it a 304 for GET and HEAD, or a 412 for other methods. An invalid date is ignored, as the RFC says.
 */
export function evaluatePreconditions(environ: EnvironLike, v: Validators): Precondition {
  const method = header(environ, 'REQUEST_METHOD');
  const safe = method === 'GET' || method === 'HEAD';
  const ifMatch = header(environ, 'HTTP_IF_MATCH');
  const ifUnmodified = header(environ, 'HTTP_IF_UNMODIFIED_SINCE');
  if (ifMatch) {
    // `*` means "the resource exists", which it does once there are validators to compare with.
    if (ifMatch.trim() !== '*' && (v.etag === null || !etagMatches(ifMatch, v.etag, false))) return 'failed';
  } else if (ifUnmodified && v.lastModified !== null && v.lastModified > parseHttpDate(ifUnmodified)) {
    return 'failed'; // NaN compares false: an unparseable date never fails
  }
  const ifNoneMatch = header(environ, 'HTTP_IF_NONE_MATCH');
  const ifModified = header(environ, 'HTTP_IF_MODIFIED_SINCE');
  if (ifNoneMatch) {
    const star = ifNoneMatch.trim() === '*';
    if (star || (v.etag !== null && etagMatches(ifNoneMatch, v.etag, true))) return safe ? 'not-modified' : 'failed';
  } else if (safe && ifModified && v.lastModified !== null && v.lastModified <= parseHttpDate(ifModified)) {
    return 'not-modified';
  }
  return 'proceed';
}

/**
 * `If-Range` (RFC 9110 §13.1.5): the range applies only to the representation the client has, named
 * by a strong ETag or by exactly its Last-Modified date. No `If-Range` at all: it applies.
 */
export function ifRangeHolds(environ: EnvironLike, v: Validators): boolean {
  const value = header(environ, 'HTTP_IF_RANGE').trim();
  if (!value) return true;
  if (value.startsWith('"') || value.startsWith('W/')) return v.etag !== null && etagMatches(value, v.etag, false);
  return v.lastModified !== null && parseHttpDate(value) === v.lastModified;
}

/**
 * `bytes=a-b` for a representation of `size` bytes: [first, last] inclusive, 'unsatisfiable', or null
 * (ignore the header and send it all). Only one range is served: several would need
 * multipart/byteranges, and a server may always ignore Range (RFC 9110 §14.2).
 */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | null {
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return null;
  const specs = m[1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (specs.length !== 1) return null;
  const r = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!r || (r[1] === '' && r[2] === '')) return null;
  if (r[1] === '') {
    const suffix = Number(r[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(r[1]);
  const last = r[2] === '' ? Infinity : Number(r[2]);
  if (!Number.isSafeInteger(start) || last < start) return null; // last < first: invalid, ignored (RFC 9110 §14.1.1)
  if (start >= size) return 'unsatisfiable';
  return [start, Math.min(last, size - 1)];
}

/**
 * The range to send for a GET of `size` bytes: [first, last], 'unsatisfiable' (416), or null (send
 * the whole representation: no Range, not a GET, an If-Range for another version, or a Range we ignore).
 */
export function selectRange(environ: EnvironLike, size: number, v: Validators): [number, number] | 'unsatisfiable' | null {
  const range = header(environ, 'HTTP_RANGE');
  if (!range || header(environ, 'REQUEST_METHOD') !== 'GET' || !ifRangeHolds(environ, v)) return null;
  return parseRange(range, size);
}

/** A cheap strong ETag from a file's size and modification time (no read), as staticFiles' `etag: 'stat'`. */
export function statEtag(size: number, mtimeMs: number, suffix = ''): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}${suffix}"`;
}
