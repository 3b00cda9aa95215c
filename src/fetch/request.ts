// The Request a Fetch application sees under tsgi, made from the environ. It is lazy, after
// @hono/node-server's: `method` and `url` are plain strings, `headers` is built on first access,
// `text()`/`json()`/`arrayBuffer()` read wsgi.input directly, and a real Request is made only when
// something else is touched (`clone()`, `formData()`, `cache`, ...). Routing a request and
// answering it therefore never pays for a Request or a Headers object.
//
// It is `instanceof Request`, but the runtime's own Request constructor does not accept it as its
// *input* (`new Request(request, init)` fails its brand check): use `request.clone()` or
// `new Request(request.url, request)`, or pass `{ nativeRequest: true }` to fromFetchHandler.
import type { Environ, EnvironRecord, InputStream } from '../spec.js';
import { EMPTY } from '../protocol/bytes.js';
import { EMPTY_INPUT } from '../runner/input.js';
import { splitTarget } from '../protocol/target.js';
import { quote } from '../util.js';
import { signalOf } from './signal.js';

const kEnviron = Symbol('tsgi.environ');
const kUrl = Symbol('tsgi.url');
const kHeaders = Symbol('tsgi.headers');
const kBody = Symbol('tsgi.body');
const kUsed = Symbol('tsgi.bodyUsed');
const kReal = Symbol('tsgi.request');
const kAbort = Symbol('tsgi.abort');

/** How much a pull of the body stream asks of wsgi.input. */
const READ_SIZE = 64 * 1024;

type Lazy = Request & {
  [kEnviron]: Environ;
  [kUrl]?: string;
  [kHeaders]?: Headers;
  [kBody]?: ReadableStream<Uint8Array> | null;
  [kUsed]?: boolean;
  [kReal]?: Request;
  [kAbort]?: AbortController;
};

const VALID_HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const PATH_SAFE = "/!$&'()*+,;=:@";

/** PATH_INFO and QUERY_STRING as a request target, keeping the client's exact bytes when possible. */
export function targetOf(environ: Environ): string {
  const pathInfo = environ.PATH_INFO ?? '';
  const query = environ.QUERY_STRING ?? '';
  const uri = environ.REQUEST_URI;
  // The original target says `%2F` where PATH_INFO says `/`; use it when it still names this path.
  if (typeof uri === 'string' && uri.charCodeAt(0) === 47 && uri.charCodeAt(1) !== 47 && !uri.includes('#')) {
    const [p, q] = splitTarget(uri);
    if (p === pathInfo && q === query && !/[^\x21-\x7e]/.test(uri)) return uri;
  }
  let target = quote(pathInfo || '/', PATH_SAFE);
  if (target.charCodeAt(0) !== 47) target = '/' + target;
  if (query !== '') target += '?' + quoteQuery(query);
  return target;
}

/** Raw bytes a URL cannot hold (space, controls, non-ASCII) as %XX; the rest as the client sent it. */
function quoteQuery(q: string): string {
  if (!/[^\x21-\x7e]/.test(q)) return q;
  let out = '';
  for (let i = 0; i < q.length; i++) {
    const c = q.charCodeAt(i);
    out += c > 0x20 && c < 0x7f ? q[i] : '%' + (c & 0xff).toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** The request URL: scheme and host (Host header, else SERVER_NAME:SERVER_PORT), then the target. */
export function urlOf(environ: Environ): string {
  const scheme = environ['wsgi.url_scheme'] === 'https' ? 'https' : 'http';
  let host = environ.HTTP_HOST as string | undefined;
  if (host === undefined || !VALID_HOST.test(host)) {
    const name = environ.SERVER_NAME || 'localhost';
    host = name.includes(':') && name.charCodeAt(0) !== 91 ? `[${name}]` : name;
    const port = environ.SERVER_PORT;
    if (port && port !== (scheme === 'https' ? '443' : '80')) host += ':' + port;
  }
  return `${scheme}://${host}${targetOf(environ)}`;
}

/** The request headers of an environ: HTTP_* keys back to lower-case names, CONTENT_* included. */
export function headersOf(environ: Environ): Headers {
  const headers = new Headers();
  for (const key in environ) {
    let name: string;
    if (key.charCodeAt(0) === 72 && key.startsWith('HTTP_')) name = key.slice(5);
    else if (key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH') name = key;
    else continue;
    const value = (environ as EnvironRecord)[key]; // a key found at run time
    if (typeof value !== 'string') continue;
    try {
      headers.append(name.toLowerCase().replace(/_/g, '-'), value);
    } catch {
      // a value Headers refuses (a middleware put something odd there): leave it out
    }
  }
  return headers;
}

/** True when the request may carry a body (Fetch forbids one on GET and HEAD). */
function mayHaveBody(environ: Environ): boolean {
  const m = environ.REQUEST_METHOD;
  return m !== 'GET' && m !== 'HEAD';
}

/** True when the request has a body to read. */
function hasBody(environ: Environ): boolean {
  return mayHaveBody(environ) && environ['wsgi.input'] !== EMPTY_INPUT && environ.CONTENT_LENGTH !== '0';
}

type Read1 = InputStream & { read1?(size?: number): Promise<Uint8Array> };

/** Reads what is there, up to `size`: `read1()` when the input has it (it waits for one chunk only). */
export function readSome(input: InputStream, size: number): Promise<Uint8Array> {
  const r = input as Read1;
  return typeof r.read1 === 'function' ? r.read1(size) : input.read(size);
}

/** wsgi.input as a ReadableStream that reads only when pulled. */
export function inputStream(input: InputStream): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        return readSome(input, READ_SIZE).then((chunk) => {
          if (chunk.length === 0) controller.close();
          else controller.enqueue(chunk);
        });
      },
    },
    { highWaterMark: 0 },
  );
}

function bodyUnusable(): TypeError {
  return new TypeError('Body is unusable: Body has already been read');
}

/** The abort controller behind `request.signal`, made on demand. */
function abortOf(req: Lazy): AbortController {
  let ac = req[kAbort];
  if (ac === undefined) {
    ac = req[kAbort] = new AbortController();
    const outer = signalOf(req[kEnviron]);
    if (outer !== undefined) {
      if (outer.aborted) ac.abort(outer.reason);
      else {
        const inner = ac;
        outer.addEventListener('abort', () => inner.abort(outer.reason), { once: true });
      }
    }
  }
  return ac;
}

function real(req: Lazy): Request {
  let r = req[kReal];
  if (r !== undefined) return r;
  const environ = req[kEnviron];
  const init: RequestInit & { duplex?: 'half' } = {
    method: environ.REQUEST_METHOD,
    headers: req.headers,
    signal: abortOf(req).signal,
  };
  if (mayHaveBody(environ) && !req[kUsed]) {
    const body = bodyOf(req);
    if (body !== null) {
      init.body = body;
      init.duplex = 'half';
    }
  }
  r = req[kReal] = new Request(req.url, init);
  return r;
}

function bodyOf(req: Lazy): ReadableStream<Uint8Array> | null {
  if (req[kBody] !== undefined) return req[kBody];
  const environ = req[kEnviron];
  return (req[kBody] = hasBody(environ) ? inputStream(environ['wsgi.input']) : null);
}

/** Reads the whole body straight from wsgi.input, once, without a stream in between. */
function readAll(req: Lazy): Promise<Uint8Array> {
  if (req[kUsed]) return Promise.reject(bodyUnusable());
  if (req[kReal] !== undefined || req[kBody] !== undefined) {
    return real(req)
      .arrayBuffer()
      .then((b) => new Uint8Array(b));
  }
  req[kUsed] = true;
  const environ = req[kEnviron];
  if (!hasBody(environ)) return Promise.resolve(EMPTY);
  return environ['wsgi.input'].read();
}

const decoder = new TextDecoder();

/** The lazy Request's behaviour; instances are made with Object.create (no constructor runs). */
class LazyRequest {
  get method(): string {
    return (this as unknown as Lazy)[kEnviron].REQUEST_METHOD;
  }
  get url(): string {
    const self = this as unknown as Lazy;
    return (self[kUrl] ??= urlOf(self[kEnviron]));
  }
  get headers(): Headers {
    const self = this as unknown as Lazy;
    return (self[kHeaders] ??= headersOf(self[kEnviron]));
  }
  get signal(): AbortSignal {
    return abortOf(this as unknown as Lazy).signal;
  }
  get body(): ReadableStream<Uint8Array> | null {
    const self = this as unknown as Lazy;
    if (self[kReal] !== undefined) return self[kReal].body as ReadableStream<Uint8Array> | null;
    if (self[kUsed]) return null;
    return bodyOf(self);
  }
  get bodyUsed(): boolean {
    const self = this as unknown as Lazy;
    if (self[kUsed]) return true;
    if (self[kReal] !== undefined) return self[kReal].bodyUsed;
    const b = self[kBody];
    return b !== undefined && b !== null && b.locked;
  }
  text(): Promise<string> {
    return readAll(this as unknown as Lazy).then((b) => decoder.decode(b));
  }
  json(): Promise<unknown> {
    return readAll(this as unknown as Lazy).then((b) => JSON.parse(decoder.decode(b)) as unknown);
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return readAll(this as unknown as Lazy).then((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  }
  bytes(): Promise<Uint8Array> {
    return readAll(this as unknown as Lazy).then((b) => new Uint8Array(b));
  }
  blob(): Promise<Blob> {
    return readAll(this as unknown as Lazy).then((b) => new Blob([b], { type: this.headers.get('content-type') ?? '' }));
  }
  formData(): Promise<FormData> {
    return real(this as unknown as Lazy).formData();
  }
  clone(): Request {
    const self = this as unknown as Lazy;
    if (self[kUsed]) throw bodyUnusable();
    return real(self).clone();
  }
}
const proto = LazyRequest.prototype;

for (const key of ['cache', 'credentials', 'destination', 'duplex', 'integrity', 'keepalive', 'mode', 'redirect', 'referrer', 'referrerPolicy']) {
  Object.defineProperty(proto, key, {
    get(this: Lazy) {
      return (real(this) as unknown as Record<string, unknown>)[key];
    },
    configurable: true,
  });
}
Object.defineProperty(proto, Symbol.for('nodejs.util.inspect.custom'), {
  value(this: Lazy) {
    return `Request (tsgi, lazy) { method: ${JSON.stringify(this.method)}, url: ${JSON.stringify(this.url)} }`;
  },
});

let linked = false;

/** A lazy Request for this environ. */
export function lazyRequest(environ: Environ): Request {
  if (!linked) {
    // Resolved on first use: a runtime (or @hono/node-server) may have replaced the global.
    Object.setPrototypeOf(proto, globalThis.Request.prototype);
    linked = true;
  }
  const req = Object.create(proto) as Lazy;
  req[kEnviron] = environ;
  return req;
}

/** A real Request for this environ, made at once (for code that hands it to `new Request()`). */
export function nativeRequest(environ: Environ, signal: AbortSignal | undefined): Request {
  const init: RequestInit & { duplex?: 'half' } = { method: environ.REQUEST_METHOD, headers: headersOf(environ) };
  if (signal !== undefined) init.signal = signal;
  if (hasBody(environ)) {
    init.body = inputStream(environ['wsgi.input']);
    init.duplex = 'half';
  }
  return new Request(urlOf(environ), init);
}

/** Fires the lazy request's signal when the response ends before completion (client gone). */
export function abortLazy(request: Request): void {
  const ac = (request as Lazy)[kAbort];
  if (ac !== undefined && !ac.signal.aborted) {
    ac.abort(new DOMException('The client disconnected before the response was complete', 'AbortError'));
  }
}
