// The engine's Sink on a raw socket: the status line and headers are serialised here and leave
// with the first body bytes (a small response is one write), the body framed by Content-Length when
// the application or the engine declared one, chunked on HTTP/1.1 otherwise, and by closing the
// connection for an HTTP/1.0 client. HEAD, 1xx, 204 and 304 responses carry no body.
import type { Sink } from '../../runner/handler.js';
import type { HeaderList } from '../../spec.js';
import type { Connection } from './connection.js';
import { drained } from '../../server/drain.js';

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
/** Below this a body chunk is copied next to the head (one buffer); above, both go in one writev. */
const COPY_MAX = 16 * 1024;

let dateSecond = 0;
let dateText = '';
/** The Date header value (RFC 9110 §6.6.1), built once a second; `now` is the door's clock (read at each socket read). */
function httpDate(now = Date.now()): string {
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

// The end of most heads, Date to the empty line, built when httpDate's text changes (once a second) or
// another door's keep-alive line asks, rather than by four concatenations per response.
let tailDate = '';
let tailKeep = '';
let tailKeepHeader = '';
let tailClose = '';
function headTail(now: number, keepAlive: boolean, keepAliveHeader: string): string {
  const date = httpDate(now);
  if (date !== tailDate || keepAliveHeader !== tailKeepHeader) {
    const line = 'Date: ' + date + '\r\n';
    tailDate = date;
    tailKeepHeader = keepAliveHeader;
    tailKeep = line + keepAliveHeader + '\r\n';
    tailClose = line + 'Connection: close\r\n\r\n';
  }
  return keepAlive ? tailKeep : tailClose;
}

// The status line of the last status answered: most responses repeat it.
let lastStatus = '';
let lastStatusLine = '';

export class NetSink implements Sink {
  /** The serialised head, until it leaves with the first write. */
  private pendingHead: string | null = null;
  private chunked = false;
  private bodyless = false;
  private ended = false;
  headSent = false;

  constructor(private readonly conn: Connection) {}

  get closed(): boolean {
    return this.conn.gone || this.timedOut;
  }

  /** Set once the door answered 503 in the application's place (its response timeout). */
  private timedOut = false;

  /** Answers 503 in the application's place unless its response has started; returns whether it did. */
  timeOut(): boolean {
    if (this.headSent || this.ended || this.conn.gone) return false;
    this.timedOut = true;
    this.ended = true;
    this.pendingHead = null;
    const body = 'Service Unavailable\n';
    this.conn.socket.write(
      `HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\nDate: ${httpDate()}\r\n\r\n${body}`,
      'latin1',
    );
    this.headSent = true;
    return true;
  }

  head(_code: number, status: string, headers: HeaderList, length: number, bodyless: boolean, close = false): void {
    if (this.timedOut) return;
    const conn = this.conn;
    // The runner's answer to a ClientError: this connection carries no further request. A draining door
    // says Connection: close on every response not yet started, and so does a response that leaves a
    // request body unread which cannot be dropped after it (unknown or large remainder): the client
    // learns it from the head, never from a reset after it.
    if (close || conn.door.draining || !conn.unreadBodyDroppable) conn.keepAlive = false;
    let s: string;
    if (status === lastStatus) s = lastStatusLine;
    else s = lastStatusLine = 'HTTP/1.1 ' + (lastStatus = status) + '\r\n';
    let hasDate = false;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      const name = h[0];
      s += name + ': ' + h[1] + '\r\n';
      if (name.length === 4 && !hasDate && name.toLowerCase() === 'date') hasDate = true;
    }
    this.bodyless = bodyless;
    if (!bodyless && length < 0) {
      if (conn.versionMinor === 1) {
        if (!hasDate) s += 'Date: ' + httpDate(conn.door.now) + '\r\n';
        hasDate = true;
        s += 'Transfer-Encoding: chunked\r\n';
        this.chunked = true;
      } else conn.keepAlive = false; // HTTP/1.0: the end of the body is the end of the connection
    }
    // As node:http does: say that the connection stays open and for how long it may idle, so that a
    // client does not reuse a connection the server is about to close.
    if (hasDate) this.pendingHead = s + (conn.keepAlive ? conn.door.keepAliveHeader : 'Connection: close\r\n') + '\r\n';
    else this.pendingHead = s + headTail(conn.door.now, conn.keepAlive, conn.door.keepAliveHeader);
  }

  write(chunk: Uint8Array): boolean {
    if (this.timedOut) return true;
    if (this.bodyless || this.ended || chunk.length === 0) return true;
    const socket = this.conn.socket;
    if (socket.destroyed) return true;
    const head = this.pendingHead;
    if (this.chunked) {
      socket.cork();
      if (head !== null) this.sendHead();
      socket.write(chunk.length.toString(16) + '\r\n', 'latin1');
      socket.write(chunk);
      const ok = socket.write(CRLF);
      socket.uncork();
      return ok;
    }
    if (head === null) return socket.write(chunk);
    return this.writeWithHead(chunk);
  }

  /** The head and the first bytes in one write: copied together when small, one writev when large. */
  private writeWithHead(chunk: Uint8Array, tail?: Buffer): boolean {
    const socket = this.conn.socket;
    const head = this.pendingHead!;
    this.pendingHead = null;
    this.headSent = true;
    const extra = tail ? tail.length : 0;
    if (chunk.length + extra <= COPY_MAX) {
      const out = Buffer.allocUnsafe(head.length + chunk.length + extra);
      const n = out.write(head, 0, 'latin1');
      out.set(chunk, n);
      if (tail) out.set(tail, n + chunk.length);
      return socket.write(out);
    }
    socket.cork();
    socket.write(head, 'latin1');
    const ok = socket.write(chunk);
    const ok2 = tail ? socket.write(tail) : ok;
    socket.uncork();
    return ok2;
  }

  private sendHead(): void {
    const head = this.pendingHead;
    if (head === null) return;
    this.pendingHead = null;
    this.headSent = true;
    this.conn.socket.write(head, 'latin1');
  }

  drain(): Promise<void> {
    return drained(this.conn.socket);
  }

  onClose(listener: () => void): void {
    this.conn.onGone(listener);
  }

  end(last?: Uint8Array): void {
    if (this.ended) {
      if (this.timedOut) this.conn.responseEnded();
      return;
    }
    this.ended = true;
    const socket = this.conn.socket;
    if (!socket.destroyed) {
      const body = this.bodyless || last === undefined ? null : last;
      if (this.chunked) {
        if (body !== null && body.length > 0) {
          socket.cork();
          this.sendHead();
          socket.write(body.length.toString(16) + '\r\n', 'latin1');
          socket.write(body);
          socket.write(CRLF);
          socket.write(LAST_CHUNK);
          socket.uncork();
        } else if (this.pendingHead !== null) this.writeWithHead(LAST_CHUNK);
        else socket.write(LAST_CHUNK);
      } else if (this.pendingHead !== null) this.writeWithHead(body ?? EMPTY);
      else if (body !== null && body.length > 0) socket.write(body);
    }
    this.conn.responseEnded();
  }

  endAscii(text: string): void {
    // (The runner calls it only for a declared length, so never chunked nor bodyless; end() knows a timed-out sink.)
    if (this.ended) return this.end();
    this.ended = true;
    const socket = this.conn.socket;
    if (!socket.destroyed) {
      const head = this.pendingHead;
      if (head !== null) {
        this.pendingHead = null;
        this.headSent = true;
        // ASCII: its latin-1 bytes are its UTF-8 bytes. One string, written by node from the string.
        socket.write(head + text, 'latin1');
      } else if (text.length > 0) socket.write(text, 'latin1');
    }
    this.conn.responseEnded();
  }

  abort(): void {
    // The client must see the response cut short: a sized body ends early, a chunked one without
    // its last chunk. What was written goes out first, then the connection closes.
    this.ended = true;
    this.conn.keepAlive = false;
    this.conn.close();
  }
}

const EMPTY = Buffer.alloc(0);
