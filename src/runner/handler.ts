// The engine: runs one application for one request over an abstract Sink, the role of wsgiref's
// BaseHandler. Every door (HTTP, uwsgi, FastCGI, CGI, the test client, Fetch) uses it, so the
// contract of docs/SPEC.md is enforced in one place. It imports nothing from Node.
//
// Hot path notes: a synchronous application returning an array is answered without a single
// Promise (the whole response goes to the sink in one `end()` call, with a computed
// Content-Length); synchronous iterables await only when the sink asks for backpressure.
import type { Application, Body, Chunk, Environ, HeaderList, StartResponse, Write } from '../spec.js';
import { EMPTY, concat, isAscii, toBytes, utf8 } from '../protocol/bytes.js';
import { reasonPhrase } from '../protocol/status.js';
import { isNoContentStatus } from '../protocol/bodyless.js';
import { AssertionError, checkHeaders, checkStatus, describe } from './checks.js';
import { formatError, type Logger } from './log.js';
import { ClientError, type ErrorCode } from '../errors.js';

export { ClientError };

/** Where a response goes. A door implements it over its transport. */
export interface Sink {
  /**
   * Status and headers are final. Nothing needs to be written yet: a door should hold them and send
   * them with the first chunk (or with `end()`), so that small responses leave in one write.
   * `length` is the Content-Length the headers declare (-1 when unknown: the door frames the body,
   * chunked on HTTP/1.1, by closing otherwise); `bodyless` is true for HEAD and 1xx/204/304.
   * `close` is true when the connection must not carry another request (the runner's answer to a
   * ClientError): a door that keeps connections alive closes this one after the response and says
   * so (`Connection: close` on HTTP/1.1). Applications cannot ask for it: Connection is hop-by-hop.
   */
  head(code: number, status: string, headers: HeaderList, length: number, bodyless: boolean, close?: boolean): void;
  /** Sends a chunk; returns false when the engine should wait for `drain()` before the next. */
  write(chunk: Uint8Array): boolean;
  /** Resolves when more may be written, or when the client has gone (never hangs on a closed peer). */
  drain(): Promise<void>;
  /** The response is complete; `last` is sent first when given. */
  end(last?: Uint8Array): void;
  /**
   * Optional: `end()` with the whole body as a string of ASCII chars only (so its UTF-8 bytes are its
   * chars, one each). The runner uses it for the commonest small response, one string chunk in an
   * array, which a door can send with its head as one string write: no Buffer for the body, none for
   * the head and the body together (node:http writes a small string body the same way). Called only
   * after `head()` declared exactly this many bytes of a response that has a body (not bodyless).
   */
  endAscii?(text: string): void;
  /** The response cannot be completed: the client must see it cut short (reset or close). */
  abort(): void;
  /** True once the client has gone away. */
  readonly closed: boolean;
  /**
   * Optional: calls `listener` once when the client goes away (or the response is over). The engine
   * uses it for bodies that wait between chunks, to run `close()` without waiting for the next one.
   */
  onClose?(listener: () => void): void;
}

export interface RunOptions {
  /** The error log: application errors, Content-Length mismatches. */
  log: Logger;
  /**
   * The request method (HEAD sends no body); environ.REQUEST_METHOD when not given, so that a door can
   * pass one options object for all its requests instead of one per request.
   */
  method?: string;
}

/** The longest string body sendArray hands to Sink.endAscii (one write; larger ones are Buffers anyway). */
const ASCII_MAX = 8192;

const ERROR_STATUS = '500 Internal Server Error';
const ERROR_BODY = utf8('A server error occurred.  Please contact the administrator.');
const ERROR_HEADERS = (): HeaderList => [
  ['Content-Type', 'text/plain'],
  ['Content-Length', String(ERROR_BODY.length)],
];

/** What `send()` tells the pump. */
const GO = 0;
const WAIT = 1;
const STOP = 2;
type SendResult = typeof GO | typeof WAIT | typeof STOP;

/** Raised inside the engine when the application breaks the contract (an AssertionError, with its code). */
class ContractError extends AssertionError {}
const BODY: ErrorCode = 'TSGI_ERR_APP_BODY';
const START: ErrorCode = 'TSGI_ERR_APP_START_RESPONSE';

/**
 * Runs `app` for one request. Returns undefined when the response completed synchronously, else a
 * Promise that settles when it is complete; it never rejects (errors are answered and logged).
 */
export function runApp(app: Application, environ: Environ, sink: Sink, options: RunOptions): void | Promise<void> {
  return new Exchange(environ, sink, options).run(app);
}

class Exchange {
  // Response state, as wsgiref names it.
  private status: string | null = null;
  private headers: HeaderList | null = null;
  private code = -1; // -1 until status and headers passed the checks
  private declared = -1; // the Content-Length the app declared
  private headersSent = false;
  private bodyless = false;
  private sent = 0;
  private body: Body | null = null;
  private closed = false;
  /** The answer to a ClientError: the connection must not carry another request (Sink.head's `close`). */
  private closeConnection = false;
  private readonly isHead: boolean;

  readonly startResponse: StartResponse;
  readonly write: Write;

  constructor(
    private readonly environ: Environ,
    private readonly sink: Sink,
    private readonly options: RunOptions,
  ) {
    this.isHead = (options.method ?? environ.REQUEST_METHOD) === 'HEAD';
    this.startResponse = Exchange.startResponseOf(this);
    this.write = Exchange.writeOf(this);
  }

  // The two functions the application is given are made here, over a parameter, not as arrow functions
  // in the constructor over `this`. Measured on Node 22+ (V8's Maglev tier): a closure made in a method
  // or constructor of this per-request object left about a fifth of every request's objects alive past
  // each young-generation GC while Maglev code ran, which grew the young generation to its maximum: a
  // hello worker at 30k req/s held 150 MB instead of 85 MB (docs/deploy-process.md, "Memory"). Made by
  // a static function, the same closures die young. Node 20 is not affected either way.
  private static startResponseOf(ex: Exchange): StartResponse {
    return (status, headers, excInfo) => ex.start(status, headers, excInfo);
  }

  private static writeOf(ex: Exchange): Write {
    return (chunk) => ex.legacyWrite(chunk);
  }

  run(app: Application): void | Promise<void> {
    let result: Body | Promise<Body>;
    try {
      result = app(this.environ, this.startResponse);
    } catch (err) {
      return this.fail(err);
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<Body>).then === 'function') {
      return (result as Promise<Body>).then(
        (body) => this.consume(body),
        (err) => this.fail(err),
      );
    }
    return this.consume(result as Body);
  }

  // --- startResponse and write() -------------------------------------------------------------

  private start(status: string, headers: HeaderList, excInfo?: unknown): Write {
    if (excInfo !== undefined && excInfo !== null && excInfo !== false) {
      // R44: after the headers went out the error cannot be reported any more; rethrow it.
      if (this.headersSent) throw Array.isArray(excInfo) && excInfo.length === 3 ? excInfo[1] : excInfo;
    } else if (this.status !== null) {
      throw new AssertionError('Headers already set!', 'TSGI_ERR_APP_START_RESPONSE');
    }
    // R42: store first, then check, so that a retry must come with excInfo.
    this.status = status;
    this.headers = headers;
    this.code = -1;
    const code = checkStatus(status);
    this.declared = checkHeaders(headers, code);
    this.code = code;
    return this.write;
  }

  private legacyWrite(chunk: Chunk): Promise<void> {
    if (this.status === null) throw new AssertionError('write() before start_response()', 'TSGI_ERR_APP_START_RESPONSE');
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
      throw new AssertionError(`write() argument must be a Uint8Array or a string (got ${describe(chunk)})`, 'TSGI_ERR_APP_BODY');
    }
    const bytes = toBytes(chunk);
    if (this.declared >= 0 && this.sent + bytes.length > this.declared && !this.isBodyless()) {
      throw new AssertionError(`write() past Content-Length: ${this.sent + bytes.length} bytes of a declared ${this.declared}`, 'TSGI_ERR_APP_BODY');
    }
    // PEP 3333: the first write() sends the headers even when it is empty.
    if (!this.headersSent) this.sendHeaders();
    const r = bytes.length === 0 || this.bodyless ? GO : this.send(bytes);
    return r === WAIT ? this.sink.drain() : Promise.resolve();
  }

  // --- the body ------------------------------------------------------------------------------

  private consume(body: Body): void | Promise<void> {
    if (body === null || body === undefined || typeof body !== 'object' || body instanceof Uint8Array) {
      return this.fail(
        new ContractError(
          `The application must return an iterable of chunks (got ${describe(body)}); ` +
            (typeof body === 'string' || body instanceof Uint8Array ? 'wrap it in an array: [body]' : 'return [] for no body'),
          BODY,
        ),
      );
    }
    this.body = body;
    if (Array.isArray(body) && !this.headersSent) return this.sendArray(body as Chunk[]);
    const asyncIter = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator];
    if (typeof asyncIter === 'function') return this.pumpAsync(asyncIter.call(body));
    const iter = (body as Iterable<Chunk>)[Symbol.iterator];
    if (typeof iter !== 'function') {
      return this.fail(new ContractError(`The application returned a non-iterable ${describe(body)}`, BODY));
    }
    let it: Iterator<Chunk>;
    try {
      it = iter.call(body);
    } catch (err) {
      return this.fail(err);
    }
    return this.pumpSync(it);
  }

  /** An array: every chunk is here already, so the length is known and the response leaves in one piece. */
  private sendArray(chunks: Chunk[]): void | Promise<void> {
    if (this.status === null) return this.fail(new ContractError('The application returned without calling startResponse()', START));
    if (this.code === -1) return this.fail(new ContractError('startResponse() was given an invalid status or headers', START));
    if (chunks.length === 1 && typeof chunks[0] === 'string' && this.sink.endAscii !== undefined) {
      const text = chunks[0];
      // UTF-8 is one byte per char exactly when every char is ASCII; a short text is the case that pays.
      if (text.length <= ASCII_MAX && isAscii(text)) return this.sendAscii(text);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      if (typeof c !== 'string' && !(c instanceof Uint8Array)) {
        return this.fail(new ContractError(`A body chunk must be a Uint8Array or a string (got ${describe(c)})`, BODY));
      }
      const b = toBytes(c);
      if (b.length === 0) continue;
      parts.push(b);
      total += b.length;
    }
    let data = parts.length === 0 ? EMPTY : concat(parts, total);
    if (this.declared === -1) this.declareLength(total);
    else if (total > this.declared && !this.isBodyless()) {
      this.options.log.error(`${this.where()}: the application sent ${total} bytes, more than its Content-Length ${this.declared}; truncated`);
      data = data.subarray(0, this.declared);
    }
    this.sendHeaders();
    if (this.bodyless) {
      this.sink.end();
      return this.close();
    }
    this.sent = data.length;
    if (this.sent < this.declared) {
      if (data.length > 0) this.sink.write(data);
      return this.finish(); // reports the short body and aborts
    }
    this.sink.end(data);
    return this.close();
  }

  /** sendArray() for one ASCII string: the same decisions, the body left a string for the sink. */
  private sendAscii(text: string): void | Promise<void> {
    const total = text.length;
    if (this.declared === -1) this.declareLength(total);
    else if (total !== this.declared && !this.isBodyless()) {
      // Longer or shorter than declared: the general path truncates or aborts, and logs.
      return this.sendArray([utf8(text)]);
    }
    this.sendHeaders();
    if (this.bodyless) this.sink.end();
    else {
      this.sent = total;
      this.sink.endAscii!(text);
    }
    return this.close();
  }

  /**
   * R48: a body whose length is known gets it declared (HEAD then reports what GET would send, unless the
   * app skipped the body for HEAD: then nothing is declared rather than a wrong 0; never on 1xx/204/304).
   */
  private declareLength(total: number): void {
    if (this.noContentStatus() || (this.isHead && total === 0)) return;
    this.headers!.push(['Content-Length', String(total)]);
    this.declared = total;
  }

  private pumpSync(it: Iterator<Chunk>): void | Promise<void> {
    for (;;) {
      let r: IteratorResult<Chunk>;
      try {
        r = it.next();
      } catch (err) {
        return this.fail(err);
      }
      if (r.done) return this.finish();
      let s: SendResult;
      try {
        s = this.accept(r.value);
      } catch (err) {
        return this.stopIterator(it, err);
      }
      if (s === STOP) return this.stopIterator(it);
      if (s === WAIT) {
        return this.sink.drain().then(() => (this.sink.closed ? this.stopIterator(it) : this.pumpSync(it)));
      }
    }
  }

  private async pumpAsync(it: AsyncIterator<Chunk>): Promise<void> {
    this.sink.onClose?.(() => {
      if (this.closed || !this.sink.closed) return;
      // The client left while the body may be awaiting something else: ask the iterator to stop
      // (an async generator runs its finally blocks at its next yield) and close the body now (R7).
      try {
        const r = it.return?.();
        if (r && typeof r.then === 'function') r.then(undefined, () => {});
      } catch {
        // the pump reports iterator errors; here only the disconnect matters
      }
      void this.close();
    });
    for (;;) {
      let r: IteratorResult<Chunk>;
      try {
        r = await it.next();
      } catch (err) {
        return this.fail(err);
      }
      if (r.done) return this.finish();
      let s: SendResult;
      try {
        s = this.accept(r.value);
      } catch (err) {
        return this.stopIterator(it, err);
      }
      if (s === STOP) return this.stopIterator(it);
      if (s === WAIT) {
        await this.sink.drain();
        if (this.sink.closed) return this.stopIterator(it);
      }
    }
  }

  /** Ends iteration early (HEAD, Content-Length reached, client gone, bad chunk): run the iterator's finally blocks. */
  private stopIterator(it: Iterator<Chunk> | AsyncIterator<Chunk>, err?: unknown): void | Promise<void> {
    let ret: unknown;
    try {
      ret = it.return?.();
    } catch (e) {
      this.options.log.error(`${this.where()}: error while stopping the body iterator: ${formatError(e)}`);
    }
    const next = () => (err !== undefined ? this.fail(err) : this.sink.closed ? this.close() : this.finish());
    if (ret && typeof (ret as Promise<unknown>).then === 'function') {
      return (ret as Promise<unknown>).then(next, (e) => {
        this.options.log.error(`${this.where()}: error while stopping the body iterator: ${formatError(e)}`);
        return next();
      });
    }
    return next();
  }

  /** One chunk from the iterable. */
  private accept(chunk: Chunk): SendResult {
    if (this.sink.closed) return STOP;
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
      throw new ContractError(`A body chunk must be a Uint8Array or a string (got ${describe(chunk)})`, BODY);
    }
    const bytes = toBytes(chunk);
    // R43: headers go with the first non-empty chunk; empty chunks before it are no signal.
    if (bytes.length === 0) return GO;
    if (this.status === null) throw new ContractError('The application yielded body data before calling startResponse()', START);
    if (!this.headersSent) this.sendHeaders();
    if (this.bodyless) return STOP; // HEAD, 204, 304: the headers were the whole response
    return this.send(bytes);
  }

  private send(bytes: Uint8Array): SendResult {
    if (this.declared >= 0) {
      const room = this.declared - this.sent;
      if (bytes.length > room) {
        this.options.log.error(`${this.where()}: the application sent more than its Content-Length ${this.declared}; truncated`);
        if (room > 0) {
          this.sent += room;
          this.sink.write(bytes.subarray(0, room));
        }
        return STOP;
      }
    }
    this.sent += bytes.length;
    const more = this.sink.write(bytes);
    if (this.sink.closed) return STOP;
    return more ? GO : WAIT;
  }

  /** 1xx, 204, 304: no content, and no Content-Length of the runner's own (src/protocol/bodyless.ts). */
  private noContentStatus(): boolean {
    return isNoContentStatus(this.code);
  }

  private isBodyless(): boolean {
    return this.isHead || this.noContentStatus();
  }

  private sendHeaders(): void {
    if (this.code === -1) throw new ContractError('startResponse() was given an invalid status or headers', START);
    this.bodyless = this.isBodyless();
    this.headersSent = true;
    this.sink.head(this.code, this.status!, this.headers!, this.declared, this.bodyless, this.closeConnection);
  }

  /** The iterable is exhausted. */
  private finish(): void | Promise<void> {
    if (!this.headersSent) {
      if (this.status === null) return this.fail(new ContractError('The application returned without calling startResponse()', START));
      if (this.code === -1) return this.fail(new ContractError('startResponse() was given an invalid status or headers', START));
      // wsgiref B13: an empty body declares Content-Length 0 (not on 1xx/204/304, where RFC 9110
      // forbids it, nor on HEAD, where an app may skip the body and 0 would misstate the GET length).
      if (this.declared === -1 && !this.noContentStatus() && !this.isHead) {
        this.headers!.push(['Content-Length', '0']);
        this.declared = 0;
      }
      this.sendHeaders();
    }
    if (!this.bodyless && this.declared >= 0 && this.sent < this.declared && !this.sink.closed) {
      // R47: fewer bytes than declared. The client must be able to tell: abort the connection.
      this.options.log.error(`${this.where()}: the application sent ${this.sent} bytes of its Content-Length ${this.declared}; connection aborted`);
      this.sink.abort();
      return this.close();
    }
    this.sink.end();
    return this.close();
  }

  /** The application (or its body) failed. */
  private fail(err: unknown): void | Promise<void> {
    const clientError = err instanceof ClientError;
    if (clientError) this.options.log.info(`${this.where()}: ${err.status} ${err.message}`);
    else if (this.sink.closed && err instanceof ContractError && !this.headersSent) {
      // The client left before the application answered: not the application's fault.
      this.options.log.info(`${this.where()}: the client went away before the response (${err.message})`);
    } else this.options.log.error(`${this.where()}: ${formatError(err)}`);
    if (!this.headersSent && !this.sink.closed) {
      // R57: nothing sent yet, so answer with our own error response.
      let body = ERROR_BODY;
      if (clientError) {
        const reason = reasonPhrase(err.status);
        body = utf8(reason + '\n');
        this.status = `${err.status} ${reason}`;
        this.headers = [
          ['Content-Type', 'text/plain'],
          ['Content-Length', String(body.length)],
        ];
        this.closeConnection = true;
        this.code = err.status;
      } else {
        this.status = ERROR_STATUS;
        this.headers = ERROR_HEADERS();
        this.code = 500;
      }
      this.declared = body.length;
      this.sendHeaders();
      this.sink.end(this.bodyless ? undefined : body);
    } else {
      this.sink.abort();
    }
    return this.close();
  }

  /** Calls the body's close() exactly once (R7). */
  private close(): void | Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const body = this.body;
    if (body === null || typeof body.close !== 'function') return;
    let r: void | Promise<void>;
    try {
      r = body.close();
    } catch (err) {
      this.options.log.error(`${this.where()}: error in the body's close(): ${formatError(err)}`);
      return;
    }
    if (r && typeof r.then === 'function') {
      return r.then(undefined, (err) => {
        this.options.log.error(`${this.where()}: error in the body's close(): ${formatError(err)}`);
      });
    }
  }

  private where(): string {
    const e = this.environ;
    return `${e.REQUEST_METHOD} ${e.SCRIPT_NAME}${e.PATH_INFO}`;
  }
}
