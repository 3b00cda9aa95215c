// toFetchHandler: a TSGI application as a Fetch handler, `(Request) => Promise<Response>`, for Bun,
// Deno, Workers, Hono and anything else that speaks Request and Response. It runs the application
// through the engine, so every check of docs/SPEC.md applies, and imports nothing from Node.
import type { Application } from '../spec.js';
import { ClientError, runApp } from '../runner/handler.js';
import { LogErrors, formatError, streamLogger, type Logger } from '../runner/log.js';
import { EMPTY_INPUT } from '../runner/input.js';
import { FileWrapper } from '../util.js';
import { SOFTWARE, defaultRemote, requestEnviron, type FetchBase, type RemoteResolver } from './environ.js';
import { defineSignal } from './signal.js';
import { FetchSink } from './sink.js';

export interface FetchHandlerOptions {
  /** SCRIPT_NAME of every request (where the application is mounted). Default `''`. */
  scriptName?: string;
  /** SERVER_NAME; default: the host of the request's URL. */
  serverName?: string;
  /** SERVER_PORT; default: the port of the request's URL (80 or 443 when it has none). */
  serverPort?: string | number;
  /** wsgi.multiprocess. Default false. */
  multiprocess?: boolean;
  /**
   * REMOTE_ADDR and REMOTE_PORT from what the runtime passes next to the Request. The default
   * understands @hono/node-server (`env.incoming`), Bun (`server.requestIP()`) and Deno (`info.remoteAddr`).
   */
  remoteAddress?: RemoteResolver;
  /** The error log (application errors, `wsgi.errors`). Default: stderr, or console.error off Node. */
  log?: Logger;
}

/** A Fetch handler: Workers' `fetch(request, env, ctx)`, Bun's `fetch(request, server)`, Deno's `(request, info)`. */
export type FetchHandler = (request: Request, env?: unknown, ctx?: unknown) => Promise<Response>;

/**
 * Runs a TSGI application as a Fetch handler. Each call builds the environ from the Request (the
 * body is read from `request.body` only as the application reads `wsgi.input`) and answers with a
 * Response as soon as the status and headers are known; the body streams with backpressure.
 * `environ['tsgi.signal']` fires when the client goes away (the runtime cancels the body, or the
 * request's own signal fires) before the response is complete, and the body's `close()` runs then.
 */
export function toFetchHandler(app: Application, options: FetchHandlerOptions = {}): FetchHandler {
  const log = options.log ?? streamLogger();
  const base: FetchBase = {
    scriptName: options.scriptName ?? '',
    serverName: options.serverName ?? '',
    serverPort: options.serverPort === undefined ? '' : String(options.serverPort),
    software: SOFTWARE,
    errors: new LogErrors(log),
    multiprocess: options.multiprocess ?? false,
    fileWrapper: FileWrapper,
    input: EMPTY_INPUT,
    remote: options.remoteAddress ?? defaultRemote,
  };
  return function fetch(request: Request, env?: unknown, ctx?: unknown): Promise<Response> {
    let environ;
    try {
      environ = requestEnviron(request, base, env, ctx);
    } catch (err) {
      if (!(err instanceof ClientError)) {
        log.error(`${request.method} ${request.url}: ${formatError(err)}`);
        return Promise.resolve(new Response('A server error occurred.\n', { status: 500 }));
      }
      log.info(`${err.status} for ${request.method} ${request.url}: ${err.message}`);
      return Promise.resolve(new Response('Bad Request\n', { status: err.status, headers: { 'Content-Type': 'text/plain' } }));
    }
    const sink = new FetchSink(() => request.signal);
    defineSignal(environ, (abort) => sink.onClose(abort));
    const done = runApp(app, environ, sink, { log, method: environ.REQUEST_METHOD });
    return sink.ready(done);
  };
}
