// Wraps the application to see each request begin and end (status, body bytes, duration) without
// touching the doors: the access log, the metrics, max-requests and the watchdog's "request in
// progress" all hang on it. The wrapper is only installed when one of them is on.
import type { Application, Body, Chunk, Environ, StartResponse } from '../spec.js';

export interface RequestHooks {
  /** A request reached the application. Returns a token handed back to `end`. */
  begin(environ: Environ): number;
  /** Its response is over (the body was closed). `started`: Date.now() at its start; 0 from the light wrapper (`counted` false). */
  end(token: number, environ: Environ, status: number, bytes: number, started: number): void;
}

const size = (c: Chunk): number => (typeof c === 'string' ? Buffer.byteLength(c) : c.byteLength);

function statusCode(status: string): number {
  const n = Number(status.slice(0, 3));
  return Number.isInteger(n) ? n : 500;
}

/** What the engine refuses as a body without iterating it: hand it on untouched. */
const notABody = (body: unknown): boolean => body === null || typeof body !== 'object' || body instanceof Uint8Array;

const isPromise = (v: unknown): v is Promise<Body> => v !== null && typeof v === 'object' && typeof (v as Promise<Body>).then === 'function';

/**
 * Wraps the application for `hooks`. With `counted` false (no access log, no metrics: only the
 * watchdog and max-requests need to know), the status and the body bytes are not tracked: the
 * application gets the door's own startResponse, and a body's chunks pass through untouched.
 */
export function instrument(app: Application, hooks: RequestHooks, counted = true): Application {
  if (!counted) return watch(app, hooks);
  return (environ: Environ, startResponse: StartResponse) => {
    const started = Date.now();
    const token = hooks.begin(environ);
    const head = environ.REQUEST_METHOD === 'HEAD';
    let status = 500;
    let done = false;
    let bytes = 0;
    const finish = () => {
      if (done) return;
      done = true;
      hooks.end(token, environ, status, head ? 0 : bytes, started);
    };
    const sr: StartResponse = (s, h, exc) => {
      const write = startResponse(s, h, exc);
      status = statusCode(s);
      return (chunk: Chunk) => {
        bytes += size(chunk);
        return write(chunk);
      };
    };
    const wrapBody = (body: Body): Body => {
      if (notABody(body)) {
        // The engine answers 500 for it; wrapping a string would make it an iterable of chars.
        status = 500;
        finish();
        return body;
      }
      if (Array.isArray(body)) {
        for (const c of body as Chunk[]) bytes += size(c);
        // An array is written at once, right after this returns.
        const close = (body as Body).close;
        if (close) {
          (body as Body).close = () => {
            finish();
            return close.call(body);
          };
        } else queueMicrotask(finish);
        return body;
      }
      return wrapIterable(body, (n) => (bytes += n), finish);
    };
    let result: Body | Promise<Body>;
    try {
      result = app(environ, sr);
    } catch (err) {
      status = 500;
      finish();
      throw err;
    }
    if (isPromise(result)) {
      return result.then(wrapBody, (err: unknown) => {
        status = 500;
        finish();
        throw err;
      });
    }
    return wrapBody(result);
  };
}

/** The light wrapper: begin and end of each request, nothing per chunk. */
function watch(app: Application, hooks: RequestHooks): Application {
  const ended = (body: Body, token: number, environ: Environ, started: number): Body => {
    if (Array.isArray(body)) {
      const close = (body as Body).close;
      if (typeof close !== 'function') {
        // An array is written at once, right after this returns, by the door's own code.
        hooks.end(token, environ, 0, 0, started);
        return body;
      }
      (body as Body).close = () => {
        hooks.end(token, environ, 0, 0, started);
        return close.call(body);
      };
      return body;
    }
    return onClose(body, () => hooks.end(token, environ, 0, 0, started));
  };
  return (environ: Environ, startResponse: StartResponse) => {
    // No clock read: `started` is for the access log and the metrics, which this wrapper is not used with.
    const started = 0;
    const token = hooks.begin(environ);
    let result: Body | Promise<Body>;
    try {
      result = app(environ, startResponse);
    } catch (err) {
      hooks.end(token, environ, 500, 0, started);
      throw err;
    }
    if (isPromise(result)) {
      return result.then(
        (body) => ended(body, token, environ, started),
        (err: unknown) => {
          hooks.end(token, environ, 500, 0, started);
          throw err;
        },
      );
    }
    return ended(result, token, environ, started);
  };
}

/** The same iterable (its own iterators, untouched), calling `onClosed` once when it is closed. */
function onClose(body: Body, onClosed: () => void): Body {
  // Not a body (a bare string or bytes, null): hand it on as it is, the engine refuses it (and calls no close).
  if (notABody(body)) {
    onClosed();
    return body;
  }
  const out: Record<PropertyKey, unknown> = {};
  const asyncIter = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator];
  const syncIter = (body as Iterable<Chunk>)[Symbol.iterator];
  if (typeof asyncIter === 'function') out[Symbol.asyncIterator] = () => asyncIter.call(body);
  if (typeof syncIter === 'function') out[Symbol.iterator] = () => syncIter.call(body);
  let closed = false;
  out.close = () => {
    if (!closed) {
      closed = true;
      onClosed();
    }
    return typeof body.close === 'function' ? body.close() : undefined;
  };
  return out as unknown as Body;
}

/** The same iterable, counting the bytes of each chunk and calling `onClose` when it is closed. */
function wrapIterable(body: Body, count: (n: number) => void, onClose: () => void): Body {
  const out: Record<PropertyKey, unknown> = {};
  const asyncIter = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator];
  const syncIter = (body as Iterable<Chunk>)[Symbol.iterator];
  if (typeof asyncIter === 'function') {
    out[Symbol.asyncIterator] = () => {
      const it = asyncIter.call(body);
      return {
        async next(v?: unknown) {
          const r = await it.next(v);
          if (!r.done) count(size(r.value));
          return r;
        },
        return: it.return ? (v?: unknown) => it.return!(v) : undefined,
      };
    };
  }
  if (typeof syncIter === 'function') {
    out[Symbol.iterator] = () => {
      const it = syncIter.call(body);
      return {
        next(v?: unknown) {
          const r = it.next(v);
          if (!r.done) count(size(r.value));
          return r;
        },
        return: it.return ? (v?: unknown) => it.return!(v) : undefined,
      };
    };
  }
  out.close = () => {
    onClose();
    return body.close?.();
  };
  return out as unknown as Body;
}
