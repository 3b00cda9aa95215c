// The FastCGI door: options, the allow-list, one Connection per accepted socket, a graceful stop.
import net, { type Socket } from 'node:net';
import type { Application } from '../spec.js';
import { LogErrors, streamLogger, type Logger } from '../runner/log.js';
import { EMPTY_INPUT } from '../runner/input.js';
import { FileWrapper } from '../util.js';
import { VERSION } from '../version.js';
import { allowList, type AllowCheck } from '../server/trust.js';
import { OpenList } from '../server/open-list.js';
import { Connection, type ConnectionSettings, type DoorHooks } from './connection.js';
import { OPTION_DEFAULTS } from '../settings/defaults.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const fs = process.getBuiltinModule('node:fs');

export interface FastcgiOptions {
  /** Address to bind; default 127.0.0.1. Ignored when `path` is given. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 9000 (the port FastCGI examples use). */
  port?: number;
  /** A Unix socket path to bind instead of host:port. */
  path?: string;
  /** File mode for the Unix socket (e.g. 0o660 so the web server's group can connect). */
  socketMode?: number;
  /** Peers allowed to connect over TCP: addresses, CIDR blocks, or '*'. Default loopback only. */
  allow?: string | readonly string[];
  /** Send wsgi.errors to the web server as FCGI_STDERR records (nginx writes them to its error log). */
  stderr?: boolean;
  /** The largest PARAMS stream accepted, in bytes; larger requests are answered 431. Default 1 MiB. */
  maxParamsSize?: number;
  /** Connections served at once (also what FCGI_GET_VALUES reports). Default 1024. */
  maxConnections?: number;
  /** Milliseconds for BEGIN_REQUEST and the whole PARAMS stream to arrive. */
  headerTimeout?: number;
  /** Milliseconds STDIN may stall while the application waits for it; then a 408. */
  bodyTimeout?: number;
  /** Milliseconds a kept (FCGI_KEEP_CONN) connection may sit idle between requests. */
  idleTimeout?: number;
  /** Milliseconds in-flight requests get to finish on close(); then their connections are cut. */
  gracefulTimeout?: number;
  /** SERVER_SOFTWARE; default `tsgi/<version>`. */
  serverSoftware?: string;
  /** wsgi.multiprocess: true when several workers serve the same application. */
  multiprocess?: boolean;
  /** The error log. */
  log?: Logger;
  /** Aborting it closes the server gracefully. */
  signal?: AbortSignal;
}

/** The timeouts are the settings table's (src/settings/table.ts: headers-timeout, body-timeout, graceful-timeout). */
export const FASTCGI_DEFAULTS = {
  host: '127.0.0.1',
  port: 9000,
  maxParamsSize: 1024 * 1024,
  maxConnections: 1024,
  headerTimeout: OPTION_DEFAULTS.headersTimeout,
  bodyTimeout: OPTION_DEFAULTS.bodyTimeout,
  // nginx keeps pooled upstream connections 60 s by default (`keepalive_timeout`): outlive that.
  // Not the HTTP keep-alive setting (65 s): a web server's pool, not a browser, holds these.
  idleTimeout: 300_000,
  gracefulTimeout: OPTION_DEFAULTS.gracefulTimeout,
  /** How long a finished connection keeps reading what the web server still sends before it is cut. */
  lingerTimeout: 5_000,
} as const;

export interface FastcgiServerHandle extends AsyncDisposable {
  readonly server: net.Server;
  /** The bound address ('' on a Unix socket). */
  readonly host: string;
  /** The bound port (0 on a Unix socket). */
  readonly port: number;
  /** The Unix socket path, when bound to one. */
  readonly path: string | undefined;
  /** Stops accepting, lets in-flight requests finish (up to gracefulTimeout), closes every connection. */
  close(): Promise<void>;
}

export class FastcgiDoor implements DoorHooks {
  readonly log: Logger;
  readonly settings: ConnectionSettings;
  private readonly allowed: AllowCheck;
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  private goneWaiters: Array<() => void> = [];
  draining = false;
  readonly connections = new OpenList<Connection>();

  constructor(app: Application, options: FastcgiOptions = {}) {
    const d = FASTCGI_DEFAULTS;
    this.log = options.log ?? streamLogger();
    this.allowed = allowList(options.allow);
    const maxParamsSize = options.maxParamsSize ?? d.maxParamsSize;
    if (!Number.isInteger(maxParamsSize) || maxParamsSize < 1) throw new RangeError(`maxParamsSize must be a positive integer (got ${maxParamsSize})`);
    const errors = new LogErrors(this.log);
    this.settings = {
      app,
      log: this.log,
      errors,
      stderr: options.stderr ?? false,
      maxParamsSize,
      maxConnections: options.maxConnections ?? d.maxConnections,
      headerTimeout: options.headerTimeout ?? d.headerTimeout,
      bodyTimeout: options.bodyTimeout ?? d.bodyTimeout,
      idleTimeout: options.idleTimeout ?? d.idleTimeout,
      lingerTimeout: d.lingerTimeout,
      base: {
        software: options.serverSoftware ?? `tsgi/${VERSION}`,
        errors,
        multiprocess: options.multiprocess ?? false,
        fileWrapper: FileWrapper,
        input: EMPTY_INPUT,
      },
    };
    this.onConnection = this.onConnection.bind(this);
  }

  onConnection(socket: Socket): void {
    if (!this.allowed(socket.remoteAddress)) {
      this.log.warn(`fastcgi: connection from ${socket.remoteAddress} refused: not in the allow list`);
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, this.settings, this);
    this.connections.add(conn);
    socket.once('close', () => {
      this.connections.delete(conn);
      if (this.connections.size === 0) for (const w of this.goneWaiters.splice(0)) w();
    });
  }

  appStarted(): void {
    this.running++;
  }

  appFinished(): void {
    if (--this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when no application is running. */
  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves when no application runs and every connection is closed (the end of a drain). */
  async settled(): Promise<void> {
    await this.idle();
    if (this.connections.size > 0) await new Promise<void>((resolve) => this.goneWaiters.push(resolve));
  }

  /**
   * A graceful stop: every connection is asked to go without losing a request (Connection.drain()):
   * kept ones are nudged, for the web server to close them; the others close after their request.
   */
  drain(): void {
    this.draining = true;
    for (const c of this.connections) c.drain();
  }

  /** The drain's deadline: every connection still open is closed. */
  cut(): void {
    for (const c of this.connections) c.cut();
  }
}

function listen(server: net.Server, options: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A socket file left by a dead server is removed; one a live server listens on is not. */
async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await fs.promises.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new Error(`cannot listen on ${path}: the file exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once('connect', () => (probe.destroy(), resolve(true)));
    probe.once('error', () => resolve(false));
  });
  if (live) {
    const err = new Error(`cannot listen on ${path}: another server is listening on it`) as NodeJS.ErrnoException;
    err.code = 'EADDRINUSE';
    throw err;
  }
  await fs.promises.unlink(path);
}

async function stop(door: FastcgiDoor, server: net.Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  door.drain();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([door.settled(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  door.cut();
  await closed;
}

/** Serves `app` as a FastCGI responder until close(). */
export async function serveFastcgi(app: Application, options: FastcgiOptions = {}): Promise<FastcgiServerHandle> {
  const door = new FastcgiDoor(app, options);
  // allowHalfOpen: a web server that half-closes after its request still gets the response.
  const server = net.createServer({ allowHalfOpen: true }, door.onConnection);
  server.maxConnections = door.settings.maxConnections;
  let host = '';
  let port = 0;
  const path = options.path;
  if (path !== undefined) {
    await clearStaleSocket(path);
    await listen(server, { path });
    if (options.socketMode !== undefined) await fs.promises.chmod(path, options.socketMode);
  } else {
    host = options.host ?? FASTCGI_DEFAULTS.host;
    await listen(server, { host, port: options.port ?? FASTCGI_DEFAULTS.port });
    port = (server.address() as net.AddressInfo).port;
  }
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= stop(door, server, options.gracefulTimeout ?? FASTCGI_DEFAULTS.gracefulTimeout));
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  return { server, host, port, path, close, [Symbol.asyncDispose]: close };
}
