// tsgi/testing: build an environ for a request and run an application in-process, through the same
// engine every door uses (Werkzeug's test.py in spirit). No sockets: tests read like requests.
import type { Application, Environ, ErrorStream, HeaderList } from '../spec.js';
import { WSGI_VERSION } from '../spec.js';
import { runApp as runEngine, type Sink } from '../engine/handler.js';
import { EMPTY_INPUT, Input, bytesSource } from '../engine/input.js';
import { concat, nativeString, utf8 } from '../engine/bytes.js';
import { headerKey } from '../engine/names.js';
import { splitTarget } from '../engine/target.js';
import { formatError, type Logger } from '../engine/log.js';
import { FileWrapper } from '../util.js';
import { VERSION } from '../version.js';

export interface RequestOptions {
  method?: string;
  /** Request headers, as an object or as [name, value] pairs (repeats allowed). */
  headers?: Record<string, string> | HeaderList;
  /** Query parameters, appended to any query in the path. */
  query?: Record<string, string | number | boolean> | URLSearchParams | string;
  /** The raw body; a string is sent as UTF-8. */
  body?: Uint8Array | string;
  /** A JSON body (sets Content-Type: application/json). */
  json?: unknown;
  /** A urlencoded form body (sets Content-Type: application/x-www-form-urlencoded). */
  form?: Record<string, string> | URLSearchParams;
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
  // Characters a client would percent-encode; '%' is left alone so callers can pass escapes through.
  return path.replace(/[^\x21-\x7e]/gu, (c) => Array.from(utf8(c), (b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join(''));
}

/** Builds the environ an HTTP door would build for this request. */
export function createEnviron(path = '/', options: RequestOptions = {}): Environ {
  let target = encodePathForTarget(path);
  if (options.query !== undefined) {
    const q =
      typeof options.query === 'string'
        ? options.query
        : new URLSearchParams(
            options.query instanceof URLSearchParams
              ? options.query
              : Object.entries(options.query).map(([k, v]) => [k, String(v)] as [string, string]),
          ).toString();
    if (q) target += (target.includes('?') ? '&' : '?') + q;
  }
  const [pathInfo, queryString] = splitTarget(target);
  const scheme = options.scheme ?? 'http';
  const environ: Environ = {
    REQUEST_METHOD: options.method ?? (options.body !== undefined || options.json !== undefined || options.form ? 'POST' : 'GET'),
    SCRIPT_NAME: options.scriptName ?? '',
    PATH_INFO: pathInfo,
    QUERY_STRING: queryString,
    SERVER_NAME: options.serverName ?? 'localhost',
    SERVER_PORT: options.serverPort ?? (scheme === 'https' ? '443' : '80'),
    SERVER_PROTOCOL: options.protocol ?? 'HTTP/1.1',
    SERVER_SOFTWARE: `tsgi/${VERSION}`,
    REMOTE_ADDR: options.remoteAddr ?? '127.0.0.1',
    REMOTE_PORT: '0',
    REQUEST_URI: target,
    'wsgi.version': WSGI_VERSION,
    'wsgi.url_scheme': scheme,
    'wsgi.input': EMPTY_INPUT,
    'wsgi.errors': new CapturedErrors(),
    'wsgi.multithread': false,
    'wsgi.multiprocess': false,
    'wsgi.run_once': false,
    'wsgi.file_wrapper': FileWrapper,
    'wsgi.input_terminated': true,
  };
  const headers: HeaderList = Array.isArray(options.headers)
    ? options.headers
    : Object.entries(options.headers ?? {});
  let body: Uint8Array | undefined;
  let contentType: string | undefined;
  if (options.json !== undefined) {
    body = utf8(JSON.stringify(options.json));
    contentType = 'application/json';
  } else if (options.form !== undefined) {
    body = utf8(new URLSearchParams(options.form as Record<string, string>).toString());
    contentType = 'application/x-www-form-urlencoded';
  } else if (options.body !== undefined) {
    body = typeof options.body === 'string' ? utf8(options.body) : options.body;
  }
  let hasHost = false;
  for (const [name, value] of headers) {
    const key = headerKey(name);
    if (key === null) continue;
    if (key === 'HTTP_HOST') hasHost = true;
    const v = nativeFromText(value);
    const prev = environ[key] as string | undefined;
    environ[key] = prev === undefined ? v : prev + (key === 'HTTP_COOKIE' ? '; ' : ',') + v;
  }
  if (!hasHost) environ.HTTP_HOST = environ.SERVER_NAME;
  if (contentType !== undefined && environ.CONTENT_TYPE === undefined) environ.CONTENT_TYPE = contentType;
  if (body !== undefined) {
    environ.CONTENT_LENGTH = String(body.length);
    environ['wsgi.input'] = new Input(bytesSource(body), body.length);
  }
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

