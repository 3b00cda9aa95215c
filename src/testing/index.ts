// tsgi/testing: build an environ for a request and run an application in-process, through the same
// engine every door uses (Werkzeug's test.py in spirit). No sockets: tests read like requests.
//   createEnviron(path, options)   the environ an HTTP door would build
//   runApp(app, environ)           the response, collected (status, headers, bytes, chunks, log)
//   request(app, path, options)    both at once
//   client(app).get('/x')          a Fetch Response, streaming as the application produces it
import type { Application, Chunk, Environ, ErrorStream, HeaderList } from '../spec.js';
import { runApp as runEngine, type Sink } from '../runner/handler.js';
import { EMPTY_INPUT, Input, bytesSource, type ByteSource } from '../runner/input.js';
import { concat, nativeString, toBytes, utf8 } from '../protocol/bytes.js';
import { environFromHead } from '../protocol/environ.js';
import { splitTarget } from '../protocol/target.js';
import { formatError, type Logger } from '../runner/log.js';
import { StreamSource } from '../fetch/environ.js';
import { toFetchHandler } from '../fetch/handler.js';
import { defineSignal } from '../fetch/signal.js';
import { FetchSink } from '../fetch/sink.js';
import { FileWrapper } from '../util.js';
import { VERSION } from '../version.js';

/**
 * A request body: bytes or text (sent with its Content-Length), a Blob (its size is the length), or
 * a stream of chunks (a ReadableStream, an async or sync iterable of chunks) sent chunked, without a
 * Content-Length, as a client streaming an upload does.
 */
export type RequestBody = Uint8Array | string | Blob | ReadableStream<Uint8Array> | AsyncIterable<Chunk> | Iterable<Chunk>;

export interface RequestOptions {
  method?: string;
  /** Request headers, as an object or as [name, value] pairs (repeats allowed). */
  headers?: Record<string, string> | HeaderList;
  /** Query parameters, appended to any query in the path. */
  query?: Record<string, string | number | boolean> | URLSearchParams | string;
  /** The raw body; a string is sent as UTF-8 (see RequestBody for streams). */
  body?: RequestBody;
  /** A JSON body (sets Content-Type: application/json). */
  json?: unknown;
  /**
   * A form: urlencoded (Content-Type: application/x-www-form-urlencoded) from a record or
   * URLSearchParams, multipart/form-data (files included) from a FormData.
   */
  form?: Record<string, string> | URLSearchParams | FormData;
  /** The client's connection: aborting it is the client going away (`environ['tsgi.signal']`). */
  signal?: AbortSignal;
  scheme?: 'http' | 'https';
  serverName?: string;
  serverPort?: string;
  protocol?: string;
  remoteAddr?: string;
  scriptName?: string;
  /** Extra environ keys. */
  environ?: Record<string, unknown>;
}

/** A `wsgi.errors` that keeps what was written, for assertions. */
export class CapturedErrors implements ErrorStream {
  text = '';
  write(s: string): void {
    this.text += s;
  }
  writelines(lines: Iterable<string>): void {
    for (const l of lines) this.text += l;
  }
  flush(): void {}
  getvalue(): string {
    return this.text;
  }
}

function nativeFromText(s: string): string {
  // Paths and header values given as JavaScript text are sent as UTF-8 bytes, as a browser would.
  return /^[\x00-\x7f]*$/.test(s) ? s : nativeString(utf8(s));
}

function encodePathForTarget(path: string): string {
  // Characters a client would percent-encode (in a path or a query given as text); '%' is left alone so callers can pass escapes through.
  return path.replace(/[^\x21-\x7e]/gu, (c) => Array.from(utf8(c), (b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join(''));
}

/** A streamed request body as a ByteSource. */
function chunkSource(body: ReadableStream<Uint8Array> | AsyncIterable<Chunk> | Iterable<Chunk>): ByteSource {
  if (typeof (body as ReadableStream<Uint8Array>).getReader === 'function') {
    return new StreamSource(body as ReadableStream<Uint8Array>);
  }
  const asyncIt = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator];
  const it: AsyncIterator<Chunk> | Iterator<Chunk> = typeof asyncIt === 'function' ? asyncIt.call(body) : (body as Iterable<Chunk>)[Symbol.iterator]();
  return {
    pull: () =>
      Promise.resolve(it.next()).then((r) => {
        if (r.done) return null;
        if (typeof r.value !== 'string' && !(r.value instanceof Uint8Array)) {
          throw new TypeError(`a request body chunk must be a Uint8Array or a string (got ${typeof r.value})`);
        }
        return toBytes(r.value);
      }),
  };
}

/** Builds the environ an HTTP door would build for this request. */
export function createEnviron(path = '/', options: RequestOptions = {}): Environ {
  let target = encodePathForTarget(path);
  if (options.query !== undefined) {
    const q =
      typeof options.query === 'string'
        ? encodePathForTarget(options.query)
        : new URLSearchParams(
            options.query instanceof URLSearchParams ? options.query : Object.entries(options.query).map(([k, v]) => [k, String(v)] as [string, string]),
          ).toString();
    if (q) target += (target.includes('?') ? '&' : '?') + q;
  }
  const headers: HeaderList = Array.isArray(options.headers) ? options.headers : Object.entries(options.headers ?? {});
  let body: Uint8Array | undefined;
  let stream: ByteSource | undefined;
  let streamLength = -1;
  let contentType: string | undefined;
  if (options.json !== undefined) {
    body = utf8(JSON.stringify(options.json));
    contentType = 'application/json';
  } else if (options.form !== undefined) {
    if (typeof FormData !== 'undefined' && options.form instanceof FormData) {
      // The runtime's own multipart encoder, as fetch() would send the form.
      const encoded = new Response(options.form);
      contentType = encoded.headers.get('content-type') ?? undefined;
      stream = new StreamSource(encoded.body!);
    } else {
      body = utf8(new URLSearchParams(options.form as Record<string, string>).toString());
      contentType = 'application/x-www-form-urlencoded';
    }
  } else if (options.body !== undefined) {
    const b = options.body;
    if (typeof b === 'string') body = utf8(b);
    else if (b instanceof Uint8Array) body = b;
    else if (typeof Blob !== 'undefined' && b instanceof Blob) {
      stream = new StreamSource(b.stream() as ReadableStream<Uint8Array>);
      streamLength = b.size;
      if (b.type) contentType = b.type;
    } else if (Array.isArray(b)) body = concat(b.map((c: Chunk) => toBytes(c)));
    else stream = chunkSource(b as ReadableStream<Uint8Array> | AsyncIterable<Chunk> | Iterable<Chunk>);
  }
  const rawHeaders: string[] = [];
  for (const [name, value] of headers) rawHeaders.push(name, nativeFromText(value));
  const [pathInfo, queryString] = splitTarget(target);
  const environ = environFromHead(
    {
      method: options.method ?? (options.body !== undefined || options.json !== undefined || options.form ? 'POST' : 'GET'),
      target,
      path: pathInfo,
      query: queryString,
      protocol: options.protocol ?? 'HTTP/1.1',
      rawHeaders,
      scheme: options.scheme ?? 'http',
      peer: { remoteAddress: options.remoteAddr ?? '127.0.0.1', remotePort: 0 },
    },
    {
      // '' falls back as a door's would: SERVER_NAME localhost, SERVER_PORT the scheme's.
      serverName: options.serverName ?? '',
      serverPort: options.serverPort ?? '',
      scriptName: options.scriptName ?? '',
      software: `tsgi/${VERSION}`,
      errors: new CapturedErrors(),
      multiprocess: false,
      fileWrapper: FileWrapper,
      input: EMPTY_INPUT,
    },
  );
  if (environ.HTTP_HOST === undefined) environ.HTTP_HOST = environ.SERVER_NAME;
  if (contentType !== undefined && environ.CONTENT_TYPE === undefined) environ.CONTENT_TYPE = contentType;
  if (body !== undefined) {
    environ.CONTENT_LENGTH = String(body.length);
    environ['wsgi.input'] = new Input(bytesSource(body), body.length);
  } else if (stream !== undefined) {
    if (streamLength >= 0) environ.CONTENT_LENGTH = String(streamLength);
    else if (environ.CONTENT_LENGTH === undefined) environ.HTTP_TRANSFER_ENCODING = 'chunked';
    const limit = environ.CONTENT_LENGTH !== undefined ? Number(environ.CONTENT_LENGTH) : Infinity;
    environ['wsgi.input'] = new Input(stream, limit);
  }
  if (options.signal !== undefined) environ['tsgi.signal'] = options.signal;
  if (options.environ) Object.assign(environ, options.environ);
  return environ;
}

export interface TestResponse {
  /** The status line as the application gave it, e.g. '200 OK'. */
  status: string;
  statusCode: number;
  headers: HeaderList;
  /** The body bytes as a client would receive them (none for HEAD, 204, 304). */
  body: Uint8Array;
  /** The body decoded as UTF-8. */
  readonly text: string;
  /** The first value of a header, case-insensitively. */
  header(name: string): string | undefined;
  /** Each chunk as the engine handed it to the transport. */
  chunks: Uint8Array[];
  /** True when the engine aborted the response (the client would see it cut short). */
  aborted: boolean;
  /** What the engine logged (application errors, Content-Length mismatches). */
  log: string[];
}

class CollectSink implements Sink {
  status = '';
  code = 0;
  headers: HeaderList = [];
  chunks: Uint8Array[] = [];
  aborted = false;
  ended = false;
  closed = false;
  head(code: number, status: string, headers: HeaderList): void {
    this.code = code;
    this.status = status;
    // Copy: the application may keep and mutate its list.
    this.headers = headers.map(([k, v]) => [k, v]);
  }
  write(chunk: Uint8Array): boolean {
    this.chunks.push(chunk);
    return true;
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
  end(last?: Uint8Array): void {
    if (last !== undefined && last.length > 0) this.chunks.push(last);
    this.ended = true;
  }
  abort(): void {
    this.aborted = true;
  }
}

/** Runs `app` for `environ` through the engine and collects the response. */
export async function runApp(app: Application, environ: Environ = createEnviron()): Promise<TestResponse> {
  const sink = new CollectSink();
  const lines: string[] = [];
  const log: Logger = {
    error: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    info: (m) => lines.push(m),
  };
  try {
    await runEngine(app, environ, sink, { log, method: environ.REQUEST_METHOD });
  } catch (err) {
    lines.push(formatError(err));
  }
  const body = concat(sink.chunks);
  return {
    status: sink.status,
    statusCode: sink.code,
    headers: sink.headers,
    body,
    get text() {
      return new TextDecoder().decode(body);
    },
    header(name: string) {
      const lower = name.toLowerCase();
      return sink.headers.find(([k]) => k.toLowerCase() === lower)?.[1];
    },
    chunks: sink.chunks,
    aborted: sink.aborted,
    log: lines,
  };
}

/** Shorthand: build the environ and run the app. */
export function request(app: Application, path = '/', options: RequestOptions = {}): Promise<TestResponse> {
  return runApp(app, createEnviron(path, options));
}

// --- client(app): Fetch Responses -------------------------------------------------------------

/** What `client()` takes: defaults for every request (headers are merged), and the engine's log. */
export interface ClientOptions extends RequestOptions {
  /** Where the engine's log goes as well as `client.log` (default: only `client.log`). */
  log?: Logger;
}

export interface Client {
  /** Runs one request; the Response arrives with the status and headers, its body streams. */
  request(path: string, options?: RequestOptions): Promise<Response>;
  get(path: string, options?: RequestOptions): Promise<Response>;
  head(path: string, options?: RequestOptions): Promise<Response>;
  options(path: string, options?: RequestOptions): Promise<Response>;
  delete(path: string, options?: RequestOptions): Promise<Response>;
  post(path: string, options?: RequestOptions): Promise<Response>;
  put(path: string, options?: RequestOptions): Promise<Response>;
  patch(path: string, options?: RequestOptions): Promise<Response>;
  /** The application as a Fetch handler: `client.fetch(new Request('http://localhost/x'))`. */
  fetch(request: Request): Promise<Response>;
  /** What the engine logged (application errors, Content-Length mismatches), every request. */
  readonly log: string[];
  /** What the application wrote to `wsgi.errors`, every request. */
  readonly errors: CapturedErrors;
}

function headerPairs(h: RequestOptions['headers']): HeaderList {
  if (h === undefined) return [];
  return Array.isArray(h) ? h : Object.entries(h);
}

/**
 * A test client in the manner of Hono's `app.request()`: `await client(app).get('/x')` is a Fetch
 * Response. The application runs through the engine as under a real door (its checks, `write()`,
 * `close()`); the Response resolves once the status and headers are known and its body streams
 * with backpressure, so a test can read a stream chunk by chunk, or cancel it (`res.body.cancel()`)
 * to play a client that goes away: `tsgi.signal` fires and the body's `close()` runs.
 */
export function client(app: Application, defaults: ClientOptions = {}): Client {
  const lines: string[] = [];
  const errors = new CapturedErrors();
  const outer = defaults.log;
  const log: Logger = {
    error: (m) => (lines.push(m), outer?.error(m)),
    warn: (m) => (lines.push(m), outer?.warn(m)),
    info: (m) => (lines.push(m), outer?.info(m)),
  };
  const run = (path: string, options: RequestOptions = {}): Promise<Response> => {
    const merged: RequestOptions = { ...defaults, ...options };
    merged.headers = [...headerPairs(defaults.headers), ...headerPairs(options.headers)];
    merged.environ = { 'wsgi.errors': errors, ...defaults.environ, ...options.environ };
    let environ: Environ;
    try {
      environ = createEnviron(path, merged);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = merged.signal;
    const sink = new FetchSink(signal === undefined ? undefined : () => signal);
    // Fires when the test cancels the Response body or aborts `signal` before the response is complete.
    defineSignal(environ, (abort) => sink.onClose(abort));
    const done = runEngine(app, environ, sink, { log, method: environ.REQUEST_METHOD });
    return sink.ready(done);
  };
  const method =
    (m: string) =>
    (path: string, options: RequestOptions = {}) =>
      run(path, { ...options, method: m });
  let handler: ((r: Request) => Promise<Response>) | undefined;
  return {
    request: run,
    get: method('GET'),
    head: method('HEAD'),
    options: method('OPTIONS'),
    delete: method('DELETE'),
    post: method('POST'),
    put: method('PUT'),
    patch: method('PATCH'),
    fetch: (request) => (handler ??= toFetchHandler(app, { log }))(request),
    log: lines,
    errors,
  };
}
