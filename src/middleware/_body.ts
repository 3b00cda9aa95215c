// Helpers the middleware share for PEP 3333's middleware rules (docs/SPEC.md R52): return the body as
// soon as the wrapped application does, keep a synchronous application synchronous, never hold a chunk
// back, and call the wrapped body's close() exactly once. Internal: not part of the public API.
import type { Application, Body, Chunk, Environ, HeaderList, StartResponse } from '../spec.js';
import { utf8 } from '../protocol/bytes.js';

export function isPromiseLike<T = unknown>(v: unknown): v is PromiseLike<T> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<T>).then === 'function';
}

type ByteLength = (s: string, enc: string) => number;
const nodeByteLength = (globalThis as { Buffer?: { byteLength: ByteLength } }).Buffer?.byteLength;

/** The bytes a chunk becomes on the wire (a string is UTF-8). */
export function byteLength(chunk: Chunk): number {
  if (typeof chunk !== 'string') return chunk.length;
  return nodeByteLength ? nodeByteLength(chunk, 'utf8') : utf8(chunk).length;
}

/** Whether the engine would iterate this body asynchronously (it prefers Symbol.asyncIterator). */
export function isAsyncBody(body: Body): body is AsyncIterable<Chunk> & Body {
  return typeof (body as Partial<AsyncIterable<Chunk>>)[Symbol.asyncIterator] === 'function';
}

/** A function that calls `body.close()` the first time it is called, and never again. */
export function closeOnce(body: Body): () => void | Promise<void> {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (typeof body.close === 'function') return body.close();
  };
}

/** Gives `target` a close() (an array copy or a generator object). */
export function withClose<T extends object>(target: T, close: () => void | Promise<void>): T & Body {
  Object.defineProperty(target, 'close', { value: close, configurable: true, writable: true });
  return target as T & Body;
}

/**
 * Calls the application and hands its body to `ok`, synchronously when the application answered
 * synchronously (so a sync app pays no Promise), or after its Promise settles. A synchronous throw
 * and a rejection both go to `fail` when given, else propagate unchanged.
 */
export function callApp(
  app: Application,
  environ: Environ,
  startResponse: StartResponse,
  ok: (body: Body) => Body,
  fail?: (err: unknown) => Body,
): Body | Promise<Body> {
  let result: Body | Promise<Body>;
  try {
    result = app(environ, startResponse);
  } catch (err) {
    if (fail) return fail(err);
    throw err;
  }
  if (isPromiseLike<Body>(result)) return Promise.resolve(result).then(ok, fail);
  return ok(result);
}

/** The status code of a status line ('404 Not Found' → 404), or 0 when it is not one. */
export function statusCode(status: string): number {
  const n = Number(status.slice(0, 3));
  return Number.isInteger(n) ? n : 0;
}

/** The first value of a response header, case-insensitively (no copy, no checks). */
export function findHeader(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of headers) if (k.length === lower.length && k.toLowerCase() === lower) return v;
  return undefined;
}

/** An environ value as a string ('' when absent or not a string). */
export function env(environ: Environ, key: keyof Environ): string {
  const v: unknown = environ[key];
  return typeof v === 'string' ? v : '';
}

export { parseQualityList } from '../protocol/accept.js';
