/**
 * `Response`: Werkzeug's response object for TSGI. Build it (status, headers, body, cookies), hand it
 * back from a `handler()`, or serve it yourself: a Response is itself a TSGI application,
 * `response(environ, startResponse)`, so it can be returned from any code that expects one.
 *
 * Callable, not just `.asApp()`: the constructor returns a function whose prototype is the class's, so
 * `instanceof Response` and every method work on it, and `typeof response === 'function'`, which is what
 * servers and `validate()` check. (`asApp()` exists too, for code that wants a plain arrow function.)
 * Exceptions could not do this (they must stay real `Error`s); a response has no such constraint.
 *
 * Conditional requests and ranges: `makeConditional()` (and every `Response.file()`) answers
 * `If-None-Match`/`If-Modified-Since` with 304, `If-Match`/`If-Unmodified-Since` with 412, and a single
 * byte `Range` with 206 or 416, by the rules `staticFiles()` uses (./conditional.ts), evaluated against
 * the environ the response is served for.
 * @module
 */
import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Headers } from '../headers.js';
import { contentType as contentTypeFor, FileRange } from '../middleware/static.js';
import type { Body, Chunk, Environ, FileWrapperFactory, HeaderList, StartResponse, Status } from '../spec.js';
import { FileWrapper, formatDateTime } from '../util.js';
import { evaluatePreconditions, parseHttpDate, selectRange, statEtag, type Validators } from '../protocol/conditional.js';
import { reasonPhrase } from '../protocol/status.js';
import { serializeCookie, type CookieOptions } from './cookies.js';

/** What a Response can send: text (UTF-8), bytes, or chunks produced by an iterable or async iterable. */
export type ResponseBody = string | Uint8Array | Iterable<Chunk> | AsyncIterable<Chunk> | null;

export interface ResponseInit {
  /** A number (`404`, the reason phrase is added) or a whole status line (`'404 No Such User'`). @default 200 */
  status?: number | string;
  /** Headers as pairs (repeats allowed) or an object. */
  headers?: HeaderList | Record<string, string>;
  /** The Content-Type. @default 'text/plain; charset=utf-8' when there is a body */
  contentType?: string;
}

export interface FileResponseInit extends Omit<ResponseInit, 'status'> {
  /**
   * Send it as a download: `true` uses the file's own name, a string another name. Sets
   * `Content-Disposition: attachment` with an RFC 8187 `filename*` for non-ASCII names.
   */
  download?: boolean | string;
  /** Bytes per read when the server iterates the file. @default 65536 */
  blockSize?: number;
}

/** The status line for a number or a string ('404' or '404 Not Found'). */
export function statusLine(status: number | string): Status {
  if (typeof status === 'number') {
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status code ${status}`);
    return `${status} ${reasonPhrase(status)}`;
  }
  if (/^\d{3}$/.test(status)) return statusLine(Number(status));
  if (!/^[1-9]\d\d [^\x00-\x1f\x7f]*$/.test(status)) throw new RangeError(`invalid status line ${JSON.stringify(status)}: want 'NNN Reason'`);
  return status as Status;
}

/** Headers that describe the content and must not go out with a 304 (Werkzeug's list, Last-Modified kept as static files do). */
const ENTITY_HEADERS = new Set(['allow', 'content-encoding', 'content-language', 'content-length', 'content-md5', 'content-range', 'content-type']);

class FileSource {
  constructor(
    readonly file: string,
    readonly size: number,
    readonly mtimeMs: number,
    readonly blockSize: number,
  ) {}
}

/** A Response can be called as a TSGI application. */
export interface Response {
  (environ: Environ, startResponse: StartResponse): Body | Promise<Body>;
}

export class Response {
  /** The response headers (tsgi's wsgiref-style `Headers`: `get`, `set`, `getAll`, `delete`, `addHeader`). */
  declare readonly headers: Headers;
  /** The body. */
  declare body: ResponseBody;
  /** Whether serving evaluates conditional and Range headers (see `makeConditional()`). */
  declare conditional: boolean;
  declare private line: Status;
  declare private source: FileSource | null;

  constructor(body: ResponseBody = null, init: ResponseInit = {}) {
    const self = ((environ: Environ, startResponse: StartResponse) => self.respond(environ, startResponse)) as Response;
    Object.setPrototypeOf(self, new.target.prototype);
    const list: HeaderList = Array.isArray(init.headers) ? init.headers.map(([k, v]): [string, string] => [k, v]) : Object.entries(init.headers ?? {});
    Object.defineProperty(self, 'headers', { value: new Headers(list), enumerable: true });
    self.body = body;
    self.conditional = false;
    self.source = null;
    self.status = init.status ?? 200;
    if (init.contentType !== undefined) self.headers.set('Content-Type', init.contentType);
    else if (body !== null && !self.headers.has('Content-Type') && !noBody(self.statusCode)) {
      self.headers.set('Content-Type', 'text/plain; charset=utf-8');
    }
    return self;
  }

  /** The status line, e.g. `'200 OK'`. Set a number or a line. */
  get status(): Status {
    return this.line;
  }
  set status(value: number | string) {
    this.line = statusLine(value);
  }

  /** The status code, e.g. 200. */
  get statusCode(): number {
    return Number(this.line.slice(0, 3));
  }

  // --- constructors for common responses ---------------------------------------------------------

  /** A JSON response: `JSON.stringify(data)` as `application/json`. */
  static json(data: unknown, init: ResponseInit = {}): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json(): the value cannot be serialized to JSON');
    return new this(text, { contentType: 'application/json', ...init });
  }

  /**
   * A redirect (302 Found by default; 301, 303, 307, 308 as asked) to `location`, which may be relative.
   * Characters that cannot appear in a header (non-ASCII, spaces) are percent-encoded as UTF-8.
   */
  static redirect(location: string, status: 301 | 302 | 303 | 307 | 308 = 302): Response {
    const encoded = location.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
    const escaped = encoded.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const html =
      `<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n` +
      `<p>You should be redirected automatically to the target URL: <a href="${escaped}">${escaped}</a>. If not, click the link.\n`;
    return new this(html, { status, headers: [['Location', encoded]], contentType: 'text/html; charset=utf-8' });
  }

  /**
   * A file from disk, with its Content-Type (by extension), Content-Length, an ETag from size and
   * modification time, Last-Modified, and conditional and Range handling. The file is looked at now
   * (it must exist) and opened when the response is served, through `wsgi.file_wrapper`.
   */
  static async file(file: string, init: FileResponseInit = {}): Promise<Response> {
    const s = await stat(file);
    if (!s.isFile()) throw new TypeError(`Response.file(): ${file} is not a file`);
    const response = new this(null, { headers: init.headers, contentType: init.contentType ?? contentTypeFor(file) });
    response.source = new FileSource(file, s.size, s.mtimeMs, init.blockSize ?? 65536);
    response.headers.set('Content-Length', String(s.size));
    response.headers.set('ETag', statEtag(s.size, s.mtimeMs));
    response.headers.set('Last-Modified', formatDateTime(s.mtimeMs / 1000));
    if (init.download) {
      response.headers.set('Content-Disposition', contentDisposition(typeof init.download === 'string' ? init.download : path.basename(file)));
    }
    response.conditional = true;
    return response;
  }

  // --- cookies and validators --------------------------------------------------------------------

  /** Adds a `Set-Cookie` header (see CookieOptions: path defaults to `/`). */
  setCookie(name: string, value: string, options: CookieOptions = {}): this {
    this.headers.addHeader('Set-Cookie', serializeCookie(name, value, options));
    return this;
  }

  /**
   * Tells the client to drop a cookie: an empty value that expired in 1970. Give the same path and
   * domain it was set with, or the browser keeps it.
   */
  deleteCookie(name: string, options: Omit<CookieOptions, 'maxAge' | 'expires'> = {}): this {
    return this.setCookie(name, '', { ...options, maxAge: 0, expires: new Date(0) });
  }

  /** Sets the ETag (quoted for you when it is not; `weak` adds `W/`). */
  setEtag(etag: string, weak = false): this {
    const quoted = etag.startsWith('"') || etag.startsWith('W/"') ? etag : `"${etag}"`;
    this.headers.set('ETag', weak && !quoted.startsWith('W/') ? `W/${quoted}` : quoted);
    return this;
  }

  /** Sets a strong ETag from a SHA-256 of the body (a string or bytes body only). */
  addEtag(): this {
    const bytes = bodyBytes(this.body);
    if (bytes === null) throw new TypeError('addEtag(): only a string or Uint8Array body can be hashed');
    return this.setEtag(createHash('sha256').update(bytes).digest('base64url').slice(0, 27));
  }

  /** Sets Last-Modified (a Date or milliseconds since the epoch). */
  setLastModified(when: Date | number): this {
    this.headers.set('Last-Modified', formatDateTime((typeof when === 'number' ? when : when.getTime()) / 1000));
    return this;
  }

  /**
   * Makes serving answer conditional requests against the ETag and Last-Modified headers (set them
   * first): 304, 412, and for a string or bytes body a 206 or 416 for `Range`. Returns the response.
   */
  makeConditional(): this {
    this.conditional = true;
    return this;
  }

  // --- serving -----------------------------------------------------------------------------------

  /** This response as a plain TSGI application (the response itself is one too). */
  asApp(): (environ: Environ, startResponse: StartResponse) => Body | Promise<Body> {
    return (environ, startResponse) => this.respond(environ, startResponse);
  }

  private validators(): Validators {
    const etag = this.headers.get('ETag');
    const lastModified = this.headers.get('Last-Modified');
    const seconds = lastModified === null ? NaN : parseHttpDate(lastModified);
    return { etag, lastModified: Number.isNaN(seconds) ? null : seconds };
  }

  private respond(environ: Environ, startResponse: StartResponse): Body | Promise<Body> {
    if (this.source !== null) return this.respondFile(environ, startResponse, this.source);
    const headers = new Headers(this.headers.items());
    const code = this.statusCode;
    let status = this.line;
    const bytes = bodyBytes(this.body);
    let out: Body = bytes !== null ? [bytes] : this.body === null ? [] : (this.body as Body);
    if (noBody(code)) headers.delete('Content-Type');
    if (this.conditional && code >= 200 && code < 300) {
      const v = this.validators();
      const outcome = evaluatePreconditions(environ, v);
      if (outcome !== 'proceed') {
        dropBody(out);
        const [s, h] = outcome === 'failed' ? failed(headers) : notModified(headers);
        startResponse(s, h);
        return [];
      }
      if (bytes !== null && code === 200) {
        headers.set('Accept-Ranges', 'bytes');
        const range = selectRange(environ, bytes.length, v);
        if (range === 'unsatisfiable') {
          startResponse(...unsatisfiable(headers, bytes.length));
          return [];
        }
        if (range !== null) {
          status = '206 Partial Content';
          headers.set('Content-Range', `bytes ${range[0]}-${range[1]}/${bytes.length}`);
          out = [bytes.subarray(range[0], range[1] + 1)];
        }
      }
    }
    if (bytes !== null && !noBody(code)) headers.set('Content-Length', String((out as Uint8Array[])[0]!.length));
    startResponse(status, headers.list);
    return out;
  }

  private async respondFile(environ: Environ, startResponse: StartResponse, f: FileSource): Promise<Body> {
    const headers = new Headers(this.headers.items());
    const v = this.validators();
    const outcome = evaluatePreconditions(environ, v);
    if (outcome !== 'proceed') {
      const [s, h] = outcome === 'failed' ? failed(headers) : notModified(headers);
      startResponse(s, h);
      return [];
    }
    headers.set('Accept-Ranges', 'bytes');
    let status = this.line;
    let [offset, length] = [0, f.size];
    if (this.statusCode === 200) {
      const range = selectRange(environ, f.size, v);
      if (range === 'unsatisfiable') {
        startResponse(...unsatisfiable(headers, f.size));
        return [];
      }
      if (range !== null) {
        status = '206 Partial Content';
        [offset, length] = [range[0], range[1] - range[0] + 1];
        headers.set('Content-Range', `bytes ${range[0]}-${range[1]}/${f.size}`);
        headers.set('Content-Length', String(length));
      }
    }
    if (environ.REQUEST_METHOD === 'HEAD' || length === 0) {
      startResponse(status, headers.list);
      return [];
    }
    // Opened before startResponse, so a file that vanished is the application's error, answered 500.
    const handle: FileHandle = await open(f.file, 'r');
    startResponse(status, headers.list);
    const wrap = (typeof environ['wsgi.file_wrapper'] === 'function' ? environ['wsgi.file_wrapper'] : FileWrapper) as FileWrapperFactory;
    return wrap(new FileRange(handle, offset, length), f.blockSize);
  }
}

// A Response is a function: give its prototype chain Function's methods (call, apply, bind).
Object.setPrototypeOf(Response.prototype, Function.prototype);

function noBody(code: number): boolean {
  return code === 204 || code === 304 || code < 200;
}

function bodyBytes(body: ResponseBody): Uint8Array | null {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return body;
  return null;
}

/** A body we will not send still gets its close(), as a server would call it (docs/SPEC.md R7). */
function dropBody(body: Body): void {
  if (typeof body.close === 'function') void Promise.resolve(body.close()).catch(() => {});
}

function failed(headers: Headers): [Status, HeaderList] {
  const h = new Headers(headers.items().filter(([k]) => !ENTITY_HEADERS.has(k.toLowerCase())));
  h.set('Content-Length', '0');
  return ['412 Precondition Failed', h.list];
}

function notModified(headers: Headers): [Status, HeaderList] {
  return ['304 Not Modified', headers.items().filter(([k]) => !ENTITY_HEADERS.has(k.toLowerCase()))];
}

function unsatisfiable(headers: Headers, size: number): [Status, HeaderList] {
  const h = new Headers(headers.items().filter(([k]) => !ENTITY_HEADERS.has(k.toLowerCase())));
  h.set('Content-Range', `bytes */${size}`);
  h.set('Content-Length', '0');
  return ['416 Range Not Satisfiable', h.list];
}

/** `attachment; filename="ascii"` plus RFC 8187 `filename*=UTF-8''…` when the name is not plain ASCII. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  if (ascii === name) return `attachment; filename="${name}"`;
  const star = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${star}`;
}
