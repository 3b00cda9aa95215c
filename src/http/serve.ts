// Starting and stopping HTTP servers: `serve()` for programs, `makeServer()` for wsgiref's API.
// serve() listens on host:port, a Unix socket path, an inherited file descriptor, or a socket handle
// passed by the prefork master, with or without TLS.
import type http from 'node:http';
import net from 'node:net';
import type { Application } from '../spec.js';
import { clearUnixPath } from '../server/sockets.js';
import { OpenList } from '../server/open-list.js';
import { NetDoor } from './net/door.js';
import type { DoorCore } from './common/door.js';
import { HTTP_DEFAULTS, HttpDoor, type HttpOptions } from './node/server.js';
import { OPTION_DEFAULTS } from '../settings/defaults.js';

export interface ServeOptions extends HttpOptions {
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 8000. */
  port?: number;
  /** A Unix socket path to listen on instead of host:port (a stale socket file is replaced, a live one never). */
  path?: string;
  /** An inherited, already bound socket to listen on (systemd socket activation, `fd://N`). */
  fd?: number;
  /** A bound socket handle from a prefork master (what node:child_process passes); listened on as is. */
  handle?: object;
  /** The kernel's accept queue length. */
  backlog?: number;
  /** HTTPS: the PEM certificate chain and private key. wsgi.url_scheme becomes https. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Milliseconds in-flight requests get to finish on close(); then their connections are cut. */
  gracefulTimeout?: number;
  /** Aborting it closes the server gracefully (an already aborted signal rejects before listening). */
  signal?: AbortSignal;
  /**
   * The HTTP/1.1 implementation: 'net' (tsgi's own parser and connection handling straight on
   * node:net, the default) or 'node' (node:http); docs/engine.md. Both pass the same test suites.
   */
  engine?: 'node' | 'net';
}

export interface ServerHandle extends AsyncDisposable {
  /** The HTTP server: an http.Server, or a plain net.Server with the net engine. */
  readonly server: net.Server;
  /** The server that accepts connections: `server`, or the TLS server in front of it. */
  readonly listener: net.Server;
  readonly host: string;
  readonly port: number;
  /** The Unix socket path, when listening on one. */
  readonly path: string | undefined;
  /** `http://host:port` (or https, or `http+unix://PATH`), for logs and tests. */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (up to gracefulTimeout), closes every connection. */
  close(): Promise<void>;
}

type ListenTarget = net.ListenOptions | object;

/** Waits for `listening` or the bind error. */
function listen(server: net.Server, target: ListenTarget, backlog?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (Object.getPrototypeOf(target) === Object.prototype) {
      server.listen({ ...(target as net.ListenOptions), ...(backlog ? { backlog } : {}) }, done);
    } else {
      // A raw handle: net.Server.listen(handle, backlog, cb).
      (server.listen as (h: object, b: number | undefined, cb: () => void) => net.Server)(target, backlog, done);
    }
  });
}

/** The host as a URL authority (IPv6 in brackets). */
export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function serve(app: Application, options: ServeOptions = {}): Promise<ServerHandle> {
  options.signal?.throwIfAborted();
  const doorOptions = options.tls ? { ...options, scheme: 'https' as const } : options;
  let server: net.Server;
  let shutdown: () => Promise<void>;
  let door: DoorCore;
  const graceMs = options.gracefulTimeout ?? OPTION_DEFAULTS.gracefulTimeout;
  if (options.engine === undefined || options.engine === 'net') {
    const d = new NetDoor(app, doorOptions);
    const s = d.createServer();
    door = d;
    server = s;
    shutdown = () => d.stop(s, graceMs);
  } else if (options.engine === 'node') {
    const d = new HttpDoor(app, doorOptions);
    const s = d.createServer();
    door = d;
    server = s;
    shutdown = () => d.stop(s, graceMs);
  } else throw new TypeError(`serve(): engine must be 'node' or 'net' (got ${JSON.stringify(options.engine)})`);
  let listener: net.Server = server;
  if (options.tls) {
    // node:tls only when TLS is asked for: loading it (its root certificates, its crypto bindings) costs a
    // process 2 to 7 MB of RSS that a plain-HTTP server behind a proxy never uses.
    const tls = process.getBuiltinModule('node:tls');
    const secure = tls.createServer({
      cert: options.tls.cert,
      key: options.tls.key,
      ALPNProtocols: ['http/1.1'],
      noDelay: true,
      // A client that connects and never completes its handshake (node's default: 120 s) holds a
      // socket the HTTP door never sees, so none of its timeouts apply.
      handshakeTimeout: options.handshakeTimeout ?? HTTP_DEFAULTS.handshakeTimeout,
    });
    secure.on('secureConnection', (socket) => server.emit('connection', socket));
    secure.on('tlsClientError', (_err, socket) => socket.destroy());
    listener = secure;
  }
  let host = options.host ?? '127.0.0.1';
  let path: string | undefined;
  let target: ListenTarget;
  if (options.handle) target = options.handle;
  else if (options.fd !== undefined) target = { fd: options.fd };
  else if (options.path !== undefined) {
    path = options.path;
    await clearUnixPath(path, `unix:${path}`);
    target = { path };
  } else target = { port: options.port ?? 8000, host };
  await listen(listener, target, options.backlog);
  const addr = listener.address();
  let port = 0;
  if (addr !== null && typeof addr === 'object') {
    port = addr.port;
    if (options.handle || options.fd !== undefined) host = addr.address;
  } else if (typeof addr === 'string') path = addr;
  door.bound(path !== undefined ? 'localhost' : host, port);
  const scheme = options.tls ? 'https' : 'http';
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (listener !== server && listener.listening) listener.close();
      await shutdown();
    })());
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return {
    server,
    listener,
    host: path !== undefined ? '' : host,
    port,
    path,
    url: path !== undefined ? `${scheme}+unix://${path}` : `${scheme}://${hostForUrl(host)}:${port}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * wsgiref's WSGIServer: bound at creation, serving only when asked. Connections wait (paused) until
 * `handleRequest()` takes one and answers one request on it, or `serveForever()` serves them all.
 */
export class WSGIServer {
  readonly serverAddress: [host: string, port: number];
  private queue: net.Socket[] = [];
  private wake: (() => void) | null = null;
  private forever = false;
  private stopped = false;
  /** Connections handed to the http server, closed by close() if still open after the drain. */
  private readonly sockets = new OpenList<net.Socket>();

  private constructor(
    private readonly door: HttpDoor,
    readonly http: http.Server,
    private readonly listener: net.Server,
    host: string,
    port: number,
  ) {
    this.serverAddress = [host, port];
    listener.on('connection', (socket: net.Socket) => {
      if (this.forever) this.dispatch(socket);
      else {
        this.queue.push(socket);
        this.wake?.();
      }
    });
  }

  static async create(host: string, port: number, app: Application, options: HttpOptions = {}): Promise<WSGIServer> {
    const door = new HttpDoor(app, options);
    const httpServer = door.createServer();
    const listener = net.createServer({ pauseOnConnect: true });
    await listen(listener, { port, host });
    const addr = listener.address() as net.AddressInfo;
    door.bound(host, addr.port);
    // The http server never listens itself: connections are injected (node's documented
    // 'connection' event). Its timeout checks (headersTimeout, requestTimeout) and connection
    // tracking start on 'listening' (Node 24 starts nothing before), so announce it.
    httpServer.emit('listening');
    return new WSGIServer(door, httpServer, listener, host, addr.port);
  }

  get application(): Application {
    return this.door.app;
  }

  private dispatch(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.http.emit('connection', socket);
    socket.resume();
  }

  private async next(): Promise<net.Socket | null> {
    while (this.queue.length === 0) {
      if (this.stopped) return null;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
    return this.queue.shift()!;
  }

  /** Accepts one connection and answers one request on it (then closes it), as wsgiref does. */
  async handleRequest(): Promise<void> {
    const socket = await this.next();
    if (socket === null) return;
    this.door.markOneShot(socket);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    this.dispatch(socket);
    await closed;
  }

  /** Serves every connection until close(); resolves when the server has stopped. */
  async serveForever(): Promise<void> {
    this.forever = true;
    for (const s of this.queue.splice(0)) this.dispatch(s);
    if (this.stopped) return;
    await new Promise<void>((r) => this.listener.once('close', () => r()));
  }

  /** Stops accepting and closes the server once in-flight requests are done. */
  async close(gracefulTimeout = OPTION_DEFAULTS.gracefulTimeout): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    for (const s of this.queue.splice(0)) s.destroy();
    const listenerClosed = new Promise<void>((r) => this.listener.close(() => r()));
    await this.door.stop(this.http, gracefulTimeout);
    for (const s of this.sockets) s.destroy();
    await listenerClosed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** wsgiref's `make_server(host, port, app)`: `await makeServer('localhost', 8051, app)`. */
export function makeServer(host: string, port: number, app: Application, options?: HttpOptions): Promise<WSGIServer> {
  return WSGIServer.create(host, port, app, options);
}
