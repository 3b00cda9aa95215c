// Starting and stopping HTTP servers: `serve()` for programs, `makeServer()` for wsgiref's API.
import type http from 'node:http';
import net from 'node:net';
import type { Application } from '../spec.js';
import { HttpDoor, type HttpOptions } from './server.js';

export interface ServeOptions extends HttpOptions {
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 8000. */
  port?: number;
  /** Milliseconds in-flight requests get to finish on close(); then their connections are cut. */
  gracefulTimeout?: number;
  /** Aborting it closes the server gracefully. */
  signal?: AbortSignal;
}

export interface ServerHandle extends AsyncDisposable {
  readonly server: http.Server;
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, for logs and tests. */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (up to gracefulTimeout), closes every connection. */
  close(): Promise<void>;
}

/** Waits for `listening` or the bind error. */
function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** The host as a URL authority (IPv6 in brackets). */
export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Graceful stop shared by serve() and makeServer(). */
async function stop(door: HttpDoor, server: http.Server, graceMs: number): Promise<void> {
  door.draining = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([door.idle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  server.closeAllConnections();
  await closed;
}

export async function serve(app: Application, options: ServeOptions = {}): Promise<ServerHandle> {
  const door = new HttpDoor(app, options);
  const server = door.createServer();
  const host = options.host ?? '127.0.0.1';
  await listen(server, options.port ?? 8000, host);
  const addr = server.address() as net.AddressInfo;
  door.bound(host, addr.port);
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= stop(door, server, options.gracefulTimeout ?? 30_000));
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return {
    server,
    host,
    port: addr.port,
    url: `http://${hostForUrl(host)}:${addr.port}`,
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
  private readonly sockets = new Set<net.Socket>();

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
    await listen(listener, port, host);
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
    this.door.oneShot.add(socket);
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
  async close(gracefulTimeout = 30_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    for (const s of this.queue.splice(0)) s.destroy();
    const listenerClosed = new Promise<void>((r) => this.listener.close(() => r()));
    await stop(this.door, this.http, gracefulTimeout);
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
