/**
 * Response compression: brotli or gzip, chosen by the request's `Accept-Encoding` (quality values
 * honoured, brotli preferred on a tie), for responses worth it. Skipped: tiny bodies (a known length
 * under `threshold`), bodies already encoded (`Content-Encoding`), `Cache-Control: no-transform`,
 * `text/event-stream`, partial content (206, `Content-Range`), 204/304, and types that do not
 * compress (images, video, archives: only text-like types are compressed by default).
 *
 * Streams stay streams: every chunk the application yields is compressed and flushed at once
 * (Z_SYNC_FLUSH, BROTLI_OPERATION_FLUSH), so a client sees each one as it comes, at some cost in
 * ratio. An array body (the whole response at hand) is compressed in one go, synchronously, and keeps
 * its Content-Length. `Vary: Accept-Encoding` is added to every response the choice applied to.
 * @module
 */
import zlib from 'node:zlib';
import type { Application, Body, Chunk, Environ, ExcInfo, HeaderList, Middleware, StartResponse, Status, Write } from '../spec.js';
import { AssertionError, checkHeaders, checkStatus } from '../runner/checks.js';
import { EMPTY, concat, toBytes } from '../protocol/bytes.js';
import { callApp, closeOnce, env, parseQualityList, withClose } from './_body.js';

export type Encoding = 'br' | 'gzip';

export interface CompressOptions {
  /**
   * The codings offered, in the server's order of preference (used when the client's qualities tie).
   * @default ['br', 'gzip']
   */
  encodings?: Encoding[];
  /**
   * Bodies of a known length below this many bytes are sent as they are.
   * @default 1024
   */
  threshold?: number;
  /**
   * Which Content-Types are compressed (the media type, lower-cased, without parameters).
   * @default text/* (but not text/event-stream), JSON, JavaScript, XML, SVG, WebAssembly, and the like
   */
  filter?: (mediaType: string) => boolean;
  /**
   * gzip level, 1 (fast) to 9 (small).
   * @default 6
   */
  gzipLevel?: number;
  /**
   * Brotli quality, 0 to 11. Dynamic responses want a low one; 11 is for precompressing files.
   * @default 4
   */
  brotliQuality?: number;
}

const COMPRESSIBLE =
  /^(?:text\/|application\/(?:json|javascript|ecmascript|x-javascript|xml|xhtml\+xml|rss\+xml|atom\+xml|wasm|graphql|x-www-form-urlencoded|x-ndjson|(?:[a-z0-9.+-]+\+(?:json|xml)))$|image\/(?:svg\+xml|x-icon|vnd\.microsoft\.icon|bmp)$|font\/(?:ttf|otf|collection)$|application\/vnd\.ms-fontobject$)/;

/** The default filter: text-like media types, never `text/event-stream`. */
export function isCompressible(mediaType: string): boolean {
  return mediaType !== 'text/event-stream' && COMPRESSIBLE.test(mediaType);
}

/**
 * The coding to use for an `Accept-Encoding` value, or null for none. RFC 9110 §12.5.3: the highest
 * quality wins, `*` stands for codings not named, `q=0` refuses; a missing header means no preference,
 * which we read as "identity only" (the safe choice for a client that did not ask).
 */
export function negotiateEncoding(acceptEncoding: string, offered: readonly Encoding[] = ['br', 'gzip']): Encoding | null {
  if (!acceptEncoding) return null;
  const prefs = parseQualityList(acceptEncoding);
  let best: Encoding | null = null;
  let bestQ = 0;
  for (const coding of offered) {
    const named = prefs.find((p) => p.name === coding || (coding === 'gzip' && p.name === 'x-gzip'));
    const q = named ? named.q : (prefs.find((p) => p.name === '*')?.q ?? 0);
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}

/** Adds `Accept-Encoding` to a Vary value (unless it is there already, or `*`). */
function addVary(headers: HeaderList): void {
  const at = headers.findIndex(([k]) => k.toLowerCase() === 'vary');
  if (at === -1) {
    headers.push(['Vary', 'Accept-Encoding']);
    return;
  }
  const value = headers[at]![1];
  const tokens = value.split(',').map((t) => t.trim().toLowerCase());
  if (tokens.includes('*') || tokens.includes('accept-encoding')) return;
  headers[at] = [headers[at]![0], value.trim() ? `${value}, Accept-Encoding` : 'Accept-Encoding'];
}

/**
 * Whether a response may be content-coded at all (its size aside): a final status with a body, not
 * partial, not coded already, no `no-transform`, and a Content-Type the filter takes.
 */
function worthCoding(status: string, headers: HeaderList, filter: (mediaType: string) => boolean): boolean {
  const code = Number(status.slice(0, 3));
  if (!(code >= 200) || code === 204 || code === 206 || code === 304) return false;
  let mediaType = '';
  for (const [name, value] of headers) {
    const k = name.toLowerCase();
    if (k === 'content-range') return false;
    if (k === 'content-encoding' && value.trim().toLowerCase() !== 'identity' && value.trim() !== '') return false;
    if (k === 'cache-control' && /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(value)) return false;
    if (k === 'content-type' && mediaType === '') mediaType = value.split(';')[0]!.trim().toLowerCase();
  }
  return mediaType !== '' && filter(mediaType);
}

/** A streaming encoder: each push is compressed and flushed; output is collected in order. */
class StreamEncoder {
  private readonly z: zlib.Gzip | zlib.BrotliCompress;
  private readonly flushKind: number;
  private out: Buffer[] = [];
  private error: Error | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private destroyed = false;
  /** Operations in progress: destroy() settles them (with no output) so nothing waits forever. */
  private readonly waiting = new Set<(out: Uint8Array) => void>();

  constructor(encoding: Encoding, gzipLevel: number, brotliQuality: number) {
    if (encoding === 'gzip') {
      this.z = zlib.createGzip({ level: gzipLevel });
      this.flushKind = zlib.constants.Z_SYNC_FLUSH;
    } else {
      this.z = zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality } });
      this.flushKind = zlib.constants.BROTLI_OPERATION_FLUSH;
    }
    // Flowing mode: everything the flush produced has been emitted by the time its callback runs.
    this.z.on('data', (d: Buffer) => this.out.push(d));
    this.z.on('error', (err) => (this.error = err));
  }

  private take(): Uint8Array {
    if (this.error) throw this.error;
    const parts = this.out;
    this.out = [];
    return parts.length === 0 ? EMPTY : concat(parts);
  }

  /** Runs `op` after the operations before it; it calls `done` when zlib has answered. */
  private run(op: (done: () => void) => void): Promise<Uint8Array> {
    const step = this.queue.then(
      () =>
        new Promise<Uint8Array>((resolve, reject) => {
          if (this.destroyed) return resolve(EMPTY);
          if (this.error) return reject(this.error);
          this.waiting.add(resolve);
          op(() => {
            this.waiting.delete(resolve);
            try {
              resolve(this.take());
            } catch (err) {
              reject(err);
            }
          });
        }),
    );
    this.queue = step.catch(() => {});
    return step;
  }

  /** Compresses `data` and flushes, so the client can decode everything so far. Calls run in order. */
  push(data: Uint8Array): Promise<Uint8Array> {
    return this.run((done) => {
      this.z.write(data);
      this.z.flush(this.flushKind, done);
    });
  }

  /** Ends the stream: the last bytes (gzip's trailer, brotli's last block). */
  finish(): Promise<Uint8Array> {
    return this.run((done) => {
      this.z.once('end', done);
      this.z.once('error', done); // take() then throws the error
      this.z.end();
    });
  }

  /** Frees the zlib stream; an operation still waiting settles with no output. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.z.destroy();
    for (const resolve of this.waiting) resolve(EMPTY);
    this.waiting.clear();
  }
}

function compressAll(data: Uint8Array, encoding: Encoding, gzipLevel: number, brotliQuality: number): Uint8Array {
  if (encoding === 'gzip') return zlib.gzipSync(data, { level: gzipLevel });
  return zlib.brotliCompressSync(data, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
}

/**
 * Compresses responses by `Accept-Encoding`. The status and headers are held back (as the server
 * holds them anyway, R43) until the first body chunk, the first `write()`, or the returned array
 * shows whether the response is worth compressing; errors in them are still raised when
 * `startResponse` is called (R42). An error response (`startResponse` with excInfo) is passed on at
 * once, uncompressed.
 *
 * @example
 * export const application = compose(app, compress({ threshold: 512 }));
 */
export function compress(options: CompressOptions = {}): Middleware {
  const offered = options.encodings ?? ['br', 'gzip'];
  for (const e of offered) if (e !== 'br' && e !== 'gzip') throw new TypeError(`compress(): unknown encoding ${JSON.stringify(e)}`);
  const threshold = options.threshold ?? 1024;
  const filter = options.filter ?? isCompressible;
  const gzipLevel = options.gzipLevel ?? 6;
  const brotliQuality = options.brotliQuality ?? 4;

  return (app: Application): Application =>
    function compress(environ: Environ, startResponse: StartResponse) {
      const encoding = negotiateEncoding(env(environ, 'HTTP_ACCEPT_ENCODING'), offered);
      if (encoding === null) {
        // Nothing to code: only say that the answer depends on Accept-Encoding. No deferral, no wrapper.
        const start: StartResponse = (status, headers, excInfo) => {
          if (typeof status === 'string' && Array.isArray(headers) && worthCoding(status, headers, filter)) {
            headers = headers.map(([k, v]) => [k, v]);
            addVary(headers);
          }
          return startResponse(status, headers, excInfo);
        };
        return app(environ, start);
      }
      const ex = new Exchange(startResponse, encoding, threshold, filter, gzipLevel, brotliQuality);
      return callApp(app, environ, ex.startResponse, (body) => ex.body(body));
    };
}

/** One response through the middleware. */
class Exchange {
  private status: Status | null = null;
  private headers: HeaderList | null = null;
  private committed = false;
  private realWrite: Write | null = null;
  private encoder: StreamEncoder | null = null;
  /** Whether the response is being compressed (decided at commit). */
  private compressing = false;
  /** Pending compressed write() calls, so body chunks follow them in order. */
  private writes: Promise<void> = Promise.resolve();
  readonly startResponse: StartResponse;

  constructor(
    private readonly start: StartResponse,
    private readonly encoding: Encoding | null,
    private readonly threshold: number,
    private readonly filter: (mediaType: string) => boolean,
    private readonly gzipLevel: number,
    private readonly brotliQuality: number,
  ) {
    this.startResponse = (status, headers, excInfo) => this.onStart(status, headers, excInfo);
  }

  private onStart(status: Status, headers: HeaderList, excInfo?: ExcInfo): Write {
    const hasExc = excInfo !== undefined && excInfo !== null && excInfo !== false;
    if (hasExc) {
      // An error response: pass it on now, as it is (the server rethrows if the headers went out).
      this.committed = true;
      this.compressing = false;
      this.encoder?.destroy();
      this.encoder = null;
      this.status = status;
      this.headers = headers;
      this.realWrite = this.start(status, headers, excInfo);
      return this.realWrite;
    }
    if (this.status !== null) throw new AssertionError('Headers already set!', 'TSGI_ERR_APP_START_RESPONSE');
    this.status = status;
    this.headers = headers;
    // R42: the checks the server would make now, so the application can still catch them.
    checkHeaders(headers, checkStatus(status));
    return (chunk) => this.write(chunk);
  }

  /**
   * Decides and passes status and headers on. `length` is the body's size when known (an array), else
   * the declared Content-Length is used; an unknown length is compressed.
   */
  private commit(length: number): void {
    if (this.committed) return;
    this.committed = true;
    if (this.status === null) return; // the engine reports the missing startResponse
    const headers: HeaderList = this.headers!.map(([k, v]) => [k, v]);
    const eligible = worthCoding(this.status, headers, this.filter);
    if (eligible) addVary(headers);
    const get = (name: string) => headers.find(([k]) => k.toLowerCase() === name)?.[1];
    const declared = get('content-length');
    const size = length >= 0 ? length : declared !== undefined ? Number(declared) : -1;
    if (eligible && this.encoding !== null && (size < 0 || size >= this.threshold)) {
      for (let i = headers.length - 1; i >= 0; i--) {
        const k = headers[i]![0].toLowerCase();
        if (k === 'content-length' || k === 'accept-ranges' || k === 'content-encoding') headers.splice(i, 1);
      }
      headers.push(['Content-Encoding', this.encoding]);
      // The coded bytes are another representation: a strong validator must not claim them (RFC 9110 §8.8.3).
      const etag = headers.findIndex(([k]) => k.toLowerCase() === 'etag');
      if (etag !== -1 && !headers[etag]![1].startsWith('W/')) headers[etag] = [headers[etag]![0], `W/${headers[etag]![1]}`];
      this.encoder = length >= 0 ? null : new StreamEncoder(this.encoding, this.gzipLevel, this.brotliQuality);
      this.realWrite = this.start(this.status, headers);
      this.compressing = true;
      return;
    }
    this.realWrite = this.start(this.status, headers);
  }

  /** write() for legacy applications: decided on the first call, compressed in order. */
  private write(chunk: Chunk): Promise<void> {
    this.commit(-1);
    if (this.realWrite === null) throw new AssertionError('write() before start_response()', 'TSGI_ERR_APP_START_RESPONSE');
    const realWrite = this.realWrite;
    const encoder = this.encoder;
    if (encoder === null) return realWrite(chunk);
    const bytes = toBytes(chunk);
    const step = this.writes.then(async () => {
      const out = await encoder.push(bytes);
      await realWrite(out);
    });
    this.writes = step.catch(() => {});
    return step;
  }

  body(body: Body): Body {
    if (body === null || typeof body !== 'object') return body; // the engine reports it
    if (Array.isArray(body) && !this.committed) return this.array(body as Chunk[], body);
    // Decided already (by write() or an error response) and not compressing: nothing to do per chunk.
    if (this.committed && this.encoder === null) return body;
    const iterable = body as Iterable<Chunk> & AsyncIterable<Chunk>;
    if (typeof iterable[Symbol.asyncIterator] !== 'function' && typeof iterable[Symbol.iterator] !== 'function') {
      return body;
    }
    const self = this;
    const gen = (async function* () {
      try {
        for await (const chunk of iterable) {
          if (!self.committed) {
            // Headers go with the first non-empty chunk (R43): until then nothing is decided.
            if ((typeof chunk === 'string' || chunk instanceof Uint8Array) && chunk.length === 0) {
              yield chunk;
              continue;
            }
            self.commit(-1);
          }
          await self.writes;
          const encoder = self.encoder;
          if (encoder === null || (typeof chunk !== 'string' && !(chunk instanceof Uint8Array))) {
            yield chunk; // passed on as is (a bad chunk is the engine's to report)
            continue;
          }
          yield await encoder.push(toBytes(chunk));
        }
        if (!self.committed) self.commit(0); // an empty body: nothing to compress
        await self.writes;
        if (self.encoder !== null) yield await self.encoder.finish();
      } finally {
        self.encoder?.destroy();
      }
    })();
    const closeInner = closeOnce(body);
    return withClose(gen, () => {
      // The server may close without iterating to the end (or at all): free the zlib stream here too.
      self.encoder?.destroy();
      return closeInner();
    });
  }

  /** The whole body is here: decide on its size and compress it in one go, keeping it an array. */
  private array(chunks: Chunk[], body: Body): Body {
    let length = 0;
    const parts: Uint8Array[] = [];
    for (const c of chunks) {
      if (typeof c !== 'string' && !(c instanceof Uint8Array)) {
        // Not a chunk: the engine refuses the body (a 500), so pass the headers on as they are.
        this.commit(0);
        return body;
      }
      const b = toBytes(c);
      parts.push(b);
      length += b.length;
    }
    this.commit(length);
    if (!this.compressing) return body;
    const out = compressAll(concat(parts, length), this.encoding!, this.gzipLevel, this.brotliQuality);
    return withClose([out], closeOnce(body));
  }
}
