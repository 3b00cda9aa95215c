// The engine's Sink over the uwsgi connection. A uwsgi response is a plain HTTP/1.x response with no
// uwsgi header (research/protocols.md §1.6): status line, headers in the application's order,
// a blank line, the body, and the end of the body is the end of the connection. Like uWSGI
// (fixtures uwsgi-response-*.bin) nothing is added: no Date, Server, Connection or chunking;
// nginx, Apache and the router add what the client needs.
import type { Socket } from 'node:net';
import type { Sink } from '../runner/handler.js';
import type { HeaderList } from '../spec.js';
import { drained } from '../server/drain.js';

/** Below this a chunk is copied behind the head into one buffer; above it, one writev of both. */
const COPY_LIMIT = 16384;

/** The connection under the sink. */
export interface ResponseEnd {
  /** Called once the whole response has been written: the connection ends it (close or linger). */
  responseDone(): void;
}

export class SocketSink implements Sink {
  /** Status line and headers (latin-1), held until the first body bytes or end() so they leave together. */
  private pending: string | null = null;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly protocol: string,
    private readonly conn: ResponseEnd,
  ) {}

  get closed(): boolean {
    return this.socket.destroyed || this.ended || !this.socket.writable;
  }

  head(_code: number, status: string, headers: HeaderList): void {
    let s = `${this.protocol} ${status}\r\n`;
    for (let i = 0; i < headers.length; i++) s += `${headers[i]![0]}: ${headers[i]![1]}\r\n`;
    // The engine checked status and headers: latin-1 only, no CR/LF, so this cannot split the response.
    this.pending = s + '\r\n';
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed) return false;
    const head = this.pending;
    if (head === null) return this.socket.write(chunk);
    this.pending = null;
    if (chunk.length <= COPY_LIMIT) {
      // One buffer for head and body: a latin-1 string is one byte per char.
      const out = Buffer.allocUnsafe(head.length + chunk.length);
      out.write(head, 0, 'latin1');
      out.set(chunk, head.length);
      return this.socket.write(out);
    }
    this.socket.cork();
    this.socket.write(Buffer.from(head, 'latin1'));
    const more = this.socket.write(chunk);
    this.socket.uncork();
    return more;
  }

  drain(): Promise<void> {
    return this.closed ? Promise.resolve() : drained(this.socket);
  }

  end(last?: Uint8Array): void {
    if (this.ended) return;
    if (!this.socket.destroyed && this.socket.writable) {
      if (last !== undefined && last.length > 0) this.write(last);
      else if (this.pending !== null) this.socket.write(Buffer.from(this.pending, 'latin1'));
      this.pending = null;
    }
    this.ended = true;
    this.conn.responseDone();
  }

  endAscii(text: string): void {
    if (this.ended) return;
    const s = this.socket;
    if (!s.destroyed && s.writable) {
      // ASCII: its latin-1 bytes are its UTF-8 bytes, so head and body leave as one string write.
      const head = this.pending;
      this.pending = null;
      if (head !== null) s.write(head + text, 'latin1');
      else if (text.length > 0) s.write(text, 'latin1');
    }
    this.ended = true;
    this.conn.responseDone();
  }

  abort(): void {
    // A close-delimited body cut by a plain FIN would look complete to the front end: reset instead,
    // so nginx logs "upstream prematurely closed" and does not finish the client's response.
    this.ended = true;
    const s = this.socket;
    if (!s.destroyed) {
      if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
      else s.destroy();
    }
  }
}
