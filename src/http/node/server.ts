// The HTTP/1.1 door, on node:http (llhttp: the hardened parser Node's ecosystem rides on).
// node:http gives keep-alive, pipelining, chunked request bodies and response framing; this file adds
// what it lacks for a WSGI server: the environ, the limits node leaves open (request line length,
// header count: node silently drops headers past its cap), versions other than 1.0/1.1, duplicate
// Host and Content-Length, 100-continue on first read, timeouts, and a graceful stop.
import type { IncomingMessage, Server as HttpServer, ServerOptions, ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Application } from '../../spec.js';
import { runApp } from '../../runner/handler.js';
import { Input } from '../../runner/input.js';
import { looksLikeUwsgi } from '../../protocol/uwsgi.js';
import { frameRequest, type Framing } from '../../protocol/framing.js';
import { ClientError } from '../../errors.js';
import { requestEnviron } from '../common/environ.js';
import { DoorCore, rawError } from '../common/door.js';
import { reasonPhrase } from '../../protocol/status.js';
import type { HttpOptions } from '../common/options.js';
import { ResponseSink, type SinkDoor } from './sink.js';
import { RequestSource } from './source.js';
import { OpenList } from '../../server/open-list.js';

export { HTTP_DEFAULTS, type HttpOptions } from '../common/options.js';

// node:http is taken with process.getBuiltinModule, not an ES import: importing a built-in as an ES
// module reads every one of its exports, and node:http's WebSocket, CloseEvent and MessageEvent
// getters (Node 22 and later) then load all of undici, about 14 MB of RSS in a process that serves no
// WebSocket (docs/deploy-process.md, "Memory").
const http = process.getBuiltinModule('node:http');

/** The longest "drain idle" moment: how long a kept connection may still send one request once a graceful stop began. */
const DRAIN_IDLE_MS = 2000;
/** How long a closing connection's write side stays ended, the socket open, before it is destroyed. */
const LINGER_MS = 2000;

type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

/**
 * The request handling shared by `serve()` and `makeServer()`: one instance per listening server,
 * one bound listener, no per-request closures beyond the engine's startResponse and write.
 */
export class HttpDoor extends DoorCore implements SinkDoor {
  /** Every open connection (for the graceful stop). */
  private readonly sockets = new OpenList<HttpSocket>();
  /** Connections closing: write side ended, destroyed after LINGER_MS or when the client closes. */
  private readonly lingering = new WeakSet<Socket>();
  /** Drain-idle timers, during a graceful stop. */
  private readonly drainTimers = new Map<Socket, ReturnType<typeof setTimeout>>();
  private connectionsGone: (() => void) | null = null;
  /** Sockets whose parser failed: the response in progress may finish, nothing after it runs. */
  private readonly doomed = new WeakSet<Socket>();
  /** Sockets whose response in progress is their last (frameRequest said close): nothing after it is read. */
  private readonly last = new WeakSet<Socket>();

  constructor(app: Application, options: HttpOptions) {
    super(app, options);
    this.onRequest = this.onRequest.bind(this);
    this.onContinue = this.onContinue.bind(this);
    this.onClientError = this.onClientError.bind(this);
    this.onConnect = this.onConnect.bind(this);
  }

  /** Creates the node:http server with our limits and timeouts. */
  createServer(): HttpServer {
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
      // Host is checked by frameRequest() (src/protocol/framing.ts), as on the net engine: node's own
      // check also refuses an empty Host, which RFC 9112 §3.2 allows.
      requireHostHeader: false,
      noDelay: true,
    } as ServerOptions);
    // H50: Node 20 ignores the maxHeadersCount *option* (measured: 1023 fields kept of 1500, the rest
    // dropped without a word); only the property lifts the cap. 0 = no cap: the total stays bounded by
    // maxHeaderSize, and handle() counts the fields against limitRequestFields.
    server.maxHeadersCount = 0;
    // A client may send its request and half-close (shutdown(SHUT_WR), `nc -q`): it still waits for
    // the answer. node:http would end the socket at once and drop the response of an async app.
    // But a FIN that arrives once the response has started means the client has gone (browsers never
    // half-close): close now, so a stream waiting between chunks learns it at once, not at its next
    // write. And after a half-closed client's answer, nothing more can come: close then.
    (server as HttpServer & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.gone(socket));
      // Accepted an instant before the stop closed the listener: its request may be on the way.
      if (this.draining) this.drainSocket(socket);
      socket.on('end', () => {
        const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (!res || res.headersSent) socket.destroy();
        else res.once('finish', () => socket.destroySoon());
      });
    });
    server.on('request', this.onRequest);
    server.on('checkContinue', this.onContinue);
    // Another expectation: frameRequest() answers it (417, and close), not node's keep-alive 417.
    server.on('checkExpectation', this.onRequest);
    // CONNECT: node hands it over as a bare socket; frameRequest() refuses it as the net engine does.
    server.on('connect', this.onConnect);
    server.on('clientError', this.onClientError);
    return server;
  }

  get sendTimeoutMs(): number {
    return this.opts.sendTimeout;
  }

  /**
   * Graceful stop (the same rule on every engine, docs/deploy-process.md): the listener closes; a
   * response whose head is still to go says `Connection: close` and its connection closes after it;
   * a connection whose response went out keep-alive, and an idle one, get the drain-idle moment
   * to send one more request (answered with `Connection: close`), then close with a lingering close.
   * Resolves when every connection is gone and no application runs, or cuts them all at graceMs.
   *
   * Not http.Server.close(): since Node 19 it closes the idle keep-alive connections at once, and a
   * client whose next request is already on the wire then gets a reset instead of an answer.
   */
  async stop(server: HttpServer, graceMs: number): Promise<void> {
    this.draining = true;
    if (server.listening) net.Server.prototype.close.call(server);
    for (const socket of this.sockets) this.drainSocket(socket);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = async () => {
      await this.idle();
      if (this.sockets.size > 0) await new Promise<void>((r) => (this.connectionsGone = r));
    };
    await Promise.race([settled(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const t of this.drainTimers.values()) clearTimeout(t);
    this.drainTimers.clear();
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    // Clears node:http's connection-checking timer (nothing is left for it to close).
    server.close();
  }

  private gone(socket: Socket): void {
    this.sockets.delete(socket);
    const t = this.drainTimers.get(socket);
    if (t !== undefined) {
      clearTimeout(t);
      this.drainTimers.delete(socket);
    }
    if (this.sockets.size === 0 && this.connectionsGone !== null) {
      const done = this.connectionsGone;
      this.connectionsGone = null;
      done();
    }
  }

  /** A connection at the moment the stop begins (or accepted after it). */
  private drainSocket(socket: HttpSocket): void {
    // node:http closes after a response that said `Connection: close` with destroySoon(): the
    // socket is destroyed once the response is flushed, and a request the client had already sent
    // makes that close a reset, which can take the response with it. Linger instead.
    socket.destroySoon = () => this.linger(socket);
    const res = socket._httpMessage;
    // A response in progress: if its head went out keep-alive, the connection gets its drain-idle
    // moment once the response is done; if not, the head says close (ResponseSink.head).
    if (res) res.once('finish', () => this.armDrainIdle(socket));
    else this.armDrainIdle(socket);
  }

  /** The connection may send one more request for the drain-idle moment; if it is idle then, it closes. */
  private armDrainIdle(socket: HttpSocket): void {
    if (socket.destroyed || this.lingering.has(socket)) return;
    const keep = this.opts.keepAliveTimeout;
    const ms = keep > 0 ? Math.min(keep, DRAIN_IDLE_MS) : DRAIN_IDLE_MS;
    clearTimeout(this.drainTimers.get(socket));
    const timer = setTimeout(() => {
      this.drainTimers.delete(socket);
      // Busy (a request came): its response says close, and node:http closes after it.
      if (!socket._httpMessage) this.linger(socket);
    }, ms);
    this.drainTimers.set(socket, timer);
  }

  /**
   * A lingering close (RFC 9112 §9.6): the write side ends (after what is queued), what the client
   * still sends is read and dropped, and the socket is destroyed when the client closes (the 'end'
   * listener) or after LINGER_MS. Destroying at once would answer bytes in flight with a reset.
   */
  private linger(socket: Socket): void {
    if (socket.destroyed || this.lingering.has(socket)) return;
    this.lingering.add(socket);
    if (socket.readableEnded) {
      net.Socket.prototype.destroySoon.call(socket);
      return;
    }
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  /**
   * After this response the connection closes without reading the rest of the request body (too
   * much, or no known end: see DISCARD_LIMIT): the write side ends once the response is out, what the
   * client still sends is read and dropped up to a bound (RequestSource.dropRest; past it the socket
   * stops reading, so an endless body costs nothing more), and it is destroyed after LINGER_MS, long
   * enough for the client to read the response before the reset that unread bytes cause.
   */
  closeUnread(socket: Socket, source: RequestSource): void {
    const res = (socket as HttpSocket)._httpMessage;
    const close = () => {
      if (socket.destroyed || this.lingering.has(socket)) return;
      this.lingering.add(socket);
      source.dropRest();
      socket.end();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    };
    // node:http calls destroySoon() after a response that said close; one that went out keep-alive
    // (before the application stopped reading) is closed here.
    socket.destroySoon = close;
    if (res) res.once('finish', close);
    else close();
  }

  sendTimedOut(socket: Socket): void {
    this.log.info(
      `send timeout for ${socket.remoteAddress ?? '?'}: the client read nothing of the response for ${this.opts.sendTimeout} ms; connection closed`,
    );
    socket.destroy();
  }

  onContinue(req: IncomingMessage, res: ServerResponse): void {
    this.handle(req, res, true);
  }

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.handle(req, res, false);
  }

  private handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    // H20, H46+S, H47+S (hostile.test.ts): node:http emits 'request' for a pipelined request as soon
    // as it has parsed its head, while the response before it is still under way. When that response
    // then closes the connection (a refusal, HTTP/1.0 framing, Connection: close, a parse error
    // after it), the later request is never answered, but its application would already have run:
    // a smuggled request with all its side effects. So a pipelined request waits for its turn: node
    // hands it the socket once the previous response is finished *and* the connection stays open.
    if (res.socket === null) {
      res.once('socket', () => this.handle(req, res, expectContinue));
      return;
    }
    // A parse error on this connection after this request's head (see onClientError): the
    // connection closes after the response in progress, and no later request runs. Nor does one
    // that node parsed after a closing response ended the socket (H50+S: the bytes were already in
    // flight while node was closing): it could never be answered.
    if (this.doomed.has(req.socket) || !req.socket.writable) {
      req.socket.destroySoon();
      return;
    }
    const o = this.opts;
    const framing = this.check(req);
    if (framing instanceof ClientError) return this.refuse(req, res, framing.status, framing.message);
    let environ;
    try {
      environ = requestEnviron(req, req.socket, this.base);
    } catch (err) {
      if (err instanceof ClientError) return this.refuse(req, res, err.status, err.message);
      throw err;
    }
    let source: RequestSource | null = null;
    if (framing.body === 'chunked' || framing.length > 0) {
      // llhttp framed the body the same way: it refuses what frameRequest() would let through with
      // another framing (two Content-Lengths, Content-Length with Transfer-Encoding).
      source = new RequestSource(req, res, o.bodyTimeout, expectContinue && framing.expectContinue);
      source.declaredLength = framing.length;
      environ['wsgi.input'] = new Input(source, framing.length);
    }
    // frameRequest() decides persistence, as on the net engine: H20, an HTTP/1.0 message with
    // Transfer-Encoding, closes after it (llhttp would honour `Connection: keep-alive` there).
    const keepAlive = framing.keepAlive && !this.draining && !this.isOneShot(req.socket);
    if (!keepAlive) this.last.add(req.socket);
    this.inFlight++;
    const sink = new ResponseSink(res, keepAlive, this, source);
    const done = runApp(this.app, environ, sink, { log: this.log, method: environ.REQUEST_METHOD });
    if (done === undefined) this.finished();
    else if (o.responseTimeout > 0) {
      // F5 (reliability.md): an application that never answers gets its client a 503, not a hang,
      // and no longer holds up a graceful stop.
      let pending = true;
      const settle = () => {
        if (!pending) return;
        pending = false;
        clearTimeout(timer);
        this.finished();
      };
      const timer = setTimeout(() => {
        if (!sink.timeOut()) return;
        this.log.error(`${environ.REQUEST_METHOD} ${environ.PATH_INFO}: no response within ${o.responseTimeout} ms; answered 503`);
        settle();
      }, o.responseTimeout);
      done.then(settle);
    } else done.then(() => this.finished());
  }

  /**
   * What tsgi's rules say of a head llhttp accepted, in the net engine's order: a version llhttp lets
   * through (0.9, 2.0), the target's length, the field count, then frameRequest() (src/protocol/framing.ts).
   */
  private check(req: IncomingMessage): Framing | ClientError {
    const o = this.opts;
    if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) {
      // HTTP/2.0, and HTTP/0.9 (explicit, or a request line without a version): 505, as on net.
      return new ClientError(505, `unsupported protocol HTTP/${req.httpVersion}`, 'TSGI_ERR_VERSION');
    }
    const url = req.url ?? '';
    if (url.length > o.limitRequestLine) {
      return new ClientError(414, `request target of ${url.length} bytes (limit ${o.limitRequestLine})`, 'TSGI_ERR_URI_TOO_LONG');
    }
    if (req.rawHeaders.length > 2 * o.limitRequestFields) {
      return new ClientError(431, `${req.rawHeaders.length / 2} header fields (limit ${o.limitRequestFields})`, 'TSGI_ERR_HEADERS_TOO_LARGE');
    }
    // The same rules as the net engine, on llhttp's parse: llhttp lets through what they refuse in
    // places (`GET *`, an ftp: target, `gzip, chunked`, an invalid Host, two Content-Types).
    return frameRequest({ method: req.method ?? '', target: url, versionMinor: req.httpVersionMinor, rawHeaders: req.rawHeaders });
  }

  /** CONNECT (node emits it apart, with the bare socket): refused as check() says, then closed. */
  onConnect(req: IncomingMessage, socket: Socket): void {
    const framing = this.check(req);
    const status = framing instanceof ClientError ? framing.status : 501;
    this.log.info(`${status} for ${socket.remoteAddress ?? '?'}: ${framing instanceof ClientError ? framing.message : 'CONNECT'}`);
    socket.on('error', () => socket.destroy());
    if (socket.writable) socket.end(rawError(status));
    socket.destroySoon?.();
  }

  private refuse(req: IncomingMessage, res: ServerResponse, status: number, why: string): void {
    this.log.info(`${status} for ${req.socket.remoteAddress ?? '?'}: ${why}`);
    const body = `${reasonPhrase(status)}\n`;
    res.shouldKeepAlive = false;
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': body.length, Connection: 'close' });
    res.end(body);
  }

  onClientError(err: Error & { code?: string; rawPacket?: Buffer }, socket: Socket): void {
    const code = err.code ?? '';
    // node:http calls this again for every chunk that reaches a parser that has already failed.
    if (this.doomed.has(socket)) return;
    this.doomed.add(socket);
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    let status = 400;
    if (err.rawPacket && looksLikeUwsgi(err.rawPacket)) {
      this.log.warn(`this looks like uwsgi on an HTTP port (from ${socket.remoteAddress ?? '?'}): bind it with --bind uwsgi://HOST:PORT, or use proxy_pass`);
    }
    if (code === 'HPE_HEADER_OVERFLOW') {
      // One limit in llhttp covers the request line and the headers; tell the two apart for the client
      // when the packet shows the request line. rawPacket is only the last read: split byte by byte,
      // an oversized header arrives as one byte with no line in sight (H49), so 431 unless it is clear.
      const raw = err.rawPacket;
      const lineEnd = raw ? raw.indexOf('\n') : -1;
      const lineStart = raw !== undefined && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ /.test(raw.subarray(0, 32).toString('latin1'));
      const lineLength = lineEnd === -1 ? (raw?.length ?? 0) : lineEnd;
      status = lineStart && lineLength > this.opts.limitRequestLine ? 414 : 431;
    } else if (code === 'HPE_INVALID_VERSION') {
      // llhttp refuses every version but 0.9, 1.0, 1.1 and 2.0 before tsgi sees the request. Where the
      // packet shows a well-formed version of another major, answer as the net engine does (505); a
      // later HTTP/1.x, which the net engine serves as 1.1, cannot be served here (docs/http-conformance.md).
      // (The last version in the packet: a pipelined request before it may have had a good one.)
      const versions = err.rawPacket ? [...err.rawPacket.toString('latin1').matchAll(/ HTTP\/(\d)\.\d\r?\n/g)] : [];
      const major = versions.at(-1)?.[1];
      if (major !== undefined && major !== '1') status = 505;
    } else if (code === 'HPE_HEADERS_TIMEOUT' || code === 'ERR_HTTP_REQUEST_TIMEOUT') status = 408;
    // The HTTP/2 connection preface (`PRI * HTTP/2.0`): a version we do not speak, as on the net engine.
    else if (code === 'HPE_PAUSED_H2_UPGRADE') status = 505;
    // Chunk extensions past node's bound (16 KiB): 400, as the net engine's chunked decoder answers
    // extensions past its own (RFC 9112 §7.1.1 asks for a 4xx; 413 is about content, not framing).
    else if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') status = 400;
    this.log.info(`${status} for ${socket.remoteAddress ?? '?'}: ${code || err.message}`);
    const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (res) {
      if (res.req.complete) {
        // The error is in a later, pipelined request: the response in progress belongs to a whole
        // request, so let it finish, then close; handle() runs nothing more on this socket. The net
        // engine parses that request once the response is out and refuses it: so the error answer
        // follows the response here too, unless that response was the connection's last (H21: bytes
        // after `Connection: close`), where the net engine reads nothing more.
        if (!res.headersSent) res.shouldKeepAlive = false;
        else res.once('finish', () => socket.destroySoon());
        if (code !== 'HPE_CLOSED_CONNECTION' && !this.last.has(socket)) {
          const answer = () => {
            if (socket.writable) socket.write(rawError(status));
          };
          // After the response's last bytes, before node ends the socket on 'finish'.
          if (res.writableEnded) answer();
          else res.once('prefinish', answer);
        }
        return;
      }
      // The error is in the body of the request being answered (H31–H37, a body cut by
      // requestTimeout). If its response has not started, the error answer takes its place, as
      // node:http's default handler does (the application's later output goes nowhere);
      // otherwise the client must see the response cut short.
      if (res.headersSent) {
        socket.destroy();
        return;
      }
    }
    socket.end(rawError(status));
    socket.destroySoon?.();
  }
}
