/**
 * Proxy headers: behind a reverse proxy, the environ describes the proxy's connection (its address,
 * http, its Host). This middleware restores the client's view from the proxy's headers, but only
 * from proxies you trust, set once: `'loopback'`, a list of addresses and CIDR ranges, or `'*'`.
 *
 * The chain is walked right to left, as each proxy appends the address it saw: starting from the
 * peer (REMOTE_ADDR), as long as the hop is trusted the next address to the left is believed. The
 * first untrusted address is the client; what lies left of it was written by the client and is
 * ignored. So a client cannot forge its address by sending `X-Forwarded-For` itself.
 *
 * It handles `X-Forwarded-For/-Proto/-Host/-Port/-Prefix` (the default) or RFC 7239 `Forwarded`:
 * choose the family your proxy writes, because a proxy that writes one usually passes the other
 * through from the client untouched. The environ values it replaces are kept, as they were, in
 * `environ['tsgi.proxy.original']`.
 * @module
 */
import type { Application, Environ, Middleware, StartResponse } from '../spec.js';
import { unquoteToLatin1 } from '../util.js';
import { compileTrust, parseIP } from '../protocol/trust.js';

export { compileTrust, parseIP } from '../protocol/trust.js';

/** Where the original values go: `{ REMOTE_ADDR, REMOTE_PORT, 'wsgi.url_scheme', HTTP_HOST, SERVER_NAME, SERVER_PORT, SCRIPT_NAME }`. */
export const PROXY_ORIGINAL_KEY = 'tsgi.proxy.original';

/** The values `proxyHeaders()` replaced, as the server set them. */
export type ProxyOriginal = Pick<Environ, 'REMOTE_ADDR' | 'REMOTE_PORT' | 'wsgi.url_scheme' | 'HTTP_HOST' | 'SERVER_NAME' | 'SERVER_PORT' | 'SCRIPT_NAME'>;

declare module '../spec.js' {
  interface EnvironExtensions {
    /** The values `proxyHeaders()` replaced, as the server set them. */
    'tsgi.proxy.original'?: ProxyOriginal;
  }
}

/**
 * Which peers are proxies whose headers are believed:
 * - `'loopback'`: 127.0.0.0/8, ::1, and Unix-socket peers (no REMOTE_ADDR);
 * - `'*'`: every peer (only when nothing can reach the server but your proxies);
 * - addresses and CIDR ranges, as an array or a comma-separated string (gunicorn's
 *   `FORWARDED_ALLOW_IPS` style): `['10.0.0.0/8', '::1']`, `'127.0.0.1,192.168.0.0/16'`;
 *   `'loopback'` may appear in the list, and `'unix'` trusts Unix-socket peers;
 * - a function `(address) => boolean` (`address` is undefined for a Unix-socket peer).
 */
export type { Trust } from '../protocol/trust.js';
import type { Trust } from '../protocol/trust.js';

export interface ProxyHeadersOptions {
  /** The trusted proxies. Nothing changes for a request whose peer is not one of them. */
  trust: Trust;
  /**
   * The header family to read: `'x-forwarded'` (`X-Forwarded-For`, `-Proto`, `-Host`, `-Port`,
   * `-Prefix`) or `'forwarded'` (RFC 7239). The other family is ignored.
   * @default 'x-forwarded'
   */
  headers?: 'x-forwarded' | 'forwarded';
}

// --- addresses ------------------------------------------------------------------------------------

// The addresses, ranges and keywords of `trust` are matched by the one trust module every door shares
// (src/protocol/trust.ts: pure, so the middleware runs on any runtime).

// --- header values --------------------------------------------------------------------------------

/** Splits a comma list, trimming; empty members dropped. */
function list(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A node of a forwarded chain (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::1`, `unknown`) → [address, port]. */
function splitNode(node: string): [string, string | undefined] {
  if (node.startsWith('[')) {
    const end = node.indexOf(']');
    if (end !== -1) {
      const port = node.slice(end + 1).startsWith(':') ? node.slice(end + 2) : undefined;
      return [node.slice(1, end), port];
    }
  }
  const colon = node.indexOf(':');
  if (colon !== -1 && colon === node.lastIndexOf(':')) return [node.slice(0, colon), node.slice(colon + 1)];
  return [node, undefined];
}

const PORT = /^[0-9]{1,5}$/;
/** A Host value: reg-name or IPv4 or [IPv6], optional port; nothing else. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+;=%-]+)(?::[0-9]{1,5})?$/;
/** What a proxy may write as a client address: visible ASCII, bounded (an obfuscated identifier, `unknown`). */
const NODE = /^[\x21-\x7e]{1,100}$/;

/** Splits `host[:port]` (IPv6 in brackets). */
function splitHost(host: string): [string, string | undefined] {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return [host.slice(0, end + 1), host[end + 1] === ':' ? host.slice(end + 2) : undefined];
  }
  const colon = host.lastIndexOf(':');
  return colon === -1 ? [host, undefined] : [host.slice(0, colon), host.slice(colon + 1)];
}

/** RFC 7239 §4: `for=…;proto=…, for=…` → one map per element, keys lower-cased, quoted strings unquoted. */
export function parseForwarded(value: string): Array<Record<string, string>> {
  const elements: Array<Record<string, string>> = [];
  let current: Record<string, string> = {};
  let i = 0;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  while (i < n) {
    skipSpace();
    if (value[i] === ',') {
      elements.push(current);
      current = {};
      i++;
      continue;
    }
    if (value[i] === ';') {
      i++;
      continue;
    }
    const eq = value.indexOf('=', i);
    if (eq === -1) break;
    const key = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let v = '';
    if (value[i] === '"') {
      i++;
      while (i < n && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < n) i++;
        v += value[i++];
      }
      i++; // the closing quote
    } else {
      const start = i;
      while (i < n && value[i] !== ';' && value[i] !== ',') i++;
      v = value.slice(start, i).trim();
    }
    if (key && !(key in current)) current[key] = v;
  }
  elements.push(current);
  return elements.filter((e) => Object.keys(e).length > 0);
}

/** The value the outermost trusted proxy wrote: `hops` from the right, or the leftmost when the list is shorter. */
function fromRight(values: string[], hops: number): string | undefined {
  if (values.length === 0) return undefined;
  return values[Math.max(0, values.length - hops)];
}

// --- the middleware -------------------------------------------------------------------------------

interface Found {
  addr?: string;
  port?: string;
  proto?: string;
  host?: string;
  xport?: string;
  prefix?: string;
}

/** X-Forwarded-*: walk X-Forwarded-For from the right while the hops are trusted. */
function fromXForwarded(environ: Environ, trusted: (a: string | undefined) => boolean): Found {
  const chain = list(environ.HTTP_X_FORWARDED_FOR);
  const found: Found = {};
  let hops = 1; // the peer
  for (let i = chain.length - 1; i >= 0; i--) {
    const [addr, port] = splitNode(chain[i]!);
    if (!NODE.test(addr)) break;
    found.addr = addr;
    found.port = port !== undefined && PORT.test(port) ? port : undefined;
    if (i === 0 || parseIP(addr) === null || !trusted(addr)) break;
    hops++;
  }
  found.proto = fromRight(list(environ.HTTP_X_FORWARDED_PROTO), hops);
  found.host = fromRight(list(environ.HTTP_X_FORWARDED_HOST), hops);
  found.xport = fromRight(list(environ.HTTP_X_FORWARDED_PORT), hops);
  found.prefix = fromRight(list(environ.HTTP_X_FORWARDED_PREFIX), hops);
  return found;
}

/** RFC 7239: walk the elements from the right; the element of the outermost trusted proxy gives for, proto, host. */
function fromForwarded(environ: Environ, trusted: (a: string | undefined) => boolean): Found {
  const value = environ.HTTP_FORWARDED;
  if (typeof value !== 'string' || value === '') return {};
  const elements = parseForwarded(value);
  let chosen: Record<string, string> | undefined;
  for (let i = elements.length - 1; i >= 0; i--) {
    chosen = elements[i]!;
    const node = chosen.for;
    if (node === undefined) break;
    const [addr] = splitNode(node);
    if (parseIP(addr) === null || !trusted(addr)) break;
  }
  if (chosen === undefined) return {};
  const found: Found = {};
  if (chosen.for !== undefined) {
    const [addr, port] = splitNode(chosen.for);
    if (NODE.test(addr)) {
      found.addr = addr;
      found.port = port !== undefined && PORT.test(port) ? port : undefined;
    }
  }
  found.proto = chosen.proto;
  found.host = chosen.host;
  return found;
}

/**
 * Rewrites REMOTE_ADDR (and REMOTE_PORT), `wsgi.url_scheme`, HTTP_HOST, SERVER_NAME, SERVER_PORT and
 * SCRIPT_NAME from the headers of trusted proxies; values that are malformed are ignored one by one.
 * The body passes through untouched.
 *
 * @example
 * export const application = compose(app, proxyHeaders({ trust: 'loopback' }));
 */
export function proxyHeaders(options: ProxyHeadersOptions): Middleware {
  if (options === null || typeof options !== 'object' || options.trust === undefined) {
    throw new TypeError("proxyHeaders(): give { trust }: 'loopback', addresses and CIDR ranges, or '*'");
  }
  const trusted = compileTrust(options.trust);
  const family = options.headers ?? 'x-forwarded';
  if (family !== 'x-forwarded' && family !== 'forwarded') {
    throw new TypeError(`proxyHeaders(): headers must be 'x-forwarded' or 'forwarded' (got ${JSON.stringify(family)})`);
  }
  const read = family === 'forwarded' ? fromForwarded : fromXForwarded;

  return (app: Application): Application =>
    function proxyHeaders(environ: Environ, startResponse: StartResponse) {
      environ[PROXY_ORIGINAL_KEY] = {
        REMOTE_ADDR: environ.REMOTE_ADDR,
        REMOTE_PORT: environ.REMOTE_PORT,
        'wsgi.url_scheme': environ['wsgi.url_scheme'],
        HTTP_HOST: environ.HTTP_HOST,
        SERVER_NAME: environ.SERVER_NAME,
        SERVER_PORT: environ.SERVER_PORT,
        SCRIPT_NAME: environ.SCRIPT_NAME,
      };
      const peer = typeof environ.REMOTE_ADDR === 'string' && environ.REMOTE_ADDR !== '' ? environ.REMOTE_ADDR : undefined;
      if (trusted(peer)) apply(environ, read(environ, trusted));
      return app(environ, startResponse);
    };
}

function apply(environ: Environ, f: Found): void {
  if (f.addr !== undefined) {
    environ.REMOTE_ADDR = f.addr;
    // The proxy's port says nothing about the client's: keep a port only when the proxy gave one.
    if (f.port !== undefined) environ.REMOTE_PORT = f.port;
    else delete environ.REMOTE_PORT;
  }
  if (f.proto !== undefined) {
    const proto = f.proto.toLowerCase();
    if (proto === 'http' || proto === 'https') environ['wsgi.url_scheme'] = proto;
  }
  if (f.host !== undefined && HOST.test(f.host)) {
    const [name, port] = splitHost(f.host);
    environ.HTTP_HOST = f.host;
    environ.SERVER_NAME = name;
    environ.SERVER_PORT = port ?? (environ['wsgi.url_scheme'] === 'https' ? '443' : '80');
  }
  if (f.xport !== undefined && PORT.test(f.xport) && Number(f.xport) <= 65535) {
    environ.SERVER_PORT = f.xport;
    const host = typeof environ.HTTP_HOST === 'string' ? environ.HTTP_HOST : '';
    if (host) environ.HTTP_HOST = `${splitHost(host)[0]}:${f.xport}`;
  }
  if (f.prefix !== undefined) {
    // A URL path: percent-decoded into a native string, as PATH_INFO is; no trailing slash.
    const prefix = unquoteToLatin1(f.prefix).replace(/\/+$/, '');
    if ((prefix === '' || prefix.startsWith('/')) && !/[\x00-\x1f\x7f]/.test(prefix) && !/(^|\/)\.\.?(\/|$)/.test(prefix)) {
      environ.SCRIPT_NAME = prefix;
    }
  }
}
