// Which peers to trust, by address: one matcher for every door and middleware that asks (the proxy
// middleware's `trust`, the uwsgi and FastCGI doors' `allow`). Pure (no node:net), so the middleware
// runs on any runtime: addresses are parsed here into 16 bytes, IPv4 as its IPv4-mapped IPv6 form, so
// one range check serves both families (an IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d).
//
// A list is addresses, CIDR ranges (10.0.0.0/8, fd00::/8), the keywords `loopback` (127.0.0.0/8, ::1
// and Unix-socket peers) and `unix` (Unix-socket peers only), or `*` (anyone); or a function.

/** Trusted peers: a comma-separated string, a list, or a predicate over the address (undefined: a Unix-socket peer). */
export type Trust = string | readonly string[] | ((address: string | undefined) => boolean);

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

function parseRange(spec: string, what: string): Range {
  const slash = spec.indexOf('/');
  const addr = slash === -1 ? spec : spec.slice(0, slash);
  const bytes = parseIP(addr);
  if (bytes === null) throw new TypeError(`${what}: ${JSON.stringify(spec)} is not an IP address or CIDR range`);
  const isV4 = parseIPv4(addr) !== null;
  let bits = 128;
  if (slash !== -1) {
    const p = spec.slice(slash + 1);
    const max = isV4 ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > max) throw new TypeError(`${what}: bad prefix length in ${JSON.stringify(spec)}`);
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
export function compileTrust(trust: Trust, what = 'proxyHeaders()'): (address: string | undefined) => boolean {
  if (typeof trust === 'function') return trust;
  const entries = (typeof trust === 'string' ? trust.split(',') : [...trust]).map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) throw new TypeError(`${what}: trust is empty; give loopback, addresses or ranges, or *`);
  if (entries.includes('*')) return () => true;
  let unix = false;
  const ranges: Range[] = [];
  for (const entry of entries) {
    const lower = entry.toLowerCase();
    if (lower === 'loopback') {
      unix = true;
      for (const r of LOOPBACK) ranges.push(parseRange(r, what));
    } else if (lower === 'unix') unix = true;
    else ranges.push(parseRange(entry, what));
  }
  return (address) => {
    if (address === undefined || address === '') return unix;
    const ip = parseIP(address);
    return ip !== null && ranges.some((r) => inRange(ip, r));
  };
}

/**
 * Whether one entry of `trust` holds the whole range `spec` (a CIDR range): for a door that skips the
 * per-connection check when every peer that can reach its socket is trusted (any 127.x.y.z can connect
 * to a socket bound to 127.0.0.1). A predicate covers nothing it can be asked about.
 */
export function trustCovers(trust: Trust, spec: string, what = 'allow'): boolean {
  if (typeof trust === 'function') return false;
  const entries = (typeof trust === 'string' ? trust.split(',') : [...trust]).map((s) => s.trim()).filter(Boolean);
  if (entries.includes('*')) return true;
  const want = parseRange(spec, what);
  return entries.some((entry) => {
    const lower = entry.toLowerCase();
    if (lower === 'unix') return false;
    const ranges = lower === 'loopback' ? LOOPBACK.map((r) => parseRange(r, what)) : [parseRange(entry, what)];
    return ranges.some((r) => r.bits <= want.bits && inRange(want.bytes, r));
  });
}
