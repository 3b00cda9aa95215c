/**
 * `handler(fn)`: a TSGI application from a function of a `Request` that returns a `Response` (or any
 * TSGI application, such as `exc.asApp()`). An `HTTPException` thrown from `fn`, or from the request's
 * own parsing (413, 400, 415), becomes its response; any other error propagates to the server, which
 * logs it and answers 500 (docs/SPEC.md R57).
 *
 * The request's temporary files are removed when the response ends, on every path: after the body's
 * `close()` (which the server always calls, R7), when `fn` throws, and when the client goes away
 * (`tsgi.signal`, where the server provides it).
 * @module
 */
import type { Application, Body, Environ, StartResponse } from '../spec.js';
import { HTTPException } from '../exceptions/index.js';
import { Request, type RequestOptions } from './request.js';
import type { Response } from './response.js';

/** What a handler function may return: a Response, or any TSGI application to answer with. */
export type HandlerResult = Response | Application;

export interface HandlerOptions extends RequestOptions {
  /** The Request class to make (a subclass with its own static limits, say). @default Request */
  requestClass?: typeof Request;
}

/** Wraps `body` so that its close() (called once by the server) also closes the request. */
function closing(body: Body, request: Request): Body {
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      if (typeof body.close === 'function') await body.close();
    } finally {
      await request.close();
    }
  };
  const iterator = body as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
  if (Array.isArray(body)) return Object.assign([...body], { close }) as Body;
  if (typeof iterator[Symbol.asyncIterator] === 'function') {
    return { [Symbol.asyncIterator]: () => (body as AsyncIterable<never>)[Symbol.asyncIterator](), close } as Body;
  }
  return { [Symbol.iterator]: () => (body as Iterable<never>)[Symbol.iterator](), close } as Body;
}

/**
 * Turns `fn` into a TSGI application. `options` set the request's limits and temporary directory.
 *
 * @example
 * export const application = handler(async (request) => {
 *   const name = request.args.get('name') ?? 'world';
 *   return new Response(`Hello, ${name}!\n`);
 * });
 */
export function handler(fn: (request: Request) => HandlerResult | Promise<HandlerResult>, options: HandlerOptions = {}): Application {
  const { requestClass = Request, ...requestOptions } = options;
  return async function requestHandler(environ: Environ, startResponse: StartResponse): Promise<Body> {
    const request = new requestClass(environ, requestOptions);
    let app: Application;
    try {
      app = await fn(request);
      if (typeof app !== 'function') throw new TypeError(`handler(): the function returned ${app === null ? 'null' : typeof app}, not a Response`);
    } catch (err) {
      if (!(err instanceof HTTPException)) {
        await request.close();
        throw err;
      }
      app = err.asApp();
    }
    try {
      return closing(await app(environ, startResponse), request);
    } catch (err) {
      await request.close();
      throw err;
    }
  };
}
