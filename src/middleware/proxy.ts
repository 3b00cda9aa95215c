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
export type Trust = string | readonly string[] | ((address: string | undefined) => boolean);

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

/** An IPv4 address as 4 bytes, or null. Only dotted quads of decimal numbers 0-255 (no octal, no shorthand). */
function parseIPv4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** An IPv6 address (with `::`, an embedded IPv4 tail, a `%zone`) as 16 bytes, or null. */
function parseIPv6(s: string): number[] | null {
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  if (!s.includes(':')) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = v4;
    s = s.slice(0, lastColon + 1) + '0:0'; // placeholder groups, replaced below
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const out: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 255);
  }
  if (tail.length) out.splice(12, 4, ...tail);
  return out;
}

/** Any address as 16 bytes; IPv4 as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so one range check serves both. */
export function parseIP(s: string): number[] | null {
  const v4 = parseIPv4(s);
  if (v4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4];
  return parseIPv6(s);
}

interface Range {
  bytes: number[];
  bits: number;
}

function parseRange(spec: string): Range {
  const slash = spec.indexOf('/');
  const addr = slash === -1 ? spec : spec.slice(0, slash);
  const bytes = parseIP(addr);
  if (bytes === null) throw new TypeError(`proxyHeaders(): ${JSON.stringify(spec)} is not an IP address or CIDR range`);
  const isV4 = parseIPv4(addr) !== null;
  let bits = 128;
  if (slash !== -1) {
    const p = spec.slice(slash + 1);
    const max = isV4 ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > max) throw new TypeError(`proxyHeaders(): bad prefix length in ${JSON.stringify(spec)}`);
    bits = Number(p) + (isV4 ? 96 : 0);
  }
  return { bytes, bits };
}

function inRange(ip: number[], r: Range): boolean {
  let bits = r.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (r.bytes[i]! & mask)) return false;
  }
  return true;
}

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

/**
 * Compiles a trust setting to a predicate over an address (undefined: a Unix-socket peer).
 * Throws a TypeError for an entry that is neither an address, a range, `loopback`, `unix` nor `*`.
 */
export function compileTrust(trust: Trust): (address: string | undefined) => boolean {
  if (typeof trust === 'function') return trust;
  const entries = (typeof trust === 'string' ? trust.split(',') : [...trust]).map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) throw new TypeError('proxyHeaders(): trust is empty; give loopback, addresses or ranges, or *');
  if (entries.includes('*')) return () => true;
  let unix = false;
  const ranges: Range[] = [];
  for (const entry of entries) {
    const lower = entry.toLowerCase();
    if (lower === 'loopback') {
      unix = true;
      for (const r of LOOPBACK) ranges.push(parseRange(r));
    } else if (lower === 'unix') unix = true;
    else ranges.push(parseRange(entry));
  }
  return (address) => {
    if (address === undefined || address === '') return unix;
    const ip = parseIP(address);
    return ip !== null && ranges.some((r) => inRange(ip, r));
  };
}

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
