// The engine's Sink for one FastCGI request. The response is a CGI response in STDOUT records
// (research/protocols.md §2.4): `Status: NNN Reason` (nginx ignores an HTTP status line over FastCGI),
// the headers in the application's order, a blank line, the body; then an empty STDOUT and
// END_REQUEST. Status and headers are held until the first body bytes (or the end) so that a small
// response leaves in one write, as one STDOUT record. Records are not padded (uWSGI, Apache and
// lighttpd never pad; padding is optional).
import type { Socket } from 'node:net';
import type { Sink } from '../runner/handler.js';
import type { HeaderList } from '../spec.js';
import { FCGI, HEADER_SIZE, MAX_CONTENT, PROTOCOL_STATUS, endRequest, writeHeader } from '../protocol/fastcgi.js';
import { drained } from '../server/drain.js';

/** Below this many bytes a response piece is copied into one buffer; above, written as views. */
const COPY_LIMIT = 16384;

/**
 * Writes `parts` (their concatenation) as records of `type`, at most 65535 bytes of content each,
 * followed by `tail` (ready-made records). Returns socket.write()'s verdict on the last write.
 */
export function writeStream(socket: Socket, type: number, id: number, parts: Uint8Array[], tail?: Uint8Array): boolean {
  let total = 0;
  for (const p of parts) total += p.length;
  const records = Math.ceil(total / MAX_CONTENT);
  if (total <= COPY_LIMIT) {
    const out = Buffer.allocUnsafe(total + records * HEADER_SIZE + (tail?.length ?? 0));
    let at = 0;
    if (total > 0) {
      writeHeader(out, 0, type, id, total);
      at = HEADER_SIZE;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
    }
    if (tail) out.set(tail, at);
    return socket.write(out);
  }
  // Large: headers as small buffers, the data as views of the caller's bytes (no copy).
  socket.cork();
  let room = 0;
  let left = total;
  for (const p of parts) {
    let off = 0;
    while (off < p.length) {
      if (room === 0) {
        room = Math.min(MAX_CONTENT, left);
        const h = Buffer.allocUnsafe(HEADER_SIZE);
        writeHeader(h, 0, type, id, room);
        socket.write(h);
      }
      const take = Math.min(room, p.length - off);
      socket.write(p.subarray(off, off + take));
      off += take;
      room -= take;
      left -= take;
    }
  }
  if (tail) socket.write(tail);
  socket.uncork();
  return !socket.writableNeedDrain;
}

export interface SinkOwner {
  /** Bytes to send before END_REQUEST besides the empty STDOUT (the empty STDERR, when STDERR was used). */
  streamEnds(): Uint8Array | null;
  /** Bytes to send after END_REQUEST in the same write (a draining connection's nudge). */
  afterEnd(): Uint8Array | null;
  /** The response is complete (`true`: END_REQUEST written) or cannot be completed (`false`). */
  responseDone(complete: boolean): void;
  /** True once the web server aborted the request or the connection is gone. */
  readonly gone: boolean;
}

export class FastcgiSink implements Sink {
  private pending: Buffer | null = null;
  private done = false;

  constructor(
    private readonly socket: Socket,
    private readonly id: number,
    private readonly owner: SinkOwner,
  ) {}

  get closed(): boolean {
    return this.done || this.owner.gone || this.socket.destroyed || !this.socket.writable;
  }

  head(_code: number, status: string, headers: HeaderList): void {
    let s = `Status: ${status}\r\n`;
    for (let i = 0; i < headers.length; i++) {
      const [name, value] = headers[i]!;
      // Connection is about the web server's own client connection (the engine sets it on its 400s).
      if (name.length === 10 && name.toLowerCase() === 'connection') continue;
      s += `${name}: ${value}\r\n`;
    }
    // The engine checked status and headers (latin-1, no CR/LF), so this cannot split the response.
    this.pending = Buffer.from(s + '\r\n', 'latin1');
  }

  private parts(chunk: Uint8Array | undefined): Uint8Array[] {
    const parts: Uint8Array[] = [];
    if (this.pending !== null) parts.push(this.pending);
    this.pending = null;
    if (chunk !== undefined && chunk.length > 0) parts.push(chunk);
    return parts;
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed) return false;
    return writeStream(this.socket, FCGI.STDOUT, this.id, this.parts(chunk));
  }

  drain(): Promise<void> {
    return this.closed ? Promise.resolve() : drained(this.socket);
  }

  end(last?: Uint8Array): void {
    if (this.done) return;
    if (this.closed) {
      this.done = true;
      this.owner.responseDone(false);
      return;
    }
    this.done = true;
    const ends = this.owner.streamEnds();
    const stdoutEnd = Buffer.allocUnsafe(HEADER_SIZE);
    writeHeader(stdoutEnd, 0, FCGI.STDOUT, this.id, 0);
    const tail = Buffer.concat([stdoutEnd, ...(ends ? [ends] : []), endRequest(this.id, 0, PROTOCOL_STATUS.REQUEST_COMPLETE)]);
    // In the same write: nginx decides whether to pool the connection from the read END_REQUEST ends.
    const after = this.owner.afterEnd();
    writeStream(this.socket, FCGI.STDOUT, this.id, this.parts(last), after ? Buffer.concat([tail, after]) : tail);
    this.owner.responseDone(true);
  }

  abort(): void {
    // No END_REQUEST: the connection is reset, so the web server reports the response as cut short
    // (nginx: "upstream prematurely closed") instead of taking a partial body for a whole one.
    if (this.done) return;
    this.done = true;
    this.owner.responseDone(false);
  }
}
