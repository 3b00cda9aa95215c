// Request targets to PATH_INFO and QUERY_STRING, shared by every door that sees a raw target.
import { ClientError } from '../errors.js';

/** Percent-decodes to a native string: `%XX` becomes U+00XX, malformed escapes stay as they are. */
export function decodePath(raw: string): string {
  let i = raw.indexOf('%');
  if (i === -1) return raw;
  let out = raw.slice(0, i);
  for (; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 37 && i + 2 < raw.length) {
      const h = hex(raw.charCodeAt(i + 1));
      const l = hex(raw.charCodeAt(i + 2));
      if (h !== -1 && l !== -1) {
        out += String.fromCharCode(h * 16 + l);
        i += 2;
        continue;
      }
    }
    out += raw[i];
  }
  return out;
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Splits a request target into [PATH_INFO, QUERY_STRING]. */
export function splitTarget(target: string): [string, string] {
  let path = target;
  let query = '';
  const hash = path.indexOf('#');
  if (hash !== -1) path = path.slice(0, hash); // a fragment is never part of the request (3/5 servers)
  const q = path.indexOf('?');
  if (q !== -1) {
    query = path.slice(q + 1);
    path = path.slice(0, q);
  }
  if (path.charCodeAt(0) !== 47 && path !== '*') {
    // absolute-form (RFC 9112 §3.2.2): the path of the URL; Host stays what the header says.
    const scheme = path.indexOf('://');
    if (scheme > 0) {
      const slash = path.indexOf('/', scheme + 3);
      path = slash === -1 ? '/' : path.slice(slash);
    }
  }
  path = decodePath(path);
  // A leading '//' could read as a network-path reference in naive redirects: collapse it (3/5 servers).
  if (path.charCodeAt(0) === 47 && path.charCodeAt(1) === 47) path = '/' + path.replace(/^\/+/, '');
  return [path, query];
}

// --- request-target forms (RFC 9112 §3.2) --------------------------------------------------------

// Bytes of a host (RFC 3986 §3.2.2 reg-name and IPv4address: unreserved, sub-delims, pct-encoded)
// and of userinfo (the same and ':').
const HOST = new Uint8Array(128);
for (let c = 48; c <= 57; c++) HOST[c] = 1;
for (let c = 65; c <= 90; c++) HOST[c] = 1;
for (let c = 97; c <= 122; c++) HOST[c] = 1;
for (const c of "-._~!$&'()*+,;=%") HOST[c.charCodeAt(0)] = 1;
// Inside [ ] (IPv6address, IPvFuture): hex digits, ':', '.', and IPvFuture's unreserved and sub-delims.
const LITERAL = HOST.slice();
LITERAL[58] = 1;
LITERAL[37] = 0;

function run(s: string, from: number, to: number, table: Uint8Array): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || !table[c]) return false;
    // pct-encoded = "%" HEXDIG HEXDIG
    if (c === 37 && (i + 2 >= to || hex(s.charCodeAt(i + 1)) === -1 || hex(s.charCodeAt(i + 2)) === -1)) return false;
  }
  return true;
}

/**
 * `uri-host [ ":" port ]` (RFC 9110 §7.2 Host, RFC 9112 §3.2.3 authority-form): a reg-name or IPv4
 * address, or an IP literal in brackets; port is digits. `needHost`: an http(s) URI MUST NOT have an
 * empty host (RFC 9110 §4.2.1); `needPort`: authority-form has a port.
 */
export function isHostPort(s: string, from = 0, to = s.length, needHost = false, needPort = false): boolean {
  let colon = -1;
  if (s.charCodeAt(from) === 91) {
    const close = s.indexOf(']', from);
    if (close === -1 || close >= to || close === from + 1 || !run(s, from + 1, close, LITERAL)) return false;
    if (close + 1 < to) {
      if (s.charCodeAt(close + 1) !== 58) return false;
      colon = close + 1;
    }
  } else {
    // The first ':' (not the last: a host has none, and a second one is not a port digit). This runs on
    // every request's Host; lastIndexOf on a sliced string is a call into the runtime, indexOf is not.
    colon = s.indexOf(':', from);
    if (colon >= to) colon = -1;
    const end = colon === -1 ? to : colon;
    if (!run(s, from, end, HOST)) return false;
    if (needHost && end === from) return false;
  }
  if (colon === -1) return !needPort;
  for (let i = colon + 1; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return !needPort || colon + 1 < to;
}

/** An http or https URI in absolute-form: scheme "://" [ userinfo "@" ] host [ ":" port ] and the rest. */
function isHttpUri(t: string): boolean {
  const m = /^https?:\/\//i.exec(t);
  if (m === null) return false;
  const a = m[0].length;
  let z = a;
  while (z < t.length) {
    const c = t.charCodeAt(z);
    if (c === 47 || c === 63 || c === 35) break; // '/', '?', '#' end the authority
    z++;
  }
  const at = t.lastIndexOf('@', z - 1);
  let hostStart = a;
  if (at >= a) {
    // userinfo: accepted (RFC 9110 §4.2.4 lets a recipient treat it as an error; tsgi never uses the
    // target's authority: HTTP_HOST is the Host field), so only its bytes are checked.
    if (!run(t, a, at, LITERAL)) return false;
    hostStart = at + 1;
  }
  return isHostPort(t, hostStart, z, true, false);
}

/**
 * Whether a request-target has the shape of one of the four forms, as llhttp checks it while it
 * reads the request line (before the version): `/…`, `*…`, `letters://…`, anything for CONNECT but a
 * fragment. The net engine's parser checks the same at the same point, so that a request with a
 * malformed target and another fault gets the same answer from both engines; checkTarget() then
 * decides whether the form is allowed and valid.
 */
export function hasTargetShape(method: string, target: string): boolean {
  const c0 = target.charCodeAt(0);
  if (method === 'CONNECT') return c0 !== 35;
  if (c0 === 47 || c0 === 42) return true;
  return /^[A-Za-z]+:\/\//.test(target);
}

/**
 * Which request-target forms a method may use (RFC 9112 §3.2): origin-form (`/path?query`) for all;
 * absolute-form for all, with a valid http or https URI only (no `ftp:`, no empty host); authority-form
 * (`host:port`) only for CONNECT; asterisk-form (`*`) only for OPTIONS. Returns the refusal, or null.
 * The bytes were checked by the parser (VCHAR only: no control byte, no space, no raw non-ASCII).
 * CONNECT in authority-form is well formed but not served: tsgi is an origin server, and a 2xx to
 * CONNECT would switch the connection into a tunnel (RFC 9110 §9.3.6) that a WSGI application cannot
 * drive, so it is 501 (RFC 9110 §9.1: a method the server does not implement).
 */
export function checkTarget(method: string, target: string): ClientError | null {
  if (target.length === 0) return new ClientError(400, 'empty request target', 'TSGI_ERR_REQUEST_LINE');
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    // VCHAR only (RFC 9112 §3.2, RFC 3986): browsers percent-encode everything else, and raw bytes
    // above 0x7F would be read as latin-1 by one server and as UTF-8 by the next.
    if (c <= 32 || c >= 127)
      return new ClientError(
        400,
        `a ${c >= 127 ? 'non-ASCII' : 'control'} byte (0x${c.toString(16).padStart(2, '0')}) in the request target`,
        'TSGI_ERR_REQUEST_LINE',
      );
  }
  if (method === 'CONNECT') {
    if (!isHostPort(target, 0, target.length, true, true))
      return new ClientError(400, `CONNECT needs a host:port target, not ${JSON.stringify(target)}`, 'TSGI_ERR_TARGET');
    return new ClientError(501, 'CONNECT is not served (tsgi is not a proxy)', 'TSGI_ERR_CONNECT');
  }
  const c0 = target.charCodeAt(0);
  if (c0 === 47) return null; // origin-form
  if (target === '*')
    return method === 'OPTIONS' ? null : new ClientError(400, `asterisk-form target with ${method} (only OPTIONS may use it)`, 'TSGI_ERR_TARGET');
  if (isHttpUri(target)) return null;
  return new ClientError(400, `request target ${JSON.stringify(target.slice(0, 64))} is neither a path nor an http(s) URI`, 'TSGI_ERR_TARGET');
}
