// The net engine's door: an HTTP/1.1 server straight on node:net, with the strictness of the
// node:http door (the same environ, limits, timeouts and refusals; the same test suites) and none
// of node:http's layers (IncomingMessage, ServerResponse and their streams per request).
// serve({ engine: 'net' }) and `tsgi --engine net` choose it; docs/engine.md says why and what it
// measures.
import net, { type Socket } from 'node:net';
import type { Application } from '../../spec.js';
import { DoorCore } from '../common/door.js';
import type { HttpOptions } from '../common/options.js';
import { Connection } from './connection.js';
import type { Limits } from '../../protocol/head.js';
import type { RunOptions } from '../../runner/handler.js';
import { Sweep } from '../../server/sweep.js';
import { OpenList } from '../../server/open-list.js';

export class NetDoor extends DoorCore {
  readonly limits: Limits;
  private readonly connections = new OpenList<Connection>();
  /** The header lines of a response that keeps the connection open. */
  readonly keepAliveHeader: string;

  /** What runApp() is told of every request (the method it reads from the environ). */
  readonly runOptions: RunOptions;

  constructor(app: Application, options: HttpOptions) {
    super(app, options);
    this.runOptions = { log: this.log };
    const idle = Math.floor(this.opts.keepAliveTimeout / 1000);
    this.keepAliveHeader = 'Connection: keep-alive\r\n' + (idle > 0 ? `Keep-Alive: timeout=${idle}\r\n` : '');
    this.limits = { limitRequestLine: this.opts.limitRequestLine, limitRequestFields: this.opts.limitRequestFields, maxHeaderSize: this.opts.maxHeaderSize };
  }

  createServer(): net.Server {
    // allowHalfOpen: a client that sends its request and shuts down its side still gets the answer.
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    // A plain socket reads into the engine's own buffers (reads.ts); a TLS one (serve() emits its
    // decrypted sockets here) reads through TLS.
    server.on('connection', (socket: Socket) => this.accept(socket, socket.constructor === net.Socket));
    server.on('close', () => this.sweep.stop());
    return server;
  }

  /**
   * The clock connections set their deadlines from (and the Date header's): Date.now() at the sweep's
   * last tick, or when a connection came while no sweep ran. Not read again per request: a clock read
   * was ~55 ns of every keep-alive request, and the deadlines are checked by the sweep, so they were
   * never finer than its period. A deadline is set one period further (`slack`), so that a clock up to
   * one period old never makes a timeout early; a tick delayed by a held event loop moves every
   * deadline on by the delay (Sweep), so a connection answered just after the loop was held is not cut
   * as if it had been idle all that time.
   */
  now = Date.now();

  /** Checks every connection's deadline: often enough for the shortest timeout, at most 4 times a second. */
  private readonly sweep = new Sweep(
    Sweep.period(Math.min(...[this.opts.headersTimeout, this.opts.keepAliveTimeout, this.opts.requestTimeout].filter((t) => t > 0), 2000)),
    (now, late) => {
      this.now = now;
      for (const c of this.connections) {
        if (late > 0) c.postpone(late);
        c.check(now);
      }
      return this.connections.size > 0;
    },
  );

  /** How old `now` can be: the sweep's period. */
  get slack(): number {
    return this.sweep.everyMs;
  }

  /** Takes a connection (the server's, or one handed over: TLS, handleRequest()); `ownReads`: see Connection. */
  accept(socket: Socket, ownReads = false): Connection {
    if (!this.sweep.running) {
      this.now = Date.now();
      this.sweep.start();
    }
    const c = new Connection(this, socket, ownReads);
    this.connections.add(c);
    return c;
  }

  forget(c: Connection): void {
    this.connections.delete(c);
    if (this.connections.size === 0 && this.whenEmpty.length > 0) {
      const waiting = this.whenEmpty;
      this.whenEmpty = [];
      for (const r of waiting) r();
    }
  }

  /** Resolved when the last connection has gone (see stop). */
  private whenEmpty: Array<() => void> = [];

  private empty(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((r) => this.whenEmpty.push(r));
  }

  /**
   * Graceful stop (the drain): the listener closes; each connection finishes by the drain rule
   * (Connection.drain: a response not started says Connection: close, one between requests gets
   * DRAIN_IDLE_MS to send one more request, then a lingering close); after `graceMs` what is left is
   * cut. No request that reached the server goes unanswered, and no connection ends in a reset while
   * its client may be sending.
   */
  async stop(server: net.Server, graceMs: number): Promise<void> {
    this.draining = true;
    if (server.listening) server.close();
    for (const c of this.connections) c.drain();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.empty(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    for (const c of this.connections) c.socket.destroy();
  }
}
