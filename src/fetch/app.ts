// fromFetchHandler: a Fetch application (a Hono app, anything with `fetch(request)`) as a TSGI
// application, so every tsgi door can serve it. The Request is lazy (./request.ts); the Response's
// status and headers go to startResponse and its body becomes the TSGI body: read ahead by at most
// two reads that do not wait, so a small body leaves whole with a Content-Length, and otherwise
// pulled chunk by chunk as the door can send (backpressure). close() cancels an unfinished body and
// fires the Request's signal.
import type { Application, Body, Environ, HeaderList, StartResponse } from '../spec.js';
import { isHopByHop } from '../protocol/hop.js';
import { reasonPhrase } from '../protocol/status.js';
import { formatError, streamLogger, type Logger } from '../runner/log.js';
import { abortLazy, lazyRequest, nativeRequest } from './request.js';
import { lightweightParts, useLightweightResponse } from './response.js';
import { disconnectReason, signalOf } from './signal.js';

/** What a Fetch application's handler receives: the Request, the environ (as Hono's `c.env`), an execution context. */
export type FetchApplication = (request: Request, env: Environ, ctx: ExecutionContext) => Response | Promise<Response>;

/** Workers' ExecutionContext, as far as it means something here. */
export interface ExecutionContext {
  /** Keeps a promise's rejection from going unnoticed (logged); the response does not wait for it. */
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  props: Record<string, unknown>;
}

export interface FromFetchOptions {
  /**
   * Build a real Request for every request instead of the lazy one, for code that passes the request
   * to `new Request(request, init)` (Hono's method-override and body-limit middleware do). Slower.
   */
  nativeRequest?: boolean;
  /**
   * Put a lightweight Response class in place of `globalThis.Response` (as @hono/node-server does by
   * default), so that `new Response('text')` costs a small object and the answer leaves without a
   * stream in between. It changes the global for the whole process. Default false.
   */
  lightweightResponse?: boolean;
  /** Where `ctx.waitUntil()` rejections are logged. Default: stderr. */
  log?: Logger;
}

function isPromise<T>(v: unknown): v is Promise<T> {
  return v !== null && typeof v === 'object' && typeof (v as Promise<T>).then === 'function';
}

/**
 * Serves a Fetch application under tsgi. `handler` is a function or an object with `fetch` (a Hono
 * app). It is called as `handler(request, environ, ctx)`, so Hono handlers find the environ in
 * `c.env` (e.g. `c.env.REMOTE_ADDR`). The Request's URL is `wsgi.url_scheme://Host` plus PATH_INFO
 * and the query: a Fetch app mounted under a SCRIPT_NAME sees the path below its mount point, as
 * Hono's own `app.mount()` does.
 */
export function fromFetchHandler(handler: FetchApplication | { fetch: FetchApplication }, options: FromFetchOptions = {}): Application {
  const fetch: FetchApplication = typeof handler === 'function' ? handler : (request, env, ctx) => handler.fetch(request, env, ctx);
  if (typeof fetch !== 'function') throw new TypeError('fromFetchHandler() needs a function or an object with fetch()');
  let log = options.log;
  const ctx: ExecutionContext = {
    waitUntil(promise) {
      Promise.resolve(promise).catch((err: unknown) => (log ??= streamLogger()).error(`waitUntil: ${formatError(err)}`));
    },
    passThroughOnException() {},
    props: {},
  };
  const native = options.nativeRequest === true;
  if (options.lightweightResponse === true) useLightweightResponse();
  return function fetchApplication(environ: Environ, startResponse: StartResponse): Body | Promise<Body> {
    let request: Request;
    let abort: AbortController | undefined;
    if (native) {
      abort = new AbortController();
      const outer = signalOf(environ);
      if (outer !== undefined) outer.addEventListener('abort', () => abort!.abort(outer.reason), { once: true });
      request = nativeRequest(environ, abort.signal);
    } else {
      request = lazyRequest(environ);
    }
    const cut = () => {
      if (abort !== undefined) {
        if (!abort.signal.aborted) abort.abort(disconnectReason());
      } else abortLazy(request);
    };
    const result = fetch(request, environ, ctx);
    if (isPromise<Response>(result)) return result.then((response) => answer(response, startResponse, cut));
    return answer(result, startResponse, cut);
  };
}

/** Hands the Response's status and headers to startResponse and returns its body as a TSGI body. */
function answer(response: Response, startResponse: StartResponse, cut: () => void): Body | Promise<Body> {
  const light = lightweightParts(response);
  if (light !== null) {
    // A LightweightResponse that nobody looked into: its string or bytes are the whole body.
    startResponse(`${light.status} ${light.statusText || reasonPhrase(light.status)}`, fields(light.headers, light.status));
    return light.body === null ? [] : [light.body];
  }
  if (response === null || typeof response !== 'object' || typeof response.status !== 'number') {
    throw new TypeError(`The Fetch handler must return a Response (got ${response === null ? 'null' : typeof response})`);
  }
  const code = response.status;
  const headers = fields(response.headers as unknown as Iterable<[string, string]>, code);
  const body = response.body;
  try {
    startResponse(`${code} ${response.statusText || reasonPhrase(code)}`, headers);
  } catch (err) {
    if (body !== null) body.cancel().catch(() => {});
    throw err;
  }
  if (body === null) return [];
  return readBody(body.getReader(), cut);
}

/** A Response's fields as a HeaderList, without those the door owns. */
function fields(source: Iterable<[string, string]>, code: number): HeaderList {
  const headers: HeaderList = [];
  for (const [name, value] of source) {
    // The door frames the body and manages the connection: Transfer-Encoding, Connection and the
    // other hop-by-hop fields are its business (and refused by startResponse).
    if (isHopByHop(name)) continue;
    // RFC 9110 §8.6: no Content-Length with 204 (startResponse refuses it).
    if (code === 204 && name.length === 14 && name.toLowerCase() === 'content-length') continue;
    headers.push([name, value]);
  }
  return headers;
}

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

/** The result of `p` if it settles within a few microtask turns, else undefined. */
function settledSoon(p: Promise<ReadResult>): Promise<ReadResult | undefined> {
  let result: ReadResult | undefined;
  p.then(
    (r) => {
      result = r;
    },
    () => {},
  );
  // A body made from a string or bytes ends one or two turns after its chunk (measured on undici).
  return Promise.resolve()
    .then(undefined)
    .then(undefined)
    .then(() => result);
}

function readBody(reader: ReadableStreamDefaultReader<Uint8Array>, cut: () => void): Promise<Body> {
  const first = reader.read();
  return settledSoon(first).then((r1) => {
    // Nothing yet (a stream that waits for its first event): stream it, so that the door can
    // already tell the body when the client goes away.
    if (r1 === undefined) return new StreamBody(reader, cut, null, first);
    if (r1.done) return [];
    const second = reader.read();
    return settledSoon(second).then((r2) => {
      if (r2 !== undefined && r2.done) return [bytes(r1.value)];
      return new StreamBody(reader, cut, bytes(r1.value), r2 ?? second);
    });
  });
}

function bytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return new TextEncoder().encode(v);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`A Response body chunk must be bytes (got ${typeof v})`);
}

/** A Response body still streaming, as an async iterator the engine pulls. */
class StreamBody implements AsyncIterableIterator<Uint8Array> {
  private finished = false;
  private closed = false;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly cut: () => void,
    private first: Uint8Array | null,
    private pending: Promise<ReadResult> | ReadResult | null,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.first !== null) {
      const value = this.first;
      this.first = null;
      return Promise.resolve({ done: false, value });
    }
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    const p = this.pending ?? this.reader.read();
    this.pending = null;
    return Promise.resolve(p).then((r) => {
      if (r.done) {
        this.finished = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: bytes(r.value) };
    });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.stop();
    return Promise.resolve({ done: true, value: undefined });
  }

  close(): void {
    this.stop();
  }

  private stop(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.finished) {
      // Not read to its end: the client went away (or the door stopped early). Tell the handler.
      this.reader.cancel(disconnectReason()).catch(() => {});
      this.cut();
    }
  }
}
