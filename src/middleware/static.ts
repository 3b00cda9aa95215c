/**
 * Static files from a directory: GET and HEAD, with `ETag` and `Last-Modified`, conditional requests
 * (304, 412), single byte ranges (206, 416), precompressed `.br`/`.gz` siblings chosen by
 * `Accept-Encoding`, immutable caching for content-hashed names, and the body handed to the server
 * through `wsgi.file_wrapper`, so a server that knows the file descriptor can send it its own way.
 *
 * Paths are refused, never resolved, when they could leave the root: `..` and `.` segments (percent-
 * encoded ones included: PATH_INFO is already decoded), NUL, backslashes, bytes that are not UTF-8,
 * dotfiles (unless allowed), and symbolic links whose target lies outside the root. A refused or
 * missing file falls through to the wrapped application (`staticFiles`) or is a 404 (`staticApp`).
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream, realpathSync, statSync, type Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Application, Body, Environ, FileLike, FileWrapperFactory, HeaderList, Middleware, StartResponse, Status } from '../spec.js';
import { FileWrapper, formatDateTime, quote } from '../util.js';
import { env, parseQualityList } from './_body.js';

export interface StaticOptions {
  /**
   * Serve only under this URL path prefix (`'/static'`), which is cut off before the file is looked up.
   * @default '' (every path)
   */
  prefix?: string;
  /**
   * The file served for a directory, or false. A directory asked for without its trailing slash is
   * redirected (301) to it first, so relative links in the index work.
   * @default 'index.html'
   */
  index?: string | false;
  /**
   * Serve `name.br` / `name.gz` instead of `name` when they exist and the client accepts them.
   * @default true
   */
  precompressed?: boolean;
  /**
   * `Cache-Control` max-age, in seconds, for files that are not immutable.
   * @default 0 (caches revalidate every time, cheaply, with the ETag)
   */
  maxAge?: number;
  /**
   * Which paths are content-hashed and may be cached forever (`public, max-age=31536000, immutable`).
   * A RegExp tested against the URL path, a function, or false. The default matches a name with a
   * hash of 8 or more letters and digits (at least one digit) before the extension, after `.` or `-`:
   * `app.3f9a1c2b.js`, `index-BQ2b4Oa3.css` (webpack, Vite, esbuild). Set your own if your names
   * could look like that without being hashed: a stale immutable file stays in caches for a year.
   */
  immutable?: RegExp | ((urlPath: string) => boolean) | false;
  /**
   * `'stat'`: ETags from size and modification time (no read); `'hash'`: a SHA-256 of the content,
   * computed once per file version; false: no ETag.
   * @default 'stat'
   */
  etag?: 'stat' | 'hash' | false;
  /**
   * Dotfiles (any segment starting with `.`, except `.well-known`) are not served unless allowed.
   * @default false
   */
  dotfiles?: boolean;
  /** Extra or replacement Content-Types by extension: `{ '.webmanifest': 'application/manifest+json' }`. */
  types?: Record<string, string>;
  /** Extra response headers for every file (`Cross-Origin-Resource-Policy`, say). */
  headers?: HeaderList;
  /**
   * Bytes per read when the server iterates the file.
   * @default 65536
   */
  blockSize?: number;
}

// --- content types ------------------------------------------------------------------------------

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.bmp': 'image/bmp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

/** The Content-Type for a file name (application/octet-stream when unknown). */
export function contentType(name: string, extra?: Record<string, string>): string {
  const ext = path.extname(name).toLowerCase();
  return extra?.[ext] ?? TYPES[ext] ?? 'application/octet-stream';
}

const HASHED = /[.-](?=[A-Za-z0-9_]*[0-9])[A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

// --- paths ----------------------------------------------------------------------------------------

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The file-system path a URL path (PATH_INFO, a native string) names under `root`, or null when it
 * must not be served: traversal, NUL, backslash, invalid UTF-8, a dotfile (unless allowed).
 */
export function safeJoin(root: string, urlPath: string, dotfiles = false): string | null {
  if (urlPath.includes('\0') || urlPath.includes('\\')) return null;
  const segments = urlPath.split('/');
  for (const s of segments) {
    if (s === '.' || s === '..') return null;
    if (!dotfiles && s.startsWith('.') && s !== '.well-known') return null;
  }
  let text: string;
  try {
    const bytes = new Uint8Array(urlPath.length);
    for (let i = 0; i < urlPath.length; i++) {
      const c = urlPath.charCodeAt(i);
      if (c > 0xff) return null;
      bytes[i] = c;
    }
    text = strictUtf8.decode(bytes);
  } catch {
    return null;
  }
  const full = path.join(root, ...text.split('/').filter(Boolean));
  return full === root || full.startsWith(root.endsWith(path.sep) ? root : root + path.sep) ? full : null;
}

function inside(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

// --- validators -------------------------------------------------------------------------------------

/** Compares entity tags: weak comparison ignores `W/` (If-None-Match), strong needs both strong (If-Match, If-Range). */
function etagMatches(header: string, etag: string, weak: boolean): boolean {
  if (header.trim() === '*') return true;
  const strip = (t: string) => (t.startsWith('W/') ? t.slice(2) : t);
  for (const raw of header.split(',')) {
    const tag = raw.trim();
    if (!tag) continue;
    if (weak) {
      if (strip(tag) === strip(etag)) return true;
    } else if (!tag.startsWith('W/') && !etag.startsWith('W/') && tag === etag) return true;
  }
  return false;
}

/** An HTTP date in whole seconds, or NaN. */
function httpDate(value: string): number {
  const t = Date.parse(value);
  return Number.isNaN(t) ? NaN : Math.floor(t / 1000);
}

/** `bytes=a-b` for a file of `size` bytes: [start, end] inclusive, 'unsatisfiable', or null (ignore: serve it all). */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | null {
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return null;
  const specs = m[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  // Several ranges would need multipart/byteranges; a server may ignore Range (RFC 9110 §14.2).
  if (specs.length !== 1) return null;
  const r = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!r || (r[1] === '' && r[2] === '')) return null;
  if (r[1] === '') {
    const suffix = Number(r[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(r[1]);
  const last = r[2] === '' ? Infinity : Number(r[2]);
  if (!Number.isSafeInteger(start) || last < start) return null; // last < first: invalid, ignored (RFC 9110 §14.1.1)
  if (start >= size) return 'unsatisfiable';
  return [start, Math.min(last, size - 1)];
}

// --- the file body ----------------------------------------------------------------------------------

/**
 * A byte range of an open file as `wsgi.file_wrapper` wants it: `read(size)` from `offset` for
 * `length` bytes, `fd` for a server that sends from the descriptor itself (it must then honour
 * `offset` and `length`: the descriptor's own position is not moved), `close()` closes the file.
 */
export class FileRange implements FileLike {
  private position: number;
  private remaining: number;
  private closed = false;

  constructor(
    private readonly handle: FileHandle,
    readonly offset: number,
    readonly length: number,
  ) {
    this.position = offset;
    this.remaining = length;
  }

  get fd(): number {
    return this.handle.fd;
  }

  async read(size: number): Promise<Uint8Array> {
    const n = Math.min(size, this.remaining);
    if (n <= 0 || this.closed) return new Uint8Array(0);
    const buffer = Buffer.allocUnsafe(n);
    const { bytesRead } = await this.handle.read(buffer, 0, n, this.position);
    this.position += bytesRead;
    this.remaining -= bytesRead;
    return bytesRead === n ? buffer : buffer.subarray(0, bytesRead);
  }

  close(): Promise<void> | void {
    if (this.closed) return;
    this.closed = true;
    return this.handle.close();
  }
}

// --- the handler ------------------------------------------------------------------------------------

interface Variant {
  file: string;
  stats: Stats;
  encoding: 'br' | 'gzip' | null;
}

type Outcome = { status: Status; headers: HeaderList; body: Body } | null;

class StaticFiles {
  private readonly root: string;
  private readonly prefix: string;
  private readonly index: string | false;
  private readonly precompressed: boolean;
  private readonly cacheControl: string;
  private readonly immutable: ((p: string) => boolean) | null;
  private readonly etagMode: 'stat' | 'hash' | false;
  private readonly dotfiles: boolean;
  private readonly types: Record<string, string> | undefined;
  private readonly extraHeaders: HeaderList;
  private readonly blockSize: number;
  private readonly hashes = new Map<string, string>();

  constructor(root: string | URL, options: StaticOptions) {
    const resolved = path.resolve(root instanceof URL ? fileURLToPath(root) : root);
    let real: string;
    try {
      real = realpathSync(resolved);
    } catch {
      throw new Error(`static files: the root ${JSON.stringify(String(root))} does not exist (looked at ${resolved})`);
    }
    if (!statSync(real).isDirectory()) throw new Error(`static files: the root ${JSON.stringify(String(root))} is not a directory`);
    this.root = real;
    const prefix = (options.prefix ?? '').replace(/\/+$/, '');
    if (prefix !== '' && !prefix.startsWith('/')) throw new TypeError(`static files: prefix ${JSON.stringify(options.prefix)} must start with '/'`);
    this.prefix = /[^\x00-\x7f]/.test(prefix) ? String.fromCharCode(...new TextEncoder().encode(prefix)) : prefix;
    this.index = options.index ?? 'index.html';
    this.precompressed = options.precompressed ?? true;
    const maxAge = options.maxAge ?? 0;
    if (!Number.isInteger(maxAge) || maxAge < 0) throw new TypeError('static files: maxAge must be a whole number of seconds');
    this.cacheControl = `public, max-age=${maxAge}`;
    const im = options.immutable ?? HASHED;
    this.immutable = im === false ? null : typeof im === 'function' ? im : (p) => im.test(p);
    this.etagMode = options.etag ?? 'stat';
    this.dotfiles = options.dotfiles ?? false;
    this.types = options.types;
    this.extraHeaders = options.headers ?? [];
    this.blockSize = options.blockSize ?? 65536;
  }

  /** The response for this request, or null when it is not ours (wrong method, outside the prefix, no such file). */
  async handle(environ: Environ): Promise<Outcome> {
    const method = environ.REQUEST_METHOD;
    if (method !== 'GET' && method !== 'HEAD') return null;
    let urlPath = env(environ, 'PATH_INFO');
    if (this.prefix) {
      if (urlPath !== this.prefix && !urlPath.startsWith(this.prefix + '/')) return null;
      urlPath = urlPath.slice(this.prefix.length);
    }
    if (urlPath === '') urlPath = '/';
    const candidate = safeJoin(this.root, urlPath, this.dotfiles);
    if (candidate === null) return null;
    let file = await this.resolve(candidate);
    if (file === null) return null;
    let stats = await stat(file).catch(() => null);
    if (stats === null) return null;
    if (stats.isDirectory()) {
      if (!this.index) return null;
      const indexFile = await this.resolve(path.join(file, this.index));
      const indexStats = indexFile === null ? null : await stat(indexFile).catch(() => null);
      if (indexFile === null || indexStats === null || !indexStats.isFile()) return null;
      // The URL the client used must end in '/', or the index's relative links resolve one level up.
      // (PATH_INFO alone is not enough: under a mount point or a prefix it may be '' or '/'.)
      const full = env(environ, 'SCRIPT_NAME') + env(environ, 'PATH_INFO');
      if (!full.endsWith('/')) return this.redirect(environ, full);
      file = indexFile;
      stats = indexStats;
    }
    if (!stats.isFile()) return null;
    const variant = await this.variant(environ, file, stats);
    return this.respond(environ, urlPath, file, variant);
  }

  /** The real path of `file` when it exists inside the root (symbolic links included), else null. */
  private async resolve(file: string): Promise<string | null> {
    try {
      const real = await realpath(file);
      return inside(this.root, real) ? real : null;
    } catch {
      return null;
    }
  }

  /** The precompressed sibling to send instead, when there is one the client takes (and no Range). */
  private async variant(environ: Environ, file: string, stats: Stats): Promise<Variant> {
    const identity: Variant = { file, stats, encoding: null };
    if (!this.precompressed || environ.HTTP_RANGE !== undefined) return identity;
    const accept = env(environ, 'HTTP_ACCEPT_ENCODING');
    if (!accept) return identity;
    const prefs = parseQualityList(accept);
    const q = (name: string) => prefs.find((p) => p.name === name)?.q ?? prefs.find((p) => p.name === '*')?.q ?? 0;
    const order = (['br', 'gzip'] as const).filter((e) => q(e) > 0).sort((a, b) => q(b) - q(a));
    for (const encoding of order) {
      const sibling = await this.resolve(file + (encoding === 'br' ? '.br' : '.gz'));
      if (sibling === null) continue;
      const s = await stat(sibling).catch(() => null);
      if (s !== null && s.isFile()) return { file: sibling, stats: s, encoding };
    }
    return identity;
  }

  private redirect(environ: Environ, urlPath: string): Outcome {
    // A relative reference to the last segment plus '/', so it holds under any SCRIPT_NAME or proxy.
    const last = urlPath.slice(urlPath.lastIndexOf('/') + 1);
    const query = env(environ, 'QUERY_STRING');
    const location = `${quote(last || '.', '')}/${query ? `?${query}` : ''}`;
    return {
      status: '301 Moved Permanently',
      headers: [
        ['Location', location],
        ['Content-Length', '0'],
      ],
      body: [],
    };
  }

  private async etag(variant: Variant): Promise<string | null> {
    const s = variant.stats;
    const suffix = variant.encoding ? `-${variant.encoding}` : '';
    if (this.etagMode === false) return null;
    if (this.etagMode === 'stat') return `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}${suffix}"`;
    const key = `${variant.file}\0${s.size}\0${s.mtimeMs}\0${s.ino}`;
    let hash = this.hashes.get(key);
    if (hash === undefined) {
      hash = await new Promise<string>((resolve, reject) => {
        const h = createHash('sha256');
        createReadStream(variant.file)
          .on('data', (d) => h.update(d))
          .on('error', reject)
          .on('end', () => resolve(h.digest('base64url').slice(0, 27)));
      });
      if (this.hashes.size >= 4096) this.hashes.clear();
      this.hashes.set(key, hash);
    }
    return `"${hash}${suffix}"`;
  }

  private async respond(environ: Environ, urlPath: string, original: string, variant: Variant): Promise<Outcome> {
    const { stats } = variant;
    const size = stats.size;
    const lastModified = formatDateTime(stats.mtimeMs / 1000);
    const mtime = Math.floor(stats.mtimeMs / 1000);
    const etag = await this.etag(variant);
    const immutable = this.immutable?.(urlPath) ?? false;
    const headers: HeaderList = [];
    if (etag) headers.push(['ETag', etag]);
    headers.push(['Last-Modified', lastModified]);
    headers.push(['Cache-Control', immutable ? IMMUTABLE : this.cacheControl]);
    if (this.precompressed) headers.push(['Vary', 'Accept-Encoding']);

    // RFC 9110 §13.2.2: If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since.
    const ifMatch = env(environ, 'HTTP_IF_MATCH');
    const ifUnmodified = env(environ, 'HTTP_IF_UNMODIFIED_SINCE');
    const failed = ifMatch
      ? ifMatch.trim() !== '*' && (etag === null || !etagMatches(ifMatch, etag, false))
      : ifUnmodified !== '' && mtime > httpDate(ifUnmodified); // an invalid date (NaN) never fails
    if (failed) return { status: '412 Precondition Failed', headers: [...headers, ['Content-Length', '0']], body: [] };
    const ifNoneMatch = env(environ, 'HTTP_IF_NONE_MATCH');
    const ifModified = env(environ, 'HTTP_IF_MODIFIED_SINCE');
    const fresh = ifNoneMatch
      ? etag !== null && etagMatches(ifNoneMatch, etag, true)
      : ifModified !== '' && mtime <= httpDate(ifModified);
    if (fresh) return { status: '304 Not Modified', headers, body: [] };

    headers.push(['Content-Type', contentType(original, this.types)], ['X-Content-Type-Options', 'nosniff']);
    if (variant.encoding) headers.push(['Content-Encoding', variant.encoding]);
    else headers.push(['Accept-Ranges', 'bytes']);
    headers.push(...this.extraHeaders);

    let status: Status = '200 OK';
    let offset = 0;
    let length = size;
    const rangeHeader = env(environ, 'HTTP_RANGE');
    if (rangeHeader && environ.REQUEST_METHOD === 'GET' && variant.encoding === null && this.ifRange(environ, etag, mtime)) {
      const range = parseRange(rangeHeader, size);
      if (range === 'unsatisfiable') {
        return {
          status: '416 Range Not Satisfiable',
          headers: [...headers, ['Content-Range', `bytes */${size}`], ['Content-Length', '0']],
          body: [],
        };
      }
      if (range !== null) {
        status = '206 Partial Content';
        [offset, length] = [range[0], range[1] - range[0] + 1];
        headers.push(['Content-Range', `bytes ${range[0]}-${range[1]}/${size}`]);
      }
    }
    headers.push(['Content-Length', String(length)]);
    if (environ.REQUEST_METHOD === 'HEAD' || length === 0) return { status, headers, body: [] };

    let handle: FileHandle;
    try {
      handle = await open(variant.file, 'r');
    } catch (err) {
      // Gone since it was looked at: as if it had never been there. Anything else (EACCES, EMFILE) is an error.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const wrapper = (typeof environ['wsgi.file_wrapper'] === 'function' ? environ['wsgi.file_wrapper'] : FileWrapper) as FileWrapperFactory;
    return { status, headers, body: wrapper(new FileRange(handle, offset, length), this.blockSize) };
  }

  /** If-Range: the range applies only to the representation the client has (a strong ETag, or the exact date). */
  private ifRange(environ: Environ, etag: string | null, mtime: number): boolean {
    const value = env(environ, 'HTTP_IF_RANGE').trim();
    if (!value) return true;
    if (value.startsWith('"') || value.startsWith('W/')) return etag !== null && etagMatches(value, etag, false);
    return httpDate(value) === mtime;
  }
}

function answer(outcome: NonNullable<Outcome>, startResponse: StartResponse): Body {
  startResponse(outcome.status, outcome.headers);
  return outcome.body;
}

/**
 * Serves the files under `root` (a path, relative to the working directory, or a `file:` URL such as
 * `new URL('./public', import.meta.url)`) and passes everything else (other methods, other paths, missing or
 * refused files) to the wrapped application.
 *
 * @example
 * export const application = compose(app, staticFiles('public', { prefix: '/static' }));
 */
export function staticFiles(root: string | URL, options: StaticOptions = {}): Middleware {
  const files = new StaticFiles(root, options);
  return (app: Application): Application =>
    async function staticFiles(environ: Environ, startResponse: StartResponse) {
      const outcome = await files.handle(environ);
      return outcome === null ? app(environ, startResponse) : answer(outcome, startResponse);
    };
}

const notFoundBody = 'Not Found\n';

/**
 * Serves the files under `root` as an application: what is not a file there is a 404, and a method
 * other than GET or HEAD a 405. For `mount({ '/static': staticApp('public') }, site)`.
 */
export function staticApp(root: string | URL, options: StaticOptions = {}): Application {
  const files = new StaticFiles(root, options);
  return async function staticApp(environ: Environ, startResponse: StartResponse) {
    if (environ.REQUEST_METHOD !== 'GET' && environ.REQUEST_METHOD !== 'HEAD') {
      startResponse('405 Method Not Allowed', [
        ['Allow', 'GET, HEAD'],
        ['Content-Type', 'text/plain; charset=utf-8'],
        ['Content-Length', '19'],
      ]);
      return ['Method Not Allowed\n'];
    }
    const outcome = await files.handle(environ);
    if (outcome !== null) return answer(outcome, startResponse);
    startResponse('404 Not Found', [
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Length', String(notFoundBody.length)],
    ]);
    return [notFoundBody];
  };
}
