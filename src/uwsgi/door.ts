// The uwsgi door's request handling, shared by every listener: options to settings, the allow-list,
// one Connection per accepted socket, and the count of unfinished requests for a graceful stop.
import type { Server, Socket } from 'node:net';
import type { Application } from '../spec.js';
import { LogErrors, streamLogger, type Logger } from '../runner/log.js';
import { EMPTY_INPUT } from '../runner/input.js';
import { FileWrapper } from '../util.js';
import { VERSION } from '../version.js';
import { allowList, type AllowCheck } from '../server/trust.js';
import { checkDeadline, Connection, type ConnectionOwner, type ConnectionSettings } from './connection.js';
import { MAX_VARS_SIZE } from '../protocol/uwsgi.js';
import { OPTION_DEFAULTS } from '../settings/defaults.js';
import { Sweep } from '../server/sweep.js';
import { OpenList } from '../server/open-list.js';

export interface UwsgiOptions {
  /** Address to bind; default 127.0.0.1. Ignored when `path` is given. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 8001. */
  port?: number;
  /** A Unix socket path to bind instead of host:port. */
  path?: string;
  /** An inherited, already bound socket to listen on (systemd socket activation, `fd://N`). */
  fd?: number;
  /** A bound socket handle from a prefork master (what node:child_process passes); listened on as is. */
  handle?: object;
  /** The kernel's accept queue length. */
  backlog?: number;
  /** File mode for the Unix socket (e.g. 0o660 so the web server's group can connect). */
  socketMode?: number;
  /** The largest vars block accepted, in bytes: 1 to 65535, default 65535 (uWSGI's default 4096 is too small for big cookies). */
  bufferSize?: number;
  /** Peers allowed to connect over TCP: addresses, CIDR blocks, or '*'. Default loopback only. */
  allow?: string | readonly string[];
  /** Milliseconds for the whole packet (header and vars) to arrive after the connection opens. */
  headerTimeout?: number;
  /** Milliseconds the body may stall while the application waits for it; then a 408. */
  bodyTimeout?: number;
  /** Milliseconds in-flight requests get to finish on close(); then their connections are cut. */
  gracefulTimeout?: number;
  /** SERVER_SOFTWARE; default `tsgi/<version>`. */
  serverSoftware?: string;
  /** wsgi.multiprocess: true when several workers serve the same application. */
  multiprocess?: boolean;
  /** The error log. */
  log?: Logger;
  /** Aborting it closes the server gracefully (an already aborted signal rejects before listening). */
  signal?: AbortSignal;
}

/** The timeouts are the settings table's (src/settings/table.ts: headers-timeout, body-timeout, graceful-timeout). */
export const UWSGI_DEFAULTS = {
  host: '127.0.0.1',
  port: 8001,
  bufferSize: MAX_VARS_SIZE,
  headerTimeout: OPTION_DEFAULTS.headersTimeout,
  bodyTimeout: OPTION_DEFAULTS.bodyTimeout,
  gracefulTimeout: OPTION_DEFAULTS.gracefulTimeout,
  /** How long a finished connection keeps reading what the front end still sends before it is cut. */
  lingerTimeout: 5_000,
} as const;

export class UwsgiDoor implements ConnectionOwner {
  readonly log: Logger;
  private readonly settings: ConnectionSettings;
  private readonly allowed: AllowCheck;
  /** False once listening() found that every possible peer is allowed (loopback, Unix socket). */
  private checkPeers = true;
  /** Connections whose request is not finished (packet incoming or application running). */
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** Every open socket, so that close() can cut the ones still open after the grace period. */
  readonly sockets = new OpenList<Socket>();
  /**
   * Checks every open connection's header deadline, as often as an eighth of the timeout (20 ms to
   * 250 ms): a packet that has not arrived is cut at most that much after its timeout. Runs while
   * sockets are open.
   */
  private readonly sweep: Sweep;

  constructor(app: Application, options: UwsgiOptions) {
    this.log = options.log ?? streamLogger();
    this.allowed = allowList(options.allow);
    const bufferSize = options.bufferSize ?? UWSGI_DEFAULTS.bufferSize;
    if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > MAX_VARS_SIZE) {
      throw new RangeError(`bufferSize must be an integer from 1 to ${MAX_VARS_SIZE} (got ${bufferSize})`);
    }
    this.settings = {
      app,
      log: this.log,
      bufferSize,
      headerTimeout: options.headerTimeout ?? UWSGI_DEFAULTS.headerTimeout,
      bodyTimeout: options.bodyTimeout ?? UWSGI_DEFAULTS.bodyTimeout,
      lingerTimeout: UWSGI_DEFAULTS.lingerTimeout,
      base: {
        software: options.serverSoftware ?? `tsgi/${VERSION}`,
        errors: new LogErrors(this.log),
        multiprocess: options.multiprocess ?? false,
        fileWrapper: FileWrapper,
        input: EMPTY_INPUT,
      },
    };
    this.onConnection = this.onConnection.bind(this);
    this.sweep = new Sweep(Sweep.period(this.settings.headerTimeout), (now, late) => {
      for (const socket of this.sockets) checkDeadline(socket, now, late);
      return this.sockets.size > 0;
    });
  }

  /**
   * Tells the door the address its server listens on (server.address()), once listening. When every
   * peer that can connect is allowed (a loopback address the allow list covers, a Unix socket), the
   * per-connection check and its getpeername syscall are skipped.
   */
  listening(address: ReturnType<Server['address']>): void {
    if (address === null) return;
    this.checkPeers = !this.allowed.allowsEveryPeerOf(typeof address === 'string' ? undefined : address.address);
    if (typeof address === 'object' && address.address !== '0.0.0.0' && address.address !== '::') {
      this.settings.local = { address: address.address, port: address.port };
    }
  }

  onConnection(socket: Socket): void {
    // Reset before we got to it: nothing to serve, and its 'close' may already have gone by.
    if (socket.destroyed) return;
    if (this.checkPeers && !this.allowed(socket.remoteAddress)) {
      this.log.warn(`uwsgi: connection from ${socket.remoteAddress} refused: not in the allow list`);
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    this.inFlight++;
    new Connection(socket, this.settings, this);
    this.sweep.start();
  }

  /** ConnectionOwner: a connection's request is over. */
  requestDone(): void {
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** ConnectionOwner: a connection's socket has closed. */
  socketClosed(socket: Socket): void {
    this.sockets.delete(socket);
  }

  /** Resolves when no request is in progress. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
