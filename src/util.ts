// wsgiref.util for TypeScript: URL reconstruction, path shifting, test defaults, hop-by-hop
// names and FileWrapper, plus the Python string helpers they need (latin-1, quote).
// It follows CPython's Lib/wsgiref/util.py behaviour for behaviour, quirks included, because
// code and tests ported from Python rely on them. It runs on any runtime: no `node:*` imports.
//
// "Present" in an environ means an own property whose value is not `undefined` (JavaScript's
// "absent"); `null` stands for Python's None, so `{ HTTP_HOST: null }` is present but falsy,
// exactly like `{'HTTP_HOST': None}` in wsgiref's tests.
import { WSGI_VERSION } from './spec.js';
import type { Bytes, Environ, ErrorStream, FileLike, InputStream } from './spec.js';

// Python's ValueError and AssertionError, shared with the engine so `instanceof` holds across both.
export { AssertionError, ValueError } from './runner/checks.js';

// An environ, or a plain object standing in for one (as wsgiref's functions take any dict).
type EnvironLike = Environ | Record<string, unknown>;

/** Either kind as the plain object it is, for keys named at run time. */
function record(environ: EnvironLike): Record<string, unknown> {
  return environ as Record<string, unknown>;
}

/** `environ.get(key)`: own properties only, so `constructor` and friends never leak in. */
function lookup(environ: EnvironLike, key: string): unknown {
  return Object.hasOwn(environ, key) ? record(environ)[key] : undefined;
}

/** `environ[key]` where wsgiref would raise KeyError (missing) or TypeError (not a str). */
function required(environ: EnvironLike, key: string): string {
  const v = lookup(environ, key);
  if (typeof v !== 'string') {
    throw new TypeError(v === undefined ? `environ has no '${key}'` : `environ['${key}'] must be a string`);
  }
  return v;
}

/** A value as wsgiref's string checks see it: only non-empty strings are truthy text. */
function strOf(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

// --- latin-1 ----------------------------------------------------------------------------------

/**
 * Encodes a native string to its bytes (ISO-8859-1). Throws a TypeError naming the first char
 * above U+00FF, as Python's `str.encode('latin-1')` raises; Buffer's 'latin1' would silently
 * keep only the low byte, which turns `Ā` into `\x00` on the wire.
 */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw notLatin1(text, i);
    out[i] = c;
  }
  return out;
}

function notLatin1(text: string, i: number): TypeError {
  const c = text.charCodeAt(i);
  const hex = c.toString(16).toUpperCase().padStart(4, '0');
  return new TypeError(
    `'latin-1' codec can't encode character ${JSON.stringify(text[i])} (U+${hex}) in position ${i}: ` +
      'native strings hold one byte per character (U+0000 to U+00FF)',
  );
}

/** Decodes bytes as ISO-8859-1: byte n becomes U+00nn. (TextDecoder's 'latin1' is windows-1252.) */
export function fromLatin1(bytes: Uint8Array): string {
  let s = '';
  // fromCharCode takes its arguments on the stack, so go in slices.
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

/**
 * The text a native string stands for when its bytes are UTF-8 (`s.encode('latin-1').decode('utf-8')`),
 * e.g. `utf8FromNative(environ.PATH_INFO)`. Invalid sequences become U+FFFD unless `fatal`.
 */
export function utf8FromNative(s: string, fatal = false): string {
  return new TextDecoder('utf-8', { fatal }).decode(latin1(s));
}

// --- urllib.parse.quote / unquote ---------------------------------------------------------------

/** Never quoted by urllib.parse.quote (RFC 3986 unreserved). */
const ALWAYS_SAFE = /[A-Za-z0-9_.\-~]/;

/**
 * Python's `urllib.parse.quote(s, safe, encoding='latin1')`, as wsgiref calls it (U3). Unlike
 * encodeURIComponent: one `%XX` per latin-1 byte (so `ä` → `%E4`, not `%C3%A4`), upper-case hex,
 * `/` safe by default, and a char above U+00FF throws. Non-ASCII chars in `safe` are ignored,
 * as Python encodes `safe` to ASCII dropping the rest.
 */
export function quote(s: string, safe = '/'): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    if (c > 0xff) throw notLatin1(s, i);
    if (c < 0x80 && (ALWAYS_SAFE.test(ch) || safe.includes(ch))) out += ch;
    else out += '%' + c.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * Percent-decoding into a native string: `%XX` (either case) becomes U+00XX, anything else —
 * a lone `%`, `%G1`, `+`, non-ASCII — stays as it is. This is how a server turns the request
 * target into PATH_INFO (`unquote(path, 'latin1')`); `+` is not a space in a path.
 */
export function unquoteToLatin1(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

// --- URLs -----------------------------------------------------------------------------------------

/** `'https'` iff `environ.HTTPS` is exactly `'yes'`, `'on'` or `'1'` (case-sensitive, as wsgiref). */
export function guessScheme(environ: EnvironLike): 'http' | 'https' {
  const https = lookup(environ, 'HTTPS');
  return https === 'yes' || https === 'on' || https === '1' ? 'https' : 'http';
}

/**
 * The application's base URI: scheme, host, and the quoted SCRIPT_NAME (no PATH_INFO, no query).
 * HTTP_HOST is used verbatim when set; otherwise SERVER_NAME plus SERVER_PORT unless it is the
 * scheme's default. Throws a TypeError when a key wsgiref indexes directly is missing.
 */
export function applicationUri(environ: EnvironLike): string {
  const scheme = required(environ, 'wsgi.url_scheme');
  let url = scheme + '://';
  const host = strOf(lookup(environ, 'HTTP_HOST'));
  if (host) {
    url += host;
  } else {
    url += required(environ, 'SERVER_NAME');
    const port = required(environ, 'SERVER_PORT');
    // Only 'https' gets 443 as its default; every other scheme is compared with 80.
    if (port !== (scheme === 'https' ? '443' : '80')) url += ':' + port;
  }
  return url + quote(strOf(lookup(environ, 'SCRIPT_NAME')) || '/');
}

/**
 * The full request URI. Quirks kept from wsgiref (U4): PATH_INFO keeps `;`, `=` and `,` but
 * SCRIPT_NAME does not; with an empty SCRIPT_NAME the first char of PATH_INFO is dropped (it
 * duplicates the `/` applicationUri ends with); QUERY_STRING is appended unquoted.
 */
export function requestUri(environ: EnvironLike, includeQuery = true): string {
  let url = applicationUri(environ);
  const pathInfo = quote(strOf(lookup(environ, 'PATH_INFO')), '/;=,');
  url += strOf(lookup(environ, 'SCRIPT_NAME')) ? pathInfo : pathInfo.slice(1);
  const query = strOf(lookup(environ, 'QUERY_STRING'));
  if (includeQuery && query) url += '?' + query;
  return url;
}

// --- shift_path_info --------------------------------------------------------------------------------

/**
 * Python's `posixpath.normpath`, which shiftPathInfo depends on. Node's `path.posix.normalize`
 * differs: it turns `//x` into `/x` (POSIX lets exactly two leading slashes mean something, so
 * Python keeps them), keeps a trailing `/`, and gives '.' for '' differently.
 */
export function posixNormpath(path: string): string {
  if (path === '') return '.';
  let leading = path.startsWith('/') ? 1 : 0;
  if (leading && path.startsWith('//') && !path.startsWith('///')) leading = 2;
  const kept: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..' || (!leading && kept.length === 0) || kept[kept.length - 1] === '..') kept.push(part);
    else if (kept.length > 0) kept.pop(); // '..' at the root of an absolute path is dropped
  }
  return '/'.repeat(leading) + kept.join('/') || '.';
}

/**
 * Moves one segment from PATH_INFO to SCRIPT_NAME and returns it (U5), or returns null when
 * PATH_INFO is empty. Mutates `environ`. Kept from wsgiref: empty and '.' segments in the middle
 * are skipped but '..' is not (it is returned, and normpath resolves it in SCRIPT_NAME); a
 * PATH_INFO of '/' returns '' and leaves SCRIPT_NAME ending in '/', so '/x' and '/x/' differ;
 * a last segment of '.' returns null. A PATH_INFO not starting with '/' throws a RangeError
 * (wsgiref: IndexError).
 */
export function shiftPathInfo(environ: EnvironLike): string | null {
  const pathInfo = strOf(lookup(environ, 'PATH_INFO'));
  if (!pathInfo) return null;

  let parts = pathInfo.split('/');
  // parts[1:-1] = [p for p in parts[1:-1] if p and p != '.']: the first and last stay as they are.
  if (parts.length >= 2) {
    const middle = parts.slice(1, -1).filter((p) => p !== '' && p !== '.');
    parts = [parts[0]!, ...middle, parts[parts.length - 1]!];
  }
  if (parts.length < 2) {
    throw new RangeError(`PATH_INFO must be empty or start with '/' (got ${JSON.stringify(pathInfo)})`);
  }
  const name = parts[1]!;
  parts.splice(1, 1);

  let scriptName = posixNormpath(strOf(lookup(environ, 'SCRIPT_NAME')) + '/' + name);
  if (scriptName.endsWith('/')) scriptName = scriptName.slice(0, -1);
  if (!name && !scriptName.endsWith('/')) scriptName += '/';

  environ['SCRIPT_NAME'] = scriptName;
  environ['PATH_INFO'] = parts.join('/');
  // '/.' keeps its '.' as the (unfiltered) last segment; wsgiref reports that as "nothing shifted".
  return name === '.' ? null : name;
}

// --- setup_testing_defaults -------------------------------------------------------------------------

function setdefault(environ: EnvironLike, key: string, value: unknown): void {
  if (lookup(environ, key) === undefined) record(environ)[key] = value;
}

/**
 * Fills in what a test environ lacks, never replacing a present key, in wsgiref's order (U7).
 * Differences from wsgiref forced by spec.ts: `wsgi.run_once`, `wsgi.multithread` and
 * `wsgi.multiprocess` default to `false` (wsgiref: 0), `wsgi.input` is an empty BytesInput,
 * `wsgi.errors` a StringErrors. Like wsgiref it sets no QUERY_STRING, CONTENT_TYPE,
 * CONTENT_LENGTH or wsgi.file_wrapper, and no SERVER_PORT for a scheme other than http/https.
 */
export function setupTestingDefaults<T extends EnvironLike>(environ: T): asserts environ is T & Environ {
  const env = record(environ);
  setdefault(env, 'SERVER_NAME', '127.0.0.1');
  setdefault(env, 'SERVER_PROTOCOL', 'HTTP/1.0');
  setdefault(env, 'HTTP_HOST', env['SERVER_NAME']); // no port, as in wsgiref
  setdefault(env, 'REQUEST_METHOD', 'GET');
  // Only when both are missing: a given SCRIPT_NAME alone leaves PATH_INFO unset, and vice versa.
  if (lookup(env, 'SCRIPT_NAME') === undefined && lookup(env, 'PATH_INFO') === undefined) {
    env['SCRIPT_NAME'] = '';
    env['PATH_INFO'] = '/';
  }
  setdefault(env, 'wsgi.version', WSGI_VERSION);
  setdefault(env, 'wsgi.run_once', false);
  setdefault(env, 'wsgi.multithread', false);
  setdefault(env, 'wsgi.multiprocess', false);
  setdefault(env, 'wsgi.input', new BytesInput());
  setdefault(env, 'wsgi.errors', new StringErrors());
  setdefault(env, 'wsgi.url_scheme', guessScheme(env));
  const scheme = env['wsgi.url_scheme'];
  if (scheme === 'http') setdefault(env, 'SERVER_PORT', '80');
  else if (scheme === 'https') setdefault(env, 'SERVER_PORT', '443');
}

// --- hop-by-hop ------------------------------------------------------------------------------------

// RFC 2616 §13.5.1, spelled as wsgiref spells it (`trailers` is listed, `trailer` is not), from the one
// list the runner and validate() use too. An application must not send these (PEP 3333).
export { isHopByHop } from './protocol/hop.js';

// --- formatDateTime ---------------------------------------------------------------------------------

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * An HTTP date (RFC 7231 IMF-fixdate) for seconds since the epoch, as wsgiref's
 * `format_date_time`: `Mon, 05 Jun 2006 18:49:54 GMT`. Fractions of a second are floored.
 */
export function formatDateTime(epochSeconds: number): string {
  const d = new Date(Math.floor(epochSeconds) * 1000);
  if (Number.isNaN(d.getTime())) throw new RangeError(`Invalid timestamp: ${epochSeconds}`);
  // Python formats the year with %4d (space-padded), not toUTCString's zero padding.
  const year = String(d.getUTCFullYear()).padStart(4, ' ');
  return (
    `${DAYS[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${year} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} GMT`
  );
}

// --- in-memory streams --------------------------------------------------------------------------------

const NL = 0x0a;

/** Python requires an int size; a fractional or NaN size is a bug in the caller. */
function sizeArg(size: number | null | undefined, what: string): number {
  if (size === undefined || size === null) return -1;
  if (!Number.isInteger(size)) throw new TypeError(`${what} must be an integer (got ${size})`);
  return size;
}

/**
 * `wsgi.input` over bytes in memory (Python's BytesIO as setupTestingDefaults uses it). Every
 * read returns a fresh copy, so a caller may keep or change what it gets.
 */
export class BytesInput implements InputStream {
  private pos = 0;

  constructor(private readonly data: Uint8Array = new Uint8Array(0)) {}

  /** Up to `size` bytes; all that is left when `size` is omitted, null or negative. */
  async read(size?: number | null): Promise<Bytes> {
    const n = sizeArg(size, 'read() size');
    const end = n < 0 ? this.data.length : Math.min(this.data.length, this.pos + n);
    return this.take(end);
  }

  /** One line including its `\n` (the last may lack it), at most `size` bytes; empty at the end. */
  async readline(size?: number | null): Promise<Bytes> {
    return this.takeLine(sizeArg(size, 'readline() size'));
  }

  /** The remaining lines; stops after the line that brings the total to `hint` bytes, if `hint` > 0. */
  async readlines(hint?: number | null): Promise<Bytes[]> {
    const limit = sizeArg(hint, 'readlines() hint');
    const lines: Bytes[] = [];
    let total = 0;
    for (let line = this.takeLine(-1); line.length > 0; line = this.takeLine(-1)) {
      lines.push(line);
      total += line.length;
      if (limit > 0 && total >= limit) break;
    }
    return lines;
  }

  /** Lines, as iterating a Python file yields them. */
  async *[Symbol.asyncIterator](): AsyncIterator<Bytes> {
    for (let line = this.takeLine(-1); line.length > 0; line = this.takeLine(-1)) yield line;
  }

  private takeLine(max: number): Bytes {
    const nl = this.data.indexOf(NL, this.pos);
    let end = nl === -1 ? this.data.length : nl + 1;
    if (max >= 0) end = Math.min(end, this.pos + max);
    return this.take(end);
  }

  private take(end: number): Bytes {
    const chunk = this.data.slice(this.pos, end);
    this.pos = Math.max(this.pos, end);
    return chunk;
  }
}

/** `wsgi.errors` collected in memory (Python's StringIO), for tests: read it back with getvalue(). */
export class StringErrors implements ErrorStream {
  private parts: string[] = [];

  write(text: string): void {
    // StringIO.write refuses non-str; silently writing "[object Object]" would hide the bug.
    if (typeof text !== 'string') throw new TypeError(`string argument expected, got ${typeof text}`);
    this.parts.push(text);
  }

  writelines(lines: Iterable<string>): void {
    for (const line of lines) this.write(line);
  }

  flush(): void {}

  /** Everything written so far. */
  getvalue(): string {
    return this.parts.join('');
  }
}

// --- FileWrapper ----------------------------------------------------------------------------------------

/** What `FileWrapper(filelike, blockSize)` returns: the file as a body of `blockSize` reads. */
export interface FileWrapper extends Iterator<Uint8Array>, Iterable<Uint8Array>, AsyncIterable<Uint8Array> {
  readonly filelike: FileLike;
  /** Bytes asked of each `filelike.read()` (wsgiref's name). */
  blksize: number;
  /** Alias of `blksize`. */
  blockSize: number;
  /** Closes the file (if it has `close`); iteration alone never does. */
  close(): void | Promise<void>;
}

/** FileWrapper is both a constructor and a plain function, as Python classes are callables. */
export interface FileWrapperConstructor {
  new (filelike: FileLike, blockSize?: number): FileWrapper;
  (filelike: FileLike, blockSize?: number): FileWrapper;
  readonly prototype: FileWrapper;
}

class FileWrapperImpl implements FileWrapper {
  constructor(
    readonly filelike: FileLike,
    public blksize = 8192,
  ) {}

  get blockSize(): number {
    return this.blksize;
  }
  set blockSize(n: number) {
    this.blksize = n;
  }

  // wsgiref binds `self.close = filelike.close` only when it exists; here close() always exists
  // (the Body type makes it optional anyway) and does nothing for a file without close().
  close(): void | Promise<void> {
    if (typeof this.filelike.close === 'function') return this.filelike.close();
  }

  // As in wsgiref, the wrapper is its own iterator (`iter(w) is w`) and stops, without closing
  // the file, at the first empty read.
  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<Uint8Array> {
    const data = this.filelike.read(this.blksize);
    if (isThenable(data)) {
      throw new TypeError('filelike.read() returned a Promise: iterate this FileWrapper with for await');
    }
    return isEmpty(data) ? { done: true, value: undefined } : { done: false, value: data };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const data = await this.filelike.read(this.blksize);
      if (isEmpty(data)) return;
      yield data;
    }
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** Python's `if data:` on a read result: empty bytes (or None) ends the file. */
function isEmpty(data: Uint8Array | null | undefined): boolean {
  return data === null || data === undefined || data.length === 0;
}

/**
 * `wsgi.file_wrapper` (U9, T12): `FileWrapper(file)` and `new FileWrapper(file)` both work, since
 * applications call what they find in the environ, and `x instanceof FileWrapper` tells a server
 * it may send the file its own way (e.g. from `filelike.fd`).
 */
export const FileWrapper = function FileWrapper(filelike: FileLike, blockSize?: number): FileWrapper {
  // An object returned from a function called with `new` replaces `this`, so both forms agree.
  return new FileWrapperImpl(filelike, blockSize);
} as FileWrapperConstructor;
(FileWrapper as { prototype: unknown }).prototype = FileWrapperImpl.prototype;
// String(environ['wsgi.file_wrapper']) is what an environ dump prints (the seed app does, on every
// request): Function.prototype.toString would print this function's whole source; say what
// console.log says of it instead, as Python prints <class '...FileWrapper'>.
Object.defineProperty(FileWrapper, 'toString', { value: () => '[Function: FileWrapper]' });
