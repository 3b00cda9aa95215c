// fromNodeListener: a Node `(req, res)` listener (an Express or Connect app, a bare handler) as a
// TSGI application, so every tsgi door can serve it.
//
// Express replaces the prototypes of req and res with its own (whose prototypes are
// http.IncomingMessage's and http.ServerResponse's), so they must be the real classes: a look-alike
// would lose its methods. So the listener gets a real IncomingMessage and a real ServerResponse,
// attached to an in-memory socket (BridgeSocket). The request body is pushed into req from
// wsgi.input as the listener reads it. The response comes out of node's own writer as the bytes it
// would send: the head is `res._header` (the exact status line and fields node built), cut off the
// front, and the body follows, de-chunked when node framed it. Each socket write completes only
// when the engine has taken its bytes, so `res.write()` returns false and 'drain' comes late when
// the client is slow: backpressure, as on a real socket.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import type { Application, Body, Environ, EnvironRecord, HeaderList, InputStream, StartResponse } from '../spec.js';
import { isHopByHop } from '../protocol/hop.js';
import { reasonPhrase } from '../protocol/status.js';
import { readSome, targetOf } from '../fetch/request.js';

// The real classes, from process.getBuiltinModule rather than an ES import of node:http, which would
// load undici as well (src/http/node/server.ts says why).
const nodeHttp = process.getBuiltinModule('node:http');

/** A Node request listener: `(req, res)`, or Express's `(req, res, next)`. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => unknown;

/** How much one pull of the request body asks of wsgi.input. */
const READ_SIZE = 64 * 1024;

/** The socket the listener's req and res are attached to. Nothing goes over a network. */
class BridgeSocket extends Duplex {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: string | undefined;
  localAddress: string;
  localPort: number;
  /** net.Socket's `connecting`; Express and friends look at it. */
  readonly connecting = false;
  /** Set on an https request: Express's `req.protocol` and `req.secure` read it. */
  encrypted?: boolean;

  constructor(
    private readonly exchange: NodeExchange,
    environ: Environ,
  ) {
    super({ decodeStrings: false, allowHalfOpen: true });
    const addr = environ.REMOTE_ADDR;
    this.remoteAddress = addr;
    this.remotePort = environ.REMOTE_PORT !== undefined ? Number(environ.REMOTE_PORT) : undefined;
    this.remoteFamily = addr === undefined ? undefined : addr.includes(':') ? 'IPv6' : 'IPv4';
    this.localAddress = environ.SERVER_NAME;
    this.localPort = Number(environ.SERVER_PORT);
    if (environ['wsgi.url_scheme'] === 'https') this.encrypted = true;
  }

  override _read(): void {}

  override _write(chunk: Buffer | string, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.exchange.received([chunk], [encoding], cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, cb: (err?: Error | null) => void): void {
    this.exchange.received(
      chunks.map((c) => c.chunk),
      chunks.map((c) => c.encoding),
      cb,
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.exchange.socketClosed();
    cb(err);
  }

  // net.Socket's API, as far as a listener may call it: nothing to do in memory.
  setTimeout(_ms: number, _cb?: () => void): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  address(): { address: string; port: number; family: string } {
    return { address: this.localAddress, port: this.localPort, family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4' };
  }
  destroySoon(): void {
    if (this.writableFinished) this.destroy();
    else {
      this.once('finish', () => this.destroy());
      this.end();
    }
  }
}

/** Removes the chunked framing node puts on a body it does not know the length of. */
class Dechunker {
  private state = 0; // 0 size line, 1 rest of the size line, 2 data, 3 CRLF after data, 4 trailers (ignored)
  private size = 0;
  private left = 0;

  push(b: Uint8Array, out: Uint8Array[]): void {
    let i = 0;
    while (i < b.length) {
      switch (this.state) {
        case 0: {
          const c = b[i]!;
          const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
          if (h !== -1) {
            this.size = this.size * 16 + h;
            i++;
            break;
          }
          this.state = 1;
          break;
        }
        case 1: {
          const nl = b.indexOf(10, i);
          if (nl === -1) return;
          i = nl + 1;
          if (this.size === 0) this.state = 4;
          else {
            this.left = this.size;
            this.state = 2;
          }
          break;
        }
        case 2: {
          const n = Math.min(this.left, b.length - i);
          out.push(i === 0 && n === b.length ? b : b.subarray(i, i + n));
          i += n;
          this.left -= n;
          if (this.left === 0) this.state = 3;
          break;
        }
        case 3: {
          const nl = b.indexOf(10, i);
          if (nl === -1) return;
          i = nl + 1;
          this.size = 0;
          this.state = 0;
          break;
        }
        default:
          return;
      }
    }
  }
}

interface Queued {
  bytes: Uint8Array;
  cb: ((err?: Error | null) => void) | null;
}

/** Internals of node's OutgoingMessage this bridge reads (stable since Node 0.x). */
type NodeResponse = ServerResponse & { _header: string | null; chunkedEncoding: boolean; _hasBody: boolean };

/** kNeedDrain: node's flag behind `res.writableNeedDrain`; the real server clears it before 'drain'. */
let kNeedDrain: symbol | null | undefined;

/** One request through the listener; it is the TSGI body the application returns. */
class NodeExchange implements AsyncIterator<Uint8Array>, AsyncIterable<Uint8Array> {
  readonly socket: BridgeSocket;
  readonly req: IncomingMessage;
  readonly res: NodeResponse;
  private started = false;
  private dechunker: Dechunker | null = null;
  private queue: Queued[] = [];
  private held: ((err?: Error | null) => void) | null = null;
  private waiting: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | null = null;
  private finished = false;
  private failure: unknown = null;
  private closing = false;
  private pulling = false;
  private readonly input: InputStream;

  constructor(
    environ: Environ,
    private readonly startResponse: StartResponse,
  ) {
    this.input = environ['wsgi.input'];
    const socket = (this.socket = new BridgeSocket(this, environ));
    socket.on('error', () => {}); // an error destroying it reaches us through socketClosed()
    const req = (this.req = new nodeHttp.IncomingMessage(socket as never));
    req.method = environ.REQUEST_METHOD;
    req.url = targetOf(environ);
    const proto = environ.SERVER_PROTOCOL || 'HTTP/1.1';
    req.httpVersion = proto.startsWith('HTTP/') ? proto.slice(5) : '1.1';
    req.httpVersionMajor = Number(req.httpVersion[0]) || 1;
    req.httpVersionMinor = Number(req.httpVersion[2]) || 0;
    const headers: Record<string, string> = {};
    const raw: string[] = [];
    for (const key in environ) {
      let name: string;
      if (key.charCodeAt(0) === 72 && key.startsWith('HTTP_')) name = key.slice(5);
      else if (key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH') name = key;
      else continue;
      const value = (environ as EnvironRecord)[key]; // a key found at run time
      if (typeof value !== 'string') continue;
      name = name.toLowerCase().replace(/_/g, '-');
      headers[name] = value;
      raw.push(name, value);
    }
    req.headers = headers;
    req.rawHeaders = raw;
    const length = environ.CONTENT_LENGTH;
    if (length !== undefined ? length === '0' : environ.HTTP_TRANSFER_ENCODING === undefined) {
      // No body: the request is complete already, as node's parser leaves it.
      req.complete = true;
      req.push(null);
    } else {
      const self = this;
      // IncomingMessage's own _read resumes the socket the parser feeds it from; here the body comes
      // from wsgi.input, pulled as the listener reads (paused mode reads, pipes, 'data' handlers).
      req._read = function _read(this: IncomingMessage & { _consuming: boolean }) {
        this._consuming = true;
        (this as unknown as { _readableState: { readingMore: boolean } })._readableState.readingMore = false;
        self.pullBody();
      };
    }
    const res = (this.res = new nodeHttp.ServerResponse(req) as NodeResponse);
    // The outer door adds Date, so node must not. It frames the body too, but node is left to frame
    // it as it likes (keeping its Content-Length for `res.end(body)` whatever the HTTP version):
    // received() removes node's chunked framing again.
    res.sendDate = false;
    res.useChunkedEncodingByDefault = true;
    res.assignSocket(socket as never);
    socket.on('drain', () => {
      if (res.writableFinished || res.destroyed) return;
      if (kNeedDrain === undefined) {
        kNeedDrain = Object.getOwnPropertySymbols(res).find((s) => s.description === 'kNeedDrain') ?? null;
      }
      if (kNeedDrain !== null) (res as unknown as Record<symbol, boolean>)[kNeedDrain] = false;
      res.emit('drain');
    });
    res.once('finish', () => {
      this.finished = true;
      this.wake();
    });
  }

  /** Calls the listener. Returns the body: the bytes at once if the response completed synchronously. */
  run(listener: RequestListener): Body {
    let result: unknown;
    try {
      result = listener(this.req, this.res);
    } catch (err) {
      this.teardown();
      throw err;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (err: unknown) => this.fail(err));
    }
    if (this.failure !== null) {
      this.teardown();
      throw this.failure;
    }
    // The whole response was written before the listener returned (Express's res.send() is): hand
    // it over as an array, so the engine sends it in one piece with its Content-Length. Completing
    // each write lets the socket pass on what it still buffered, so collect until nothing is left.
    if (this.started && this.res.writableEnded && this.held === null) {
      const parts: Uint8Array[] = [];
      for (let q = this.queue.shift(); q !== undefined; q = this.queue.shift()) {
        if (q.bytes.length > 0) parts.push(q.bytes);
        q.cb?.();
      }
      if (this.socket.writableLength === 0 && this.failure === null) {
        return Object.assign(parts, { close: () => this.close() });
      }
      this.queue.unshift(...parts.map((bytes) => ({ bytes, cb: null })));
    }
    return this;
  }

  // --- the response, as node writes it ---------------------------------------------------------

  received(chunks: Array<Buffer | string>, encodings: BufferEncoding[], cb: (err?: Error | null) => void): void {
    const out: Uint8Array[] = [];
    try {
      for (let i = 0; i < chunks.length; i++) {
        let chunk = chunks[i]!;
        if (!this.started) {
          const header = this.res._header;
          if (typeof chunk === 'string' && typeof header === 'string' && header !== '' && chunk.startsWith(header)) {
            chunk = chunk.slice(header.length);
            this.begin(header);
          } else if (typeof chunk === 'string' && /^HTTP\/1\.[01] 1\d\d /.test(chunk)) {
            continue; // an interim response (writeContinue, writeEarlyHints): the door's business
          } else {
            throw new Error('tsgi: the Node listener wrote bytes before its response head');
          }
        }
        if (chunk.length === 0) continue;
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encodings[i]) : chunk;
        if (this.dechunker !== null) this.dechunker.push(bytes, out);
        else out.push(bytes);
      }
    } catch (err) {
      this.fail(err);
      cb(err as Error);
      return;
    }
    if (out.length === 0) {
      cb();
      return;
    }
    for (let i = 0; i < out.length; i++) this.queue.push({ bytes: out[i]!, cb: i === out.length - 1 ? cb : null });
    this.wake();
  }

  /** The head node built: the status line and the fields, as native strings. */
  private begin(header: string): void {
    this.started = true;
    const lines = header.split('\r\n');
    const statusLine = lines[0]!;
    const sp = statusLine.indexOf(' ');
    const code = Number(statusLine.slice(sp + 1, sp + 4));
    const reason = statusLine.slice(sp + 5) || reasonPhrase(code);
    const headers: HeaderList = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      // Connection, Keep-Alive and Transfer-Encoding are node's framing for a socket of its own; the
      // door decides its own (and startResponse refuses hop-by-hop fields).
      if (isHopByHop(name)) continue;
      if (code === 204 && name.toLowerCase() === 'content-length') continue;
      headers.push([name, value]);
    }
    if (this.res.chunkedEncoding) this.dechunker = new Dechunker();
    this.startResponse(`${code} ${reason}`, headers);
  }

  // --- the iterator the engine pulls ---------------------------------------------------------

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    // The engine asks for more: it has taken the last chunk, so node's write of it is complete.
    const held = this.held;
    if (held !== null) {
      this.held = null;
      held();
    }
    const r = this.take();
    if (r !== null) return Promise.resolve(r);
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  private take(): IteratorResult<Uint8Array> | null {
    const q = this.queue.shift();
    if (q !== undefined) {
      this.held = q.cb;
      return { done: false, value: q.bytes };
    }
    if (this.finished || this.closing) return { done: true, value: undefined };
    return null;
  }

  private wake(): void {
    const w = this.waiting;
    if (w === null) return;
    if (this.failure !== null) {
      this.waiting = null;
      w.reject(this.failure);
      return;
    }
    const r = this.take();
    if (r !== null) {
      this.waiting = null;
      w.resolve(r);
    }
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** The engine is done (always called once): tear down; an unfinished response means the client left. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.wake();
    if (this.res.writableFinished) this.teardown();
    else if (this.res.writableEnded && this.failure === null) {
      // Everything was taken; node emits 'finish' in a moment. Let it, then close as a server would.
      this.res.once('finish', () => this.teardown());
      for (const q of this.queue.splice(0)) q.cb?.();
      const held = this.held;
      this.held = null;
      held?.();
    } else this.teardown(true);
  }

  private fail(err: unknown): void {
    if (this.failure !== null) return;
    this.failure = err ?? new Error('tsgi: the Node listener failed');
    this.wake();
  }

  /** The socket went away: by us (teardown) or by the listener (res.destroy(), socket.destroy()). */
  socketClosed(): void {
    if (this.closing || this.finished) return;
    this.fail(new Error('tsgi: the Node listener closed the connection before its response was complete'));
  }

  /** Closes the socket (res emits 'close'); `aborted`: the request is cut off too ('aborted', 'close'). */
  private teardown(aborted = false): void {
    this.closing = true;
    if (!this.socket.destroyed) this.socket.destroy();
    if (aborted && !this.req.destroyed) {
      this.req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    }
  }

  // --- the request body ------------------------------------------------------------------------

  pullBody(): void {
    if (this.pulling) return;
    this.pulling = true;
    const req = this.req;
    readSome(this.input, READ_SIZE).then(
      (chunk) => {
        this.pulling = false;
        if (req.destroyed) return;
        if (chunk.length === 0) {
          req.complete = true;
          req.push(null);
        } else req.push(chunk);
      },
      (err: unknown) => {
        this.pulling = false;
        if (!req.destroyed) req.destroy(err as Error);
      },
    );
  }
}

/**
 * Serves a Node request listener under tsgi: `fromNodeListener(expressApp)` is a TSGI application.
 * The listener sees `req.url` as PATH_INFO and the query (a mounted app sees the path below its
 * mount point, as Express's own mounting does), the request's headers, and a socket whose
 * `remoteAddress`, `localPort` and `encrypted` come from the environ. The status and fields it sets
 * become startResponse's (node's Date, Connection and framing fields excepted); the body streams
 * with backpressure both ways. When the client goes away, `res` emits 'close' before 'finish' and
 * `req` emits 'aborted', as under node's own server.
 */
export function fromNodeListener(listener: RequestListener): Application {
  if (typeof listener !== 'function') throw new TypeError('fromNodeListener() needs a (req, res) function');
  return function nodeApplication(environ: Environ, startResponse: StartResponse): Body {
    return new NodeExchange(environ, startResponse).run(listener);
  };
}
