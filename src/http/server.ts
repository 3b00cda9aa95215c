// The HTTP/1.1 door, on node:http (llhttp: the hardened parser Node's ecosystem rides on).
// node:http gives keep-alive, pipelining, chunked request bodies and response framing; this file adds
// what it lacks for a WSGI server: the environ, the limits node leaves open (request line length,
// header count: node silently drops headers past its cap), versions other than 1.0/1.1, duplicate
// Host and Content-Length, 100-continue on first read, timeouts, and a graceful stop.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Application } from '../spec.js';
import { runApp } from '../engine/handler.js';
import { EMPTY_INPUT, Input } from '../engine/input.js';
import { LogErrors, streamLogger, type Logger } from '../engine/log.js';
import { FileWrapper } from '../util.js';
import { VERSION } from '../version.js';
import { BadRequest, buildEnviron, type EnvironBase } from './environ.js';
import { ResponseSink } from './sink.js';
import { RequestSource } from './source.js';

export interface HttpOptions {
  /** SERVER_NAME; defaults to the bind address. Never taken from the Host header. */
  serverName?: string;
  /** SCRIPT_NAME for every request (the application's mount point behind a proxy). */
  scriptName?: string;
  /** wsgi.url_scheme. */
  scheme?: 'http' | 'https';
  /** wsgi.multiprocess: true when several workers serve the same application. */
  multiprocess?: boolean;
  /** The longest request target, in bytes; longer ones get 414. */
  limitRequestLine?: number;
  /** The most header fields in a request; more get 431. */
  limitRequestFields?: number;
  /** The largest request head (request line and headers), in bytes; larger ones get 431. */
  maxHeaderSize?: number;
  /** Milliseconds for the whole request head to arrive (slowloris defence); then 408. */
  headersTimeout?: number;
  /** Milliseconds the body may stall while the application waits for it; then 408. */
  bodyTimeout?: number;
  /** Milliseconds an idle keep-alive connection stays open (above 60 s: load balancers' idle timeout). */
  keepAliveTimeout?: number;
  /** Milliseconds for a whole request (head and body) to arrive; 0 for no limit. */
  requestTimeout?: number;
  /** The error log. */
  log?: Logger;
}

export const HTTP_DEFAULTS = {
  limitRequestLine: 8190,
  limitRequestFields: 100,
  maxHeaderSize: 16384,
  headersTimeout: 10_000,
  bodyTimeout: 30_000,
  keepAliveTimeout: 65_000,
  requestTimeout: 300_000,
} as const;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  505: 'HTTP Version Not Supported',
};

/** A raw error response on a socket whose request node:http could not parse. */
function rawError(status: number): string {
  const reason = STATUS_TEXT[status] ?? 'Bad Request';
  const body = `${reason}\n`;
  return (
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${body.length}\r\n\r\n${body}`
  );
}

/**
 * The request handling shared by `serve()` and `makeServer()`: one instance per listening server,
 * one bound listener, no per-request closures beyond the engine's startResponse and write.
 */
export class HttpDoor {
  readonly log: Logger;
  readonly base: EnvironBase;
  private readonly opts: Required<Pick<HttpOptions, keyof typeof HTTP_DEFAULTS>>;
  /** Requests whose responses are not finished yet. */
  inFlight = 0;
  /** Set while stopping: responses tell the client the connection closes. */
  draining = false;
  private idleWaiters: Array<() => void> = [];
  /** Sockets that may carry one request only (wsgiref's handleRequest()). */
  readonly oneShot = new WeakSet<Socket>();

  constructor(
    readonly app: Application,
    options: HttpOptions,
  ) {
    this.log = options.log ?? streamLogger();
    this.opts = { ...HTTP_DEFAULTS };
    for (const k of Object.keys(HTTP_DEFAULTS) as Array<keyof typeof HTTP_DEFAULTS>) {
      const v = options[k];
      if (v !== undefined) this.opts[k] = v;
    }
    this.base = {
      serverName: options.serverName ?? '',
      serverPort: '',
      scheme: options.scheme ?? 'http',
      scriptName: options.scriptName ?? '',
      software: `tsgi/${VERSION}`,
      errors: new LogErrors(this.log),
      multiprocess: options.multiprocess ?? false,
      fileWrapper: FileWrapper,
    };
    this.onRequest = this.onRequest.bind(this);
    this.onContinue = this.onContinue.bind(this);
    this.onClientError = this.onClientError.bind(this);
  }

  /** Creates the node:http server with our limits and timeouts. */
  createServer(): http.Server {
    const o = this.opts;
    const server = http.createServer({
      maxHeaderSize: o.maxHeaderSize,
      requestTimeout: o.requestTimeout,
      headersTimeout: o.headersTimeout,
      keepAliveTimeout: o.keepAliveTimeout,
      connectionsCheckingInterval: 1000,
      // Count fields ourselves and answer 431: node's own cap drops the extra headers silently.
      maxHeadersCount: 0,
      joinDuplicateHeaders: false,
      noDelay: true,
    } as http.ServerOptions);
    server.on('request', this.onRequest);
    server.on('checkContinue', this.onContinue);
    server.on('clientError', this.onClientError);
    return server;
  }

  /** Sets SERVER_NAME/SERVER_PORT from the bound address. */
  bound(host: string, port: number): void {
    if (!this.base.serverName) this.base.serverName = host;
    this.base.serverPort = String(port);
  }

  onContinue(req: IncomingMessage, res: ServerResponse): void {
    this.handle(req, res, true);
  }

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.handle(req, res, false);
  }

  private handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    const o = this.opts;
    if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) {
      // llhttp lets HTTP/0.9 and HTTP/2.0 request lines through; we speak 1.0 and 1.1 only.
      return this.refuse(req, res, 505, `unsupported protocol HTTP/${req.httpVersion}`);
    }
    const url = req.url ?? '';
    if (url.length > o.limitRequestLine) {
      return this.refuse(req, res, 414, `request target of ${url.length} bytes (limit ${o.limitRequestLine})`);
    }
    if (req.rawHeaders.length > 2 * o.limitRequestFields) {
      return this.refuse(req, res, 431, `${req.rawHeaders.length / 2} header fields (limit ${o.limitRequestFields})`);
    }
    let environ;
    try {
      environ = buildEnviron(req, this.base, EMPTY_INPUT);
    } catch (err) {
      if (err instanceof BadRequest) return this.refuse(req, res, err.status, err.message);
      throw err;
    }
    const length = environ.CONTENT_LENGTH;
    if (length !== undefined ? length !== '0' : environ.HTTP_TRANSFER_ENCODING !== undefined) {
      // llhttp has checked the framing: digits only, no Content-Length with Transfer-Encoding.
      const source = new RequestSource(req, expectContinue ? res : null, o.bodyTimeout);
      environ['wsgi.input'] = new Input(source, length !== undefined ? Number(length) : Infinity);
    }
    const keepAlive = !this.draining && !this.oneShot.has(req.socket);
    this.inFlight++;
    const done = runApp(this.app, environ, new ResponseSink(res, keepAlive), { log: this.log, method: environ.REQUEST_METHOD });
    if (done === undefined) this.finished();
    else done.then(() => this.finished());
  }

  private finished(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves when no response is in progress. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private refuse(req: IncomingMessage, res: ServerResponse, status: number, why: string): void {
    this.log.info(`${status} for ${req.socket.remoteAddress ?? '?'}: ${why}`);
    const body = `${STATUS_TEXT[status] ?? 'Bad Request'}\n`;
    res.shouldKeepAlive = false;
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': body.length, Connection: 'close' });
    res.end(body);
  }

  onClientError(err: Error & { code?: string; rawPacket?: Buffer }, socket: Socket): void {
    const code = err.code ?? '';
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    let status = 400;
    if (code === 'HPE_HEADER_OVERFLOW') {
      // One limit in llhttp covers the request line and the headers; tell the two apart for the client.
      const raw = err.rawPacket;
      const lineEnd = raw ? raw.indexOf('\n') : 0;
      status = raw && (lineEnd === -1 || lineEnd > this.opts.limitRequestLine) ? 414 : 431;
    } else if (code === 'HPE_HEADERS_TIMEOUT' || code === 'ERR_HTTP_REQUEST_TIMEOUT') status = 408;
    else if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') status = 413;
    this.log.info(`${status} for ${socket.remoteAddress ?? '?'}: ${code || err.message}`);
    // A response already under way on this connection (pipelining) cannot be followed by ours.
    if ((socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    socket.end(rawError(status));
    socket.destroySoon?.();
  }
}
