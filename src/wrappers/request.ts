/**
 * `Request`: Werkzeug's request object over a TSGI environ. It reads nothing until asked, parses each
 * thing once (query string, cookies, form, files), and keeps the body within the limits it was given.
 * The environ stays the source of truth: the request only stores its parsed results on itself (and
 * `Request.from()` finds it again through a WeakMap), never in the environ (docs/SPEC.md R22).
 *
 * Host and scheme are the environ's (`HTTP_HOST`, `SERVER_NAME`/`SERVER_PORT`, `wsgi.url_scheme`):
 * behind a proxy, put `proxyHeaders()` in front to restore them from headers you trust. The request
 * itself never reads `X-Forwarded-*`.
 * @module
 */
import { tmpdir } from 'node:os';
import type { Environ, EnvironRecord } from '../spec.js';
import { quote, utf8FromNative } from '../util.js';
import { BadRequest, RequestEntityTooLarge, UnsupportedMediaType } from '../exceptions/index.js';
import { Accept } from './accept.js';
import { BodyReader, MemoryReader, READ_SIZE } from './body.js';
import { parseHttpDate, parseRange, splitEtags } from '../protocol/conditional.js';
import { parseCookies } from './cookies.js';
import { TempFiles, type UploadedFile } from './files.js';
import { parseOptionsHeader, RequestHeaders } from './headers.js';
import { MultiDict } from './multidict.js';
import { boundaryOf, parseMultipart, type ParsedForm } from './multipart.js';
import { parseUrlEncoded } from './urlencoded.js';

/**
 * Limits and storage for the body. Each defaults to the static property of the same name on the
 * class (`Request.maxContentLength = 16 * 2 ** 20` sets it for every request, or in a subclass for
 * that subclass's), as Werkzeug's class attributes do. `null` means no limit.
 */
export interface RequestOptions {
  /** Bytes of body, any content type; more is a 413 (before reading, when Content-Length says so). Default null. */
  maxContentLength?: number | null;
  /** Bytes of a urlencoded body, and of each non-file field of a multipart body, held in memory. Default 500 000. */
  maxFormMemorySize?: number | null;
  /** Fields (urlencoded) or parts (multipart) in a form. Default 1000. */
  maxFormParts?: number | null;
  /** Bytes of each uploaded file. Default null. */
  maxFileSize?: number | null;
  /** An uploaded file larger than this many bytes goes to a temporary file. Default 500 KiB. */
  spoolThreshold?: number;
  /** Where temporary files go. Default `os.tmpdir()`. */
  tempDir?: string;
}

/** An `If-Match` / `If-None-Match` value: `*` or a list of entity tags. */
export class ETags {
  /** The header was `*`. */
  readonly star: boolean;
  /** The tags as sent, quotes and `W/` included. */
  readonly tags: readonly string[];

  constructor(header: string | null) {
    this.star = header?.trim() === '*';
    this.tags = header === null || this.star ? [] : splitEtags(header);
  }

  /** Whether the header was absent (or empty). */
  get empty(): boolean {
    return !this.star && this.tags.length === 0;
  }

  /** Strong comparison (If-Match): `etag` (quoted or not) is in the list as a strong tag, or the list is `*`. */
  contains(etag: string): boolean {
    if (this.star) return true;
    const e = quoteEtag(etag);
    return !e.startsWith('W/') && this.tags.some((t) => t === e);
  }

  /** Weak comparison (If-None-Match): `W/` ignored on both sides. */
  containsWeak(etag: string): boolean {
    if (this.star) return true;
    const strip = (t: string) => (t.startsWith('W/') ? t.slice(2) : t);
    const e = strip(quoteEtag(etag));
    return this.tags.some((t) => strip(t) === e);
  }
}

function quoteEtag(etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/"') ? etag : `"${etag}"`;
}

/** A `Range` request header. */
export class RangeHeader {
  constructor(readonly header: string) {}

  /** The unit (`bytes`), lower-cased, or '' when the header is malformed. */
  get unit(): string {
    return /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=/.exec(this.header)?.[1]?.toLowerCase() ?? '';
  }

  /**
   * The range to send of a representation of `size` bytes, by the rules tsgi serves ranges with (one
   * range, bytes only): [first, last] inclusive, 'unsatisfiable' (a 416), or null (send it all).
   */
  rangeFor(size: number): [number, number] | 'unsatisfiable' | null {
    return parseRange(this.header, size);
  }
}

const instances = new WeakMap<Environ, Request>();

function str(environ: Environ, key: string): string {
  const v = Object.hasOwn(environ, key) ? (environ as EnvironRecord)[key] : undefined;
  return typeof v === 'string' ? v : '';
}

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]*\+)?json$/;

export class Request {
  static maxContentLength: number | null = null;
  static maxFormMemorySize: number | null = 500_000;
  static maxFormParts: number | null = 1000;
  static maxFileSize: number | null = null;
  static spoolThreshold = 500 * 1024;
  static tempDir: string | null = null;

  readonly environ: Environ;
  readonly maxContentLength: number | null;
  readonly maxFormMemorySize: number | null;
  readonly maxFormParts: number | null;
  readonly maxFileSize: number | null;
  readonly spoolThreshold: number;
  readonly tempDir: string;
  /** The request headers (case-insensitive lookups). */
  readonly headers: RequestHeaders;

  private reader: BodyReader | null = null;
  private readonly temp: TempFiles;
  private cachedBody: Promise<Uint8Array> | null = null;
  private parsedForm: Promise<ParsedForm> | null = null;
  private streamed = false;
  private memo = new Map<string, unknown>();
  private closing: Promise<void> | null = null;

  constructor(environ: Environ, options: RequestOptions = {}) {
    const defaults = new.target as typeof Request;
    this.environ = environ;
    this.maxContentLength = options.maxContentLength !== undefined ? options.maxContentLength : defaults.maxContentLength;
    this.maxFormMemorySize = options.maxFormMemorySize !== undefined ? options.maxFormMemorySize : defaults.maxFormMemorySize;
    this.maxFormParts = options.maxFormParts !== undefined ? options.maxFormParts : defaults.maxFormParts;
    this.maxFileSize = options.maxFileSize !== undefined ? options.maxFileSize : defaults.maxFileSize;
    this.spoolThreshold = options.spoolThreshold ?? defaults.spoolThreshold;
    this.tempDir = options.tempDir ?? defaults.tempDir ?? tmpdir();
    this.headers = new RequestHeaders(environ);
    this.temp = new TempFiles(this.tempDir);
    // The client went away: nobody will read the response, so its temporary files can go now.
    const signal = environ['tsgi.signal'];
    if (signal instanceof AbortSignal) {
      if (signal.aborted) void this.close();
      else signal.addEventListener('abort', () => void this.close(), { once: true });
    }
    if (!instances.has(environ)) instances.set(environ, this);
  }

  /** The Request for this environ: the one already made for it (by `handler()` or an earlier call), or a new one. */
  static from<T extends typeof Request>(this: T, environ: Environ, options?: RequestOptions): InstanceType<T> {
    const found = instances.get(environ);
    if (found instanceof this) return found as InstanceType<T>;
    const made = new this(environ, options) as InstanceType<T>;
    instances.set(environ, made);
    return made;
  }

  private once<T>(key: string, make: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, make());
    return this.memo.get(key) as T;
  }

  // --- the request line and the URL -------------------------------------------------------------

  /** `GET`, `POST`, … as sent. */
  get method(): string {
    return this.environ.REQUEST_METHOD;
  }

  /** `http` or `https` (`wsgi.url_scheme`). */
  get scheme(): string {
    return this.environ['wsgi.url_scheme'];
  }

  /** Whether the request came over HTTPS. */
  get isSecure(): boolean {
    return this.scheme === 'https';
  }

  /** The host and port the client asked for: `Host`, else `SERVER_NAME` with `SERVER_PORT` unless it is the scheme's default. */
  get host(): string {
    const host = str(this.environ, 'HTTP_HOST');
    if (host) return host;
    const port = this.environ.SERVER_PORT;
    const standard = this.scheme === 'https' ? '443' : '80';
    return port && port !== standard ? `${this.environ.SERVER_NAME}:${port}` : this.environ.SERVER_NAME;
  }

  /** The path below the application's mount point, as text (`PATH_INFO` read as UTF-8), always starting with `/`. */
  get path(): string {
    return '/' + utf8FromNative(this.environ.PATH_INFO ?? '').replace(/^\/+/, '');
  }

  /** Where the application is mounted, as text (`SCRIPT_NAME` as UTF-8): `''` at the root. */
  get scriptName(): string {
    return utf8FromNative(this.environ.SCRIPT_NAME ?? '');
  }

  /** The raw query string (percent-encoded, no `?`). */
  get queryString(): string {
    return str(this.environ, 'QUERY_STRING');
  }

  /** `path` with `?query` when there is one. */
  get fullPath(): string {
    return this.path + (this.queryString ? `?${this.queryString}` : '');
  }

  /** `scheme://host` */
  get hostUrl(): string {
    return `${this.scheme}://${this.host}`;
  }

  /** The application's root URL, ending in `/`: `https://example.com/app/`. */
  get rootUrl(): string {
    return `${this.hostUrl}${quote(this.environ.SCRIPT_NAME ?? '')}/`;
  }

  /** The URL without the query string (path percent-encoded, one `%XX` per byte). */
  get baseUrl(): string {
    const pathInfo = '/' + (this.environ.PATH_INFO ?? '').replace(/^\/+/, '');
    return `${this.hostUrl}${quote(this.environ.SCRIPT_NAME ?? '')}${quote(pathInfo, "/;=,@:!$&'()*+~")}`;
  }

  /** The full URL the request was for, rebuilt from the environ (docs/SPEC.md R67). */
  get url(): string {
    return this.baseUrl + (this.queryString ? `?${this.queryString}` : '');
  }

  /** The client's address (`REMOTE_ADDR`), or null. */
  get remoteAddr(): string | null {
    return str(this.environ, 'REMOTE_ADDR') || null;
  }

  /** `environ['tsgi.signal']`: fires when the client goes away before the response is complete (where the server provides it). */
  get signal(): AbortSignal | undefined {
    const s = this.environ['tsgi.signal'];
    return s instanceof AbortSignal ? s : undefined;
  }

  // --- query string and cookies ------------------------------------------------------------------

  /**
   * The query string's parameters. Keys and values are UTF-8 text: `+` is a space, `%XX` a byte, and
   * bytes that are not valid UTF-8 become U+FFFD (so `?q=%FF` gives `'\uFFFD'`), never an error.
   */
  get args(): MultiDict<string> {
    return this.once('args', () => parseUrlEncoded(this.queryString));
  }

  /** The cookies the client sent (a name sent twice keeps both values, the first as `get()`). */
  get cookies(): MultiDict<string> {
    return this.once('cookies', () => parseCookies(str(this.environ, 'HTTP_COOKIE')));
  }

  // --- body metadata ------------------------------------------------------------------------------

  /** The Content-Type header as sent, or null. */
  get contentType(): string | null {
    return this.headers.get('content-type');
  }

  /** The media type without parameters, lower-cased (`application/json`); `''` when there is no Content-Type. */
  get mimetype(): string {
    return this.once('mimetype', () => parseOptionsHeader(this.contentType ?? '')).value;
  }

  /** The Content-Type's parameters (`{ charset: 'utf-8' }`), names lower-cased. */
  get mimetypeParams(): Record<string, string> {
    return { ...this.once('mimetype', () => parseOptionsHeader(this.contentType ?? '')).params };
  }

  /** The declared Content-Length, or null (absent, chunked, or not a number). */
  get contentLength(): number | null {
    const raw = str(this.environ, 'CONTENT_LENGTH');
    return /^\s*\d{1,15}\s*$/.test(raw) ? Number(raw) : null;
  }

  /** Whether the body is JSON (`application/json` or `application/*+json`). */
  get isJson(): boolean {
    return JSON_TYPE.test(this.mimetype);
  }

  // --- negotiation and conditions -----------------------------------------------------------------

  /** `Accept`: media types with their quality. */
  get acceptMimetypes(): Accept {
    return this.once('accept', () => new Accept(this.headers.get('accept'), 'mime'));
  }

  /** `Accept-Language`. */
  get acceptLanguages(): Accept {
    return this.once('accept-language', () => new Accept(this.headers.get('accept-language'), 'language'));
  }

  /** `Accept-Encoding` (identity stays acceptable unless refused, RFC 9110 §12.5.3). */
  get acceptEncodings(): Accept {
    return this.once('accept-encoding', () => new Accept(this.headers.get('accept-encoding'), 'encoding'));
  }

  /** `Accept-Charset`. */
  get acceptCharsets(): Accept {
    return this.once('accept-charset', () => new Accept(this.headers.get('accept-charset'), 'charset'));
  }

  /** `If-None-Match`. */
  get ifNoneMatch(): ETags {
    return new ETags(this.headers.get('if-none-match'));
  }

  /** `If-Match`. */
  get ifMatch(): ETags {
    return new ETags(this.headers.get('if-match'));
  }

  /** `If-Modified-Since` as a Date, or null when absent or not a date. */
  get ifModifiedSince(): Date | null {
    return dateHeader(this.headers.get('if-modified-since'));
  }

  /** `If-Unmodified-Since` as a Date, or null. */
  get ifUnmodifiedSince(): Date | null {
    return dateHeader(this.headers.get('if-unmodified-since'));
  }

  /** `Range`, or null. */
  get range(): RangeHeader | null {
    const h = this.headers.get('range');
    return h === null ? null : new RangeHeader(h);
  }

  // --- the body ----------------------------------------------------------------------------------

  private bodyReader(): BodyReader {
    return (this.reader ??= new BodyReader(this.environ, this.maxContentLength));
  }

  /**
   * The body, unparsed, as a stream of chunks within `maxContentLength` (a 413 past it, a 400 when it
   * ends before its Content-Length). It can be consumed once: use it instead of `bytes()`/`form()`,
   * not with them.
   */
  get stream(): AsyncIterable<Uint8Array> & { read(size?: number): Promise<Uint8Array> } {
    if (this.cachedBody !== null || this.parsedForm !== null) {
      throw new TypeError('request.stream: the body was already read by bytes(), text(), json() or form()');
    }
    this.streamed = true;
    const reader = this.bodyReader();
    return {
      read: (size = READ_SIZE) => reader.read(size),
      [Symbol.asyncIterator]: () => reader.chunks(),
    };
  }

  /** The whole body (read once, then cached), within `maxContentLength`. */
  bytes(): Promise<Uint8Array> {
    if (this.cachedBody === null) {
      if (this.streamed) return Promise.reject(new TypeError('request.bytes(): the body was already consumed through request.stream'));
      if (this.parsedForm !== null && this.reader?.started) {
        return Promise.reject(new TypeError('request.bytes(): the body was already consumed by form()/files()'));
      }
      this.cachedBody = this.bodyReader().readAll();
    }
    return this.cachedBody;
  }

  /** The body as text, in the Content-Type's charset when it names one the runtime knows, else UTF-8 (bad bytes become U+FFFD). */
  async text(): Promise<string> {
    const body = await this.bytes();
    try {
      return new TextDecoder(this.mimetypeParams['charset'] ?? 'utf-8').decode(body);
    } catch {
      return new TextDecoder('utf-8').decode(body); // a charset the runtime does not know
    }
  }

  /**
   * The body parsed as JSON. A 415 (UnsupportedMediaType) unless the Content-Type is JSON (or `force`),
   * a 400 (BadRequest) when it does not parse, as Werkzeug's `get_json()`.
   */
  async json<T = unknown>(options: { force?: boolean } = {}): Promise<T> {
    if (!options.force && !this.isJson) {
      throw new UnsupportedMediaType(`Did not attempt to load JSON data because the request Content-Type was not 'application/json'.`);
    }
    const text = new TextDecoder('utf-8', { fatal: false }).decode(await this.bytes());
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new BadRequest(`Failed to decode JSON object: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The form fields of a urlencoded or multipart/form-data body (empty for other content types). */
  async form(): Promise<MultiDict<string>> {
    return (await this.parse()).form;
  }

  /**
   * The uploaded files of a multipart/form-data body, by field name. A method, not Werkzeug's
   * property, because parsing reads the body, which is asynchronous.
   */
  async files(): Promise<MultiDict<UploadedFile>> {
    return (await this.parse()).files;
  }

  private parse(): Promise<ParsedForm> {
    if (this.parsedForm === null) {
      if (this.streamed && this.cachedBody === null) {
        return Promise.reject(new TypeError('request.form(): the body was already consumed through request.stream'));
      }
      this.parsedForm = this.parseBody();
    }
    return this.parsedForm;
  }

  private async parseBody(): Promise<ParsedForm> {
    const empty = (): ParsedForm => ({ form: new MultiDict(), files: new MultiDict() });
    const mimetype = this.mimetype;
    if (mimetype === 'application/x-www-form-urlencoded') {
      const body =
        this.cachedBody !== null ? await this.cachedBody : await this.bodyReader().readAll(this.maxFormMemorySize ?? this.maxContentLength, 'form data');
      if (this.maxFormMemorySize !== null && body.length > this.maxFormMemorySize) throw tooLargeForm(this.maxFormMemorySize);
      const native = Buffer.from(body.buffer, body.byteOffset, body.length).toString('latin1');
      const form = parseUrlEncoded(native, this.maxFormParts ?? Infinity, () => tooManyParts(this.maxFormParts!));
      return { form, files: new MultiDict() };
    }
    if (mimetype === 'multipart/form-data') {
      boundaryOf(this.mimetypeParams); // a 400 for a missing or invalid boundary, before reading anything
      const source = this.cachedBody !== null ? new MemoryReader(await this.cachedBody) : this.bodyReader();
      if (source instanceof BodyReader) source.checkDeclared();
      return parseMultipart(
        source,
        this.contentType!,
        {
          maxFormMemorySize: this.maxFormMemorySize,
          maxFormParts: this.maxFormParts,
          maxFileSize: this.maxFileSize,
          spoolThreshold: this.spoolThreshold,
          maxPartHeaderSize: 16 * 1024,
        },
        this.temp,
      );
    }
    return empty();
  }

  // --- the end -----------------------------------------------------------------------------------

  /**
   * Removes the request's temporary files (uploads spooled to disk). `handler()` calls it when the
   * response ends, on every path; call it yourself (or `await using request = …`) when you make a
   * Request in a plain TSGI application. Safe to call more than once.
   */
  close(): Promise<void> {
    return (this.closing ??= this.temp.cleanup());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function dateHeader(value: string | null): Date | null {
  if (value === null) return null;
  const s = parseHttpDate(value);
  return Number.isNaN(s) ? null : new Date(s * 1000);
}

function tooLargeForm(limit: number): RequestEntityTooLarge {
  return new RequestEntityTooLarge(`The form data exceeds the limit of ${limit} bytes.`);
}

function tooManyParts(limit: number): RequestEntityTooLarge {
  return new RequestEntityTooLarge(`The form has more than ${limit} fields.`);
}
