// One FastCGI transport connection: records in, requests run one at a time, records out
// (research/protocols.md §2.5). What the web servers do, and so what this file is built for:
//   - requests come in sequence (nginx with `fastcgi_keep_conn on` and an upstream keepalive pool,
//     Apache with `enablereuse=on`); none multiplexes. A BEGIN_REQUEST for another id while one is in
//     progress is answered END_REQUEST(FCGI_CANT_MPX_CONN), and GET_VALUES says FCGI_MPXS_CONNS=0;
//   - FCGI_KEEP_CONN unset: the connection is closed after END_REQUEST. nginx (keep_conn off) waits
//     for that close before it finishes the response, so it must come at once;
//   - FCGI_KEEP_CONN set: the connection waits for the next BEGIN_REQUEST; the web server closes it;
//   - after the last response the write side is ended and what the web server still sends (STDIN the
//     application never read) is read and dropped until it closes, so the close is never a reset;
//   - a graceful stop (drain) never closes a kept connection the web server may be about to use: see
//     nudge() for why, and for what it sends instead.
import type { Socket } from 'node:net';
import type { Application, ErrorStream } from '../spec.js';
import type { Logger } from '../runner/log.js';
import type { FastcgiBase } from './environ.js';
import {
  FCGI,
  PROTOCOL_STATUS,
  ROLE,
  ProtocolError,
  RecordParser,
  decodePairs,
  encodePairs,
  encodeRecord,
  endRequest,
  parseBegin,
  unknownType,
  type FcgiRecord,
} from '../protocol/fastcgi.js';
import { HIGH_WATER, Request } from './request.js';

/** The longest "drain idle" moment: how long a connection with no request yet may still send one once a graceful stop began. */
const DRAIN_IDLE_MS = 2000;
/**
 * How long a nudged connection (see nudge()) may sit idle before it is reset. nginx drops a nudged
 * idle connection within its next event-loop turn (milliseconds), so this bounds only web servers
 * that look at a pooled connection when they take it (Apache), and keeps a draining worker's life short.
 */
const NUDGE_WAIT_MS = 2000;
/**
 * Requests a web server may send on a connection after nudges before the connection is closed after
 * END_REQUEST, as one without FCGI_KEEP_CONN. nginx sends at most one (a request it had sent before
 * the nudge arrived; the nudge that follows its END_REQUEST always stops it); a server that ignores
 * nudges (Apache) would otherwise keep a draining worker serving until --graceful-timeout.
 */
const MAX_IGNORED_NUDGES = 2;
/**
 * The most of its own replies (GET_VALUES_RESULT, UNKNOWN_TYPE, CANT_MPX_CONN) a connection queues
 * for a peer that does not read them. Reading stops as soon as the socket's buffer is full, so only
 * what one read can ask for is added past that; this is the bound should that ever not hold (a peer
 * flooding GET_VALUES without reading grew a worker by 1.65 GB in 10 s).
 */
const MAX_QUEUED_REPLIES = 1024 * 1024;

export interface ConnectionSettings {
  app: Application;
  base: FastcgiBase;
  log: Logger;
  /** wsgi.errors when STDERR records are not used (and after a request has ended). */
  errors: ErrorStream;
  /** Send wsgi.errors to the web server as FCGI_STDERR records. */
  stderr: boolean;
  maxParamsSize: number;
  maxConnections: number;
  headerTimeout: number;
  bodyTimeout: number;
  idleTimeout: number;
  lingerTimeout: number;
}

/** What a connection needs from the door. */
export interface DoorHooks {
  readonly draining: boolean;
  appStarted(): void;
  appFinished(): void;
}

export class Connection {
  private readonly parser: RecordParser;
  private current: Request | null = null;
  private phase: 'open' | 'linger' | 'closed' = 'open';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sawBytes = false;
  // Records that arrived after the whole of the current request (its next request, sent before our
  // END_REQUEST): held, and replayed once the current request has ended.
  private holding = false;
  private backlog: FcgiRecord[] = [];
  private backlogSize = 0;
  /** Reading is paused until the socket's write buffer drains. */
  private writeBlocked = false;
  peerEnded = false;
  /** The id of the last request (nginx and Apache always use 1): the id a nudge carries. */
  private lastId = 1;
  /** A kept request has ended here: between requests, the connection sits in the web server's pool. */
  private pooled = false;
  /** A nudge went out and no request came since. */
  private nudged = false;
  /** Requests that came after a nudge. */
  private ignoredNudges = 0;

  constructor(
    readonly socket: Socket,
    readonly s: ConnectionSettings,
    readonly door: DoorHooks,
  ) {
    this.parser = new RecordParser((r) => this.onRecord(r));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onClose());
    // ECONNRESET/EPIPE when the web server gives up: 'close' follows and says what matters.
    socket.on('error', () => {});
    this.wait(s.headerTimeout, 'no complete request');
  }

  get peer(): string {
    const a = this.socket.remoteAddress;
    return a === undefined ? 'unix socket peer' : `${a}:${this.socket.remotePort}`;
  }

  get usable(): boolean {
    return this.phase === 'open' && !this.socket.destroyed && this.socket.writable;
  }

  /** (Re)arms the one timer a connection has: header, idle or linger deadline. */
  wait(ms: number, why: string | null): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (ms <= 0) return;
    this.timer = setTimeout(() => {
      if (why !== null && this.sawBytes) this.s.log.warn(`fastcgi: ${this.peer}: ${why} within ${ms} ms; connection closed`);
      this.socket.destroy();
    }, ms);
    this.timer.unref?.();
  }

  private onData(chunk: Buffer): void {
    if (this.phase !== 'open') return; // linger: dropped
    this.sawBytes = true;
    try {
      this.parser.push(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) return this.fatal(err.message);
      throw err;
    }
    // A peer that sends records and does not read what they are answered with (management records,
    // a response it never reads): nothing more is read from it until it has read what is queued.
    if (this.socket.writableNeedDrain && !this.writeBlocked && this.phase === 'open') {
      this.writeBlocked = true;
      this.socket.pause();
      this.socket.once('drain', () => {
        this.writeBlocked = false;
        if (this.phase === 'open') this.socket.resume();
      });
    }
  }

  private onEnd(): void {
    this.peerEnded = true;
    const cur = this.current;
    if (this.phase === 'linger' || cur === null || !cur.started) {
      // Nothing is running that could still answer: finish writing what is queued, then close.
      this.socket.destroySoon();
      return;
    }
    cur.wake();
  }

  private onClose(): void {
    clearTimeout(this.timer);
    this.phase = 'closed';
    this.parser.stop();
    const cur = this.current;
    this.current = null;
    cur?.connectionClosed();
  }

  /** The byte stream is not FastCGI: nothing more can be understood on it. */
  fatal(message: string): void {
    if (this.phase === 'closed') return;
    this.s.log.warn(`fastcgi: ${this.peer}: ${message}; connection closed`);
    this.parser.stop();
    this.phase = 'closed';
    this.socket.destroy();
  }

  send(bytes: Uint8Array): void {
    if (!this.usable) return;
    if (this.socket.writableLength > MAX_QUEUED_REPLIES) {
      return this.fatal(`more than ${MAX_QUEUED_REPLIES} bytes of replies it does not read`);
    }
    this.socket.write(bytes);
  }

  private onRecord(record: FcgiRecord): void {
    if (this.phase !== 'open') return;
    if (this.holding) {
      this.backlog.push(record);
      this.backlogSize += record.content.length;
      if (this.backlogSize >= HIGH_WATER) this.socket.pause();
      return;
    }
    const { type, requestId: id, content } = record;
    if (id === 0) return this.management(type, content);
    const cur = this.current !== null && this.current.id === id ? this.current : null;
    switch (type) {
      case FCGI.BEGIN_REQUEST:
        return this.begin(id, content);
      case FCGI.ABORT_REQUEST:
        cur?.serverAbort();
        return;
      case FCGI.PARAMS:
        cur?.addParams(content);
        return;
      case FCGI.STDIN:
        cur?.addStdin(content);
        return;
      case FCGI.DATA:
        return; // the FILTER role's second stream: a responder has no use for it
      default:
        // Types a web server never sends (STDOUT, END_REQUEST...) or that do not exist.
        this.send(unknownType(type));
    }
  }

  /** Records with requestId 0 (spec §4). */
  private management(type: number, content: Uint8Array): void {
    if (type !== FCGI.GET_VALUES) return this.send(unknownType(type));
    let asked: Array<[string, string]>;
    try {
      asked = decodePairs(content);
    } catch (err) {
      return this.fatal(`GET_VALUES: ${(err as Error).message}`);
    }
    const known: Record<string, string> = {
      FCGI_MAX_CONNS: String(this.s.maxConnections),
      // One request at a time per connection: as many requests as connections.
      FCGI_MAX_REQS: String(this.s.maxConnections),
      FCGI_MPXS_CONNS: '0',
    };
    const answer: Array<[string, string]> = [];
    for (const [name] of asked) if (Object.hasOwn(known, name)) answer.push([name, known[name]!]);
    this.send(encodeRecord(FCGI.GET_VALUES_RESULT, 0, encodePairs(answer)));
  }

  private begin(id: number, content: Uint8Array): void {
    let begin;
    try {
      begin = parseBegin(content);
    } catch (err) {
      return this.fatal((err as Error).message);
    }
    const cur = this.current;
    if (cur !== null) {
      if (cur.id === id) {
        // The same id again once the request was sent in full: the next request, sent early. It
        // waits for the current one to end. Before that, the same id twice is a broken stream.
        if (!cur.inputComplete) return this.fatal(`a second BEGIN_REQUEST for request ${id} while it is in progress`);
        this.holding = true;
        this.backlog.push({ type: FCGI.BEGIN_REQUEST, requestId: id, content });
        return;
      }
      // Another id: the web server wants to multiplex, which this responder does not do.
      this.send(endRequest(id, 0, PROTOCOL_STATUS.CANT_MPX_CONN));
      return;
    }
    if (begin.role !== ROLE.RESPONDER) {
      this.send(endRequest(id, 0, PROTOCOL_STATUS.UNKNOWN_ROLE));
      if (!begin.keepConn) this.linger();
      return;
    }
    if (this.nudged) {
      this.nudged = false;
      this.ignoredNudges++;
    }
    this.lastId = id;
    // Draining, a kept request stays kept (the web server closes the connection when nudged after
    // it), unless the web server has shown that it does not act on nudges.
    this.current = new Request(this, id, begin.keepConn && !(this.door.draining && this.ignoredNudges >= MAX_IGNORED_NUDGES));
    this.wait(this.s.headerTimeout, `request ${id}: no complete PARAMS`);
  }

  /** The request has ended: END_REQUEST went out (`complete`), or it never can (reset the connection). */
  requestEnded(req: Request, complete: boolean): void {
    if (this.current === req) this.current = null;
    if (!complete) return this.reset();
    if (this.phase !== 'open') return;
    if (!this.writeBlocked) this.socket.resume();
    if (!req.keepConn || (this.peerEnded && !this.holding)) return this.linger();
    this.pooled = true;
    // A request the web server had already sent behind this one is answered first, drain or not.
    if (this.holding) {
      this.wait(this.s.idleTimeout, null);
      // Once the current call stack unwinds: this runs inside the previous request's end().
      queueMicrotask(() => this.replay());
    } else if (this.door.draining) this.nudge();
    else this.wait(this.s.idleTimeout, null);
  }

  /**
   * The bytes to write right after this request's END_REQUEST, in the same write: the nudge, when the
   * connection is draining and stays open for the web server to close (see nudge()).
   */
  afterEnd(req: Request): Uint8Array | null {
    if (!req.keepConn || !this.door.draining || this.holding || this.peerEnded || !this.usable) return null;
    this.nudged = true;
    return nudgeRecord(this.lastId);
  }

  /**
   * Draining: asks the web server to drop this kept connection, without closing it. FastCGI cannot say
   * "close after this response", and a close (FIN) races the web server: nginx takes pooled connections
   * without looking at them, so one it has just pooled may carry its next request while our FIN is on
   * the way (up to 6 requests lost per scenario of test/prefork/keepalive.test.ts, 8 connections, nginx
   * logging "upstream prematurely closed connection"). What nginx does look at (ngx_http_upstream_keepalive_module.c,
   * ngx_http_fastcgi_module.c):
   *   - bytes after END_REQUEST in the same read: the connection is not pooled but closed;
   *   - anything arriving on a pooled idle connection (bytes or a close): it is closed at once;
   *   - an empty FCGI_STDERR record for its request id at the start of a response: skipped, nothing logged.
   * So the nudge is an empty STDERR record, sent with END_REQUEST (afterEnd) or alone on an idle pooled
   * connection, and the connection stays open: nginx closes it, or, if it had already taken it for a
   * request, reads the nudge as the first record of the answer, which follows. Either way nothing is
   * lost. A web server that ignores the nudge (Apache checks a pooled connection only when it takes
   * one, and reads the nudge ahead of its next answer, harmlessly) is served up to MAX_IGNORED_NUDGES
   * requests, and an idle connection that neither closes nor sends is reset after NUDGE_WAIT_MS: a
   * reset, because a FIN behind unread bytes looks like a live connection to Apache's check.
   */
  private nudge(): void {
    if (!this.nudged) {
      this.send(nudgeRecord(this.lastId));
      this.nudged = true;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.current === null) this.reset();
    }, NUDGE_WAIT_MS);
    this.timer.unref?.();
  }

  /** Closes with a reset: the request cannot be completed, or a nudged idle connection is given up. */
  private reset(): void {
    this.phase = 'closed';
    this.parser.stop();
    const s = this.socket;
    if (s.destroyed) return;
    if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
    else s.destroy();
  }

  /** The drain's deadline (--graceful-timeout): the connection is closed, whatever it is doing. */
  cut(): void {
    // A nudged idle connection: the reset NUDGE_WAIT_MS would have given it.
    if (this.nudged && this.current === null) this.reset();
    else this.socket.destroy();
  }

  private replay(): void {
    const records = this.backlog;
    this.backlog = [];
    this.backlogSize = 0;
    this.holding = false;
    for (let i = 0; i < records.length; i++) {
      if (this.holding) {
        // A further request arrived whole behind this one: keep the rest for later.
        for (const r of records.slice(i)) this.backlog.push(r), (this.backlogSize += r.content.length);
        return;
      }
      this.onRecord(records[i]!);
    }
  }

  /** No more requests: end the write side, drop what still comes in until the web server closes. */
  linger(): void {
    if (this.phase !== 'open') return;
    this.phase = 'linger';
    this.parser.stop();
    this.socket.resume();
    if (this.peerEnded) {
      this.socket.destroySoon();
      return;
    }
    this.socket.end();
    this.wait(this.s.lingerTimeout, null);
  }

  /**
   * Door stop. A busy connection is nudged with its END_REQUEST (or closes after it, without
   * FCGI_KEEP_CONN); an idle pooled one is nudged now. One with no request yet (the web server has
   * just opened it, and its request may be on the way) gets the drain-idle moment to send it
   * (answered), then closes.
   */
  drain(): void {
    if (this.current !== null || this.phase !== 'open') return;
    if (this.pooled) return this.nudge();
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (this.current === null) this.linger();
      },
      Math.min(this.s.idleTimeout > 0 ? this.s.idleTimeout : DRAIN_IDLE_MS, DRAIN_IDLE_MS),
    );
  }

  /** The application runs: no deadline on the connection now (bodyTimeout guards STDIN reads). */
  requestStarted(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** An empty FCGI_STDERR record: the drain's nudge (Connection.nudge()). */
function nudgeRecord(id: number): Uint8Array {
  return encodeRecord(FCGI.STDERR, id);
}
