// toNodeListener: a TSGI application as a Node `(req, res)` listener, to mount inside Express,
// Connect, or a bare `http.createServer()`. The environ is the HTTP door's (environFromHead over
// req.rawHeaders), the response goes through the engine to the door's ResponseSink, and the body is
// read from `req` as the application reads wsgi.input (paused mode: a slow reader slows the client).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Application, Environ, HeaderList } from '../spec.js';
import { ClientError, runApp } from '../runner/handler.js';
import { EMPTY_INPUT, Input } from '../runner/input.js';
import { LogErrors, formatError, streamLogger, type Logger } from '../runner/log.js';
import { decodePath, splitTarget } from '../protocol/target.js';
import { environFromHead, protocolName, type HeadBase } from '../protocol/environ.js';
import { defineSignal } from '../fetch/signal.js';
import { ResponseSink } from '../http/node/sink.js';

declare module '../spec.js' {
  interface EnvironExtensions {
    /** The Node request a `toNodeListener` mount answers, with what middleware in front put on it. */
    'tsgi.node.req'?: IncomingMessage;
  }
}
import { RequestSource } from '../http/node/source.js';
import { FileWrapper } from '../util.js';
import { VERSION } from '../version.js';
import { OPTION_DEFAULTS } from '../settings/defaults.js';

/**
 * The HTTP door's sink, plus one case the door never meets: fields set on `res` before the
 * application ran (Express's X-Powered-By, a CORS middleware in front). node's writeHead() then
 * takes a list only as flat [name, value, name, value] and setHeader() collapses repeats, so the
 * application's fields are added one by one instead: each of its names replaces an earlier field
 * of that name, and its repeats (Set-Cookie) stay.
 */
class ListenerSink extends ResponseSink {
  constructor(private readonly response: ServerResponse) {
    super(response, true);
  }

  override head(code: number, status: string, headers: HeaderList, length: number, bodyless: boolean, close = false): void {
    const res = this.response;
    if (res.getHeaderNames().length === 0) return super.head(code, status, headers, length, bodyless, close);
    if (close) res.shouldKeepAlive = false;
    for (const [name] of headers) res.removeHeader(name);
    for (const [name, value] of headers) res.appendHeader(name, value);
    res.writeHead(code, status.slice(4));
  }
}

export interface NodeListenerOptions {
  /**
   * SCRIPT_NAME in front of the mount point. Express's (`req.baseUrl`) and Connect's mount prefix
   * is added to it by itself, so `app.use('/legacy', toNodeListener(tsgiApp))` gives
   * SCRIPT_NAME `/legacy` and the rest of the path in PATH_INFO.
   */
  scriptName?: string;
  /** SERVER_NAME; default: the local address of the connection. Never taken from Host. */
  serverName?: string;
  /** SERVER_PORT; default: the local port of the connection. */
  serverPort?: string | number;
  /** wsgi.url_scheme; default `https` on a TLS socket, else `http`. */
  scheme?: 'http' | 'https';
  /** wsgi.multiprocess. Default false. */
  multiprocess?: boolean;
  /** Milliseconds the request body may stall while the application waits for it; then 408. Default 30 000. */
  bodyTimeout?: number;
  /** The error log. Default: stderr. */
  log?: Logger;
}

/** A Node request listener; `next` (Express, Connect) is accepted and called only on an internal error. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

type MountedRequest = IncomingMessage & { baseUrl?: unknown; originalUrl?: unknown };

/** The path prefix a router (Express, Connect) cut from req.url before calling us, or ''. */
function mountPrefix(req: MountedRequest): string {
  if (typeof req.baseUrl === 'string') return req.baseUrl;
  const original = req.originalUrl;
  const url = req.url ?? '';
  if (typeof original !== 'string' || original === url) return '';
  // Connect keeps no baseUrl: the prefix is what the original path has in front of the current one.
  const q1 = original.indexOf('?');
  const q2 = url.indexOf('?');
  const op = q1 === -1 ? original : original.slice(0, q1);
  let up = q2 === -1 ? url : url.slice(0, q2);
  if (op.endsWith(up)) return op.slice(0, op.length - up.length);
  // A router that added '/' when it cut the whole path (`/legacy` -> `/`).
  if (up === '/') up = '';
  return op.endsWith(up) ? op.slice(0, op.length - up.length) : '';
}

/**
 * Runs a TSGI application as a Node request listener. Everything the HTTP door does for a request
 * happens here too (environ, input with backpressure, the engine's checks and framing, `close()`),
 * except what the host server already did (parsing, limits, timeouts). `environ['tsgi.signal']`
 * fires when the connection closes before the response is complete, and `environ['tsgi.node.req']`
 * is the IncomingMessage (for what middleware in front put on it, e.g. `req.user`).
 *
 * Mount it before any body parser: a body that `express.json()` consumed is gone from wsgi.input.
 */
export function toNodeListener(app: Application, options: NodeListenerOptions = {}): NodeListener {
  const log = options.log ?? streamLogger();
  const bodyTimeout = options.bodyTimeout ?? OPTION_DEFAULTS.bodyTimeout;
  // SERVER_NAME / SERVER_PORT '' : the connection's local address and port (environFromHead's fallback).
  const base: HeadBase = {
    serverName: options.serverName ?? '',
    serverPort: options.serverPort === undefined ? '' : String(options.serverPort),
    scriptName: options.scriptName ?? '',
    software: `tsgi/${VERSION}`,
    errors: new LogErrors(log),
    multiprocess: options.multiprocess ?? false,
    fileWrapper: FileWrapper,
    input: EMPTY_INPUT,
  };
  return function tsgiListener(req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void {
    // A pipelined request reaches the listener while the response before it is still going out; its
    // own response gets the socket after that. The sink needs the socket, so wait for it (as the
    // HTTP door does): if the connection closes first, the request could never have been answered.
    if (res.socket === null && !res.writableEnded) {
      res.once('socket', () => tsgiListener(req, res, next));
      return;
    }
    const socket: Socket = req.socket;
    const scheme = options.scheme ?? ((socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http');
    const url = req.url ?? '/';
    const [path, query] = splitTarget(url);
    const prefix = mountPrefix(req as MountedRequest);
    const original = (req as MountedRequest).originalUrl;
    // REQUEST_URI is what the client sent: before a router cut its mount prefix off req.url.
    const target = prefix !== '' && typeof original === 'string' ? original : url;
    let environ: Environ;
    try {
      const protocol = protocolName(req.httpVersion);
      environ = environFromHead({ method: req.method ?? 'GET', target, path, query, protocol, rawHeaders: req.rawHeaders, scheme, peer: socket }, base);
    } catch (err) {
      if (err instanceof ClientError) {
        log.info(`${err.status} for ${req.socket.remoteAddress ?? '?'}: ${err.message}`);
        if (!res.headersSent) {
          res.writeHead(err.status, { 'Content-Type': 'text/plain', 'Content-Length': 12, Connection: 'close' });
          res.end('Bad Request\n');
        }
        return;
      }
      if (next) return next(err);
      log.error(`${req.method} ${req.url}: ${formatError(err)}`);
      res.destroy();
      return;
    }
    if (prefix !== '') environ.SCRIPT_NAME = base.scriptName + decodePath(prefix);
    const length = environ.CONTENT_LENGTH;
    if (length !== undefined ? length !== '0' : environ.HTTP_TRANSFER_ENCODING !== undefined) {
      environ['wsgi.input'] = new Input(new RequestSource(req, null, bodyTimeout), length !== undefined ? Number(length) : Infinity);
    }
    environ['tsgi.node.req'] = req;
    defineSignal(environ, (abort) => {
      if (res.writableFinished) return;
      if (res.destroyed || res.socket === null || res.socket.destroyed) abort();
      else res.once('close', () => res.writableFinished || abort());
    });
    runApp(app, environ, new ListenerSink(res), { log, method: environ.REQUEST_METHOD });
  };
}
