// The environ of a request, built in one place for every door (docs/SPEC.md §2.2 and §3; DESIGN §1:
// "environ follows the adopt column"). Two ways in:
//
//   environFromHead(facts, base)            an HTTP/1 head tsgi parsed itself, or node:http did: both HTTP
//                                           engines, toNodeListener, the Fetch bridge, the test client;
//   environFromCgi(vars, base, rules, peer) CGI variables a front end parsed for us: uwsgi, FastCGI, CGI.
//
// Both fill the same skeleton (the wsgi.* keys, SERVER_*), join repeated fields by one rule (joinField)
// and take `::ffff:` off the same addresses (unmapIPv4). What differs between the CGI doors is a
// `CgiRules` value each door declares once, never a copy of the code.
//
// Values: sent, sent empty, or not sent. One table for both builders (PEP 3333 R11/R13: the required
// keys are never missing; SERVER_NAME/SERVER_PORT are never empty; optional keys are left out, not '').
//
//   key                 sent                     sent empty                  not sent
//   REQUEST_METHOD      as sent, if a token      refused (CGI: GET)          refused (CGI: GET)
//   SCRIPT_NAME         as sent                  ''                          '' (see PATH_INFO)
//   PATH_INFO           as sent                  ''                          derived from REQUEST_URI (below)
//   QUERY_STRING        as sent                  ''                          REQUEST_URI's query, else ''
//   CONTENT_TYPE        as sent                  left out                    left out
//   CONTENT_LENGTH      1 to 15 digits, or 400   left out                    left out
//   SERVER_NAME         as sent                  the local address, else 'localhost' (as when not sent)
//   SERVER_PORT         as sent                  the local port, else 80 / 443 by scheme (as when not sent)
//   SERVER_PROTOCOL     as sent                  HTTP/1.0                    HTTP/1.0 (what uWSGI assumes)
//   SERVER_SOFTWARE     tsgi's (CGI: the web server's, which is the server there)
//   REMOTE_ADDR         as sent                  the peer's address, else left out (as when not sent)
//   REMOTE_PORT         a port number, else left out; left out behind the uWSGI router (it byte-swaps it)
//   RAW_URI             REQUEST_URI, when that is sent (not under CGI: its environ is wsgiref's CGIHandler's)
//   HTTP_*              as sent ('' is a field's value); HTTP_CONTENT_TYPE/_LENGTH dropped (RFC 3875 §4.1.18)
//   wsgi.* / tsgi.* / uwsgi.* variables: ignored (those keys are the server's)
//
// For an HTTP head the same columns read: SERVER_NAME/SERVER_PORT are the door's (a configured name, the
// bind address) and fall back to the connection's local end the same way; CONTENT_LENGTH is checked by
// the HTTP/1 framing rules (llhttp, src/protocol/head.ts), not here; Host or Content-Length twice is 400.
//
// PATH_INFO not sent (nginx's stock fastcgi_params, lighttpd for a script-like path, a script run by
// hand): P is REQUEST_URI's path, split and percent-decoded as the HTTP door does it; S is SCRIPT_NAME.
//   - no S (or S empty):                    SCRIPT_NAME '', PATH_INFO P ('' without REQUEST_URI);
//   - P is S + '/...':                      SCRIPT_NAME S, PATH_INFO the rest (the front end mounted the
//                                           application at S and did not send the rest);
//   - otherwise (P equal to S, P not under S, or no REQUEST_URI) S came alone and `rules.scriptNameAlone`
//     says what it is: 'mount' (uwsgi, CGI: the application's mount point, so PATH_INFO is '' when P is
//     S, else P) or 'path' (FastCGI: nginx's stock fastcgi_params and Apache's mod_proxy_fcgi send the
//     whole decoded path as SCRIPT_NAME, so the application is served at the root: SCRIPT_NAME '',
//     PATH_INFO S, which is also the path after an nginx rewrite, where REQUEST_URI is the original).
import type { Environ, ErrorStream, FileWrapperFactory, InputStream } from '../spec.js';
import { WSGI_VERSION } from '../spec.js';
import { ClientError } from '../errors.js';
import { headerKey, isToken } from './names.js';
import { splitTarget } from './target.js';

/** Per-server values every environ shares, whatever the door. */
export interface EnvironBase {
  /** SERVER_SOFTWARE. */
  software: string;
  errors: ErrorStream;
  multiprocess: boolean;
  fileWrapper: FileWrapperFactory;
  /** wsgi.input of a request without a body (the runner's EMPTY_INPUT); the door replaces it when there is one. */
  input: InputStream;
}

/**
 * What a door knows of its connection's two ends. A net.Socket is one as it is: its getters (a
 * syscall each) are read only when a value is needed, e.g. the local address only when no
 * SERVER_NAME was configured or sent.
 */
export interface Endpoints {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | string | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | string | undefined;
}

/** A transport with no addresses (a Unix socket, a CGI process). */
export const NO_ENDPOINTS: Endpoints = {};

// --- the shared rules -----------------------------------------------------------------------------------

/**
 * An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, what a dual-stack socket reports for an IPv4 peer) as
 * the IPv4 address it is; any other address as it is (`::ffff:7f00:1` is spelled as IPv6 and stays so).
 */
export function unmapIPv4(address: string | undefined): string | undefined {
  // The common case, a plain IPv4 address, costs one char code compare. The addresses come from a
  // socket or a runtime, so they are well formed: after '::ffff:', 1 to 3 digits then '.' can only
  // start the embedded dotted quad ('::ffff:0:1.2.3.4', IPv4-translated, has a ':' there instead).
  if (address === undefined || address.charCodeAt(0) !== 58) return address;
  // A keep-alive connection asks again with the same string: answer it from the last call.
  if (address === lastMapped) return lastUnmapped;
  if (!address.startsWith('::ffff:') && !address.startsWith('::FFFF:')) return address;
  let i = 7;
  for (let c = address.charCodeAt(i); i < 10 && c >= 48 && c <= 57; c = address.charCodeAt(++i));
  if (i === 7 || address.charCodeAt(i) !== 46) return address;
  lastMapped = address;
  return (lastUnmapped = address.slice(7));
}
let lastMapped = '';
let lastUnmapped = '';

/** Repeated fields (or repeated HTTP_* variables) in one value: `,` between them, `; ` for Cookie (RFC 9110 §5.3, RFC 6265 §5.4). */
export function joinField(key: string, prev: string, value: string): string {
  return prev + (key === 'HTTP_COOKIE' ? '; ' : ',') + value;
}

const DIGITS = /^[0-9]{1,15}$/;
const PORT = /^[0-9]{1,5}$/;

/** Throws unless `value` is a CONTENT_LENGTH tsgi accepts: 1 to 15 decimal digits (no sign, no space). */
export function checkContentLength(value: string): void {
  if (!DIGITS.test(value)) throw new ClientError(400, `CONTENT_LENGTH ${quote(value)} is not 1 to 15 decimal digits`, 'TSGI_ERR_ENVIRON_LENGTH');
}

/** A value quoted for a log line, cut to 64 chars. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? s.slice(0, 64) + '...' : s);
}

function defaultPort(port: number | string | undefined, scheme: string): string {
  if (port !== undefined && port !== '') return String(port);
  return scheme === 'https' ? '443' : '80';
}

// --- an HTTP/1 head --------------------------------------------------------------------------------------

/** Per-server values of an HTTP door (or a bridge, or the test client). */
export interface HeadBase extends EnvironBase {
  /** SERVER_NAME: a configured name or the bind host; '' for the connection's local address. */
  serverName: string;
  /** SERVER_PORT: the bound port; '' for the connection's local port. */
  serverPort: string;
  scriptName: string;
}

/** What the door learned of one request. */
export interface HeadFacts {
  readonly method: string;
  /** The request target as received: REQUEST_URI and RAW_URI. */
  readonly target: string;
  /** PATH_INFO and QUERY_STRING: the target split and percent-decoded by splitTarget (./target.ts). */
  readonly path: string;
  readonly query: string;
  /** SERVER_PROTOCOL, e.g. `HTTP/1.1` (protocolName turns node's `httpVersion` into it). */
  readonly protocol: string;
  /** [name, value, name, value, ...] as received (node's rawHeaders, the net engine's head). */
  readonly rawHeaders: readonly string[];
  /** wsgi.url_scheme. */
  readonly scheme: string;
  /** The connection (REMOTE_ADDR, REMOTE_PORT; the local end when the base names no server). */
  readonly peer: Endpoints;
}

/** SERVER_PROTOCOL of an `httpVersion` such as node:http and the net engine report it ('1.1'). */
export function protocolName(version: string): string {
  // The two versions a door accepts are constants: no string is built per request for them.
  return version === '1.1' ? 'HTTP/1.1' : version === '1.0' ? 'HTTP/1.0' : 'HTTP/' + version;
}

/**
 * The environ of an HTTP/1 request. Throws ClientError(400) for two Host or two Content-Length
 * fields. `wsgi.input` is `base.input`: the door replaces it when the request has a body.
 */
export function environFromHead(h: HeadFacts, base: HeadBase): Environ {
  const peer = h.peer;
  const scheme = h.scheme;
  // One literal, always the same keys in the same order: every environ of a door has one hidden class.
  const environ: Environ = {
    REQUEST_METHOD: h.method,
    SCRIPT_NAME: base.scriptName,
    PATH_INFO: h.path,
    QUERY_STRING: h.query,
    SERVER_NAME: base.serverName || unmapIPv4(peer.localAddress) || 'localhost',
    SERVER_PORT: base.serverPort || defaultPort(peer.localPort, scheme),
    SERVER_PROTOCOL: h.protocol,
    SERVER_SOFTWARE: base.software,
    REQUEST_URI: h.target,
    // In the literal, not added after it: one property added later costs a map transition per request.
    RAW_URI: h.target,
    'wsgi.version': WSGI_VERSION,
    'wsgi.url_scheme': scheme,
    'wsgi.input': base.input,
    'wsgi.errors': base.errors,
    'wsgi.multithread': false,
    'wsgi.multiprocess': base.multiprocess,
    'wsgi.run_once': false,
    'wsgi.file_wrapper': base.fileWrapper,
    // gunicorn and waitress always set it: the body always ends with an EOF we can give.
    'wsgi.input_terminated': true,
  };
  // Absent, not empty, when the transport has no peer address (a Unix socket): PEP 3333 R13.
  const remote = peer.remoteAddress;
  if (remote !== undefined && remote !== '') {
    // The test for ':' first keeps the call off the path of a plain IPv4 peer.
    environ.REMOTE_ADDR = remote.charCodeAt(0) === 58 ? unmapIPv4(remote)! : remote;
    const port = peer.remotePort;
    if (port !== undefined) environ.REMOTE_PORT = typeof port === 'number' ? '' + port : port;
  }
  const raw = h.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = headerKey(raw[i]!);
    if (key === null) continue;
    const value = raw[i + 1]!;
    const prev = environ[key] as string | undefined;
    if (prev === undefined) environ[key] = value;
    else if (key === 'HTTP_HOST') throw new ClientError(400, 'more than one Host header', 'TSGI_ERR_ENVIRON_DUPLICATE');
    else if (key === 'CONTENT_LENGTH') throw new ClientError(400, 'more than one Content-Length header', 'TSGI_ERR_ENVIRON_DUPLICATE');
    else environ[key] = joinField(key, prev, value);
  }
  return environ;
}

// --- CGI variables ---------------------------------------------------------------------------------------

/** How a CGI-style door reads its front end's variables: one constant per door. */
export interface CgiRules {
  /** What a SCRIPT_NAME sent without PATH_INFO is, when REQUEST_URI shows no split under it (see the top). */
  readonly scriptNameAlone: 'mount' | 'path';
  /** REQUEST_METHOD when none (or '') is sent; undefined: such a request is refused. */
  readonly defaultMethod?: string | undefined;
  /** SERVER_SOFTWARE is the front end's when it sends one (CGI, where the web server is the server). */
  readonly frontEndSoftware: boolean;
  /** wsgi.run_once. */
  readonly runOnce: boolean;
  /** RAW_URI = REQUEST_URI, as the HTTP door sets it (not under CGI, whose environ is wsgiref's CGIHandler's). */
  readonly rawUri: boolean;
}

/**
 * Keys the environ never takes from a front end: HTTP_CONTENT_TYPE/_LENGTH (RFC 3875 §4.1.18: the
 * CONTENT_* variables are the body's), the server's own wsgi.* / tsgi.* / uwsgi.* keys, and __proto__.
 */
function ignoredVar(key: string): boolean {
  if (key === 'HTTP_CONTENT_TYPE' || key === 'HTTP_CONTENT_LENGTH' || key === '__proto__') return true;
  // CGI names are upper case: the three prefixes are only looked for behind a lower-case first letter.
  const c = key.charCodeAt(0);
  return (c === 119 || c === 116 || c === 117) && (key.startsWith('wsgi.') || key.startsWith('tsgi.') || key.startsWith('uwsgi.'));
}

/**
 * The duplicate-key rule (nginx < 1.23 sends one variable per repeated header): the value of `key` when
 * `value` follows `prev`. HTTP_HOST and CONTENT_LENGTH repeated with the same value collapse, with
 * another value are refused (two hosts or two lengths is how smuggling and routing attacks start); other
 * HTTP_* values are joined as repeated header fields are; any other variable: the last one wins (a
 * `uwsgi_param` written after `include uwsgi_params` overrides it).
 */
function mergedVar(key: string, prev: string, value: string): string {
  if (key === 'HTTP_HOST' || key === 'CONTENT_LENGTH') {
    if (prev !== value) throw new ClientError(400, `two different ${key} values, ${quote(prev)} and ${quote(value)}`, 'TSGI_ERR_ENVIRON_DUPLICATE');
    return prev;
  }
  return key.charCodeAt(0) === 72 && key.startsWith('HTTP_') ? joinField(key, prev, value) : value;
}

/** The variables as one map, by the duplicate-key rule (mergedVar), without the keys a front end cannot set. */
export function mergeVars(vars: Iterable<readonly [string, string]>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [key, value] of vars) {
    if (ignoredVar(key)) continue;
    const prev = m.get(key);
    m.set(key, prev === undefined ? value : mergedVar(key, prev, value));
  }
  return m;
}

function urlScheme(e: Vars): 'http' | 'https' {
  // UWSGI_SCHEME is what nginx's uwsgi_params sends ($scheme); the others are RFC 3875 / Apache's.
  const u = e.UWSGI_SCHEME;
  if (u === 'http' || u === 'https') return u;
  const https = e.HTTPS;
  if (typeof https === 'string') {
    const h = https.toLowerCase();
    if (h === 'on' || h === '1' || h === 'yes') return 'https';
  }
  return e.REQUEST_SCHEME === 'https' ? 'https' : 'http';
}

/** [SCRIPT_NAME, PATH_INFO] when PATH_INFO was not sent (the rule at the top of this file). */
function derivePaths(script: string | undefined, uriPath: string | undefined, alone: CgiRules['scriptNameAlone']): [string, string] {
  if (script === undefined || script === '') return ['', uriPath ?? ''];
  if (uriPath !== undefined && uriPath.length > script.length && uriPath.startsWith(script) && uriPath.charCodeAt(script.length) === 47) {
    return [script, uriPath.slice(script.length)];
  }
  if (alone === 'path') return ['', script];
  return [script, uriPath === undefined || uriPath === script ? '' : uriPath];
}

/**
 * The environ while the variables are read into it: a variable's value, or (for the keys the literal
 * below holds, and inherited names such as toString) not a string when none was sent.
 */
type Vars = { [key: string]: unknown };

/**
 * The environ of a request a front end sent as CGI variables (a uwsgi vars block, FastCGI params, a CGI
 * process's environment). Throws ClientError(400) when they cannot make a request (no or a bad
 * REQUEST_METHOD, a bad CONTENT_LENGTH, two different HTTP_HOST or CONTENT_LENGTH values). The door
 * frames the body from CONTENT_LENGTH (checked here) and replaces `wsgi.input` when there is one.
 *
 * The variables go straight into the environ (no Map between: with one, the uwsgi door ran 87.0k instructions per
 * request, without it 65.1k; bench/instructions.mjs --only uwsgi), whose literal holds the keys computed from
 * them, so that every environ of a front end starts from one hidden class; four keys that are left out when sent
 * empty or unusable are held aside until the end rather than deleted from it (a delete turns the object into a
 * slow dictionary). nginx's uwsgi_params sends CONTENT_TYPE and CONTENT_LENGTH empty on every request without a
 * body.
 */
export function environFromCgi(vars: Iterable<readonly [string, string]>, base: EnvironBase, rules: CgiRules, peer: Endpoints = NO_ENDPOINTS): Environ {
  const e: Vars = {
    REQUEST_METHOD: undefined,
    SCRIPT_NAME: undefined,
    PATH_INFO: undefined,
    QUERY_STRING: undefined,
    SERVER_NAME: undefined,
    SERVER_PORT: undefined,
    SERVER_PROTOCOL: undefined,
    SERVER_SOFTWARE: undefined,
    'wsgi.version': WSGI_VERSION,
    'wsgi.url_scheme': 'http',
    'wsgi.input': base.input,
    'wsgi.errors': base.errors,
    'wsgi.multithread': false,
    'wsgi.multiprocess': base.multiprocess,
    'wsgi.run_once': rules.runOnce,
    'wsgi.file_wrapper': base.fileWrapper,
    // The body ends at CONTENT_LENGTH, a last chunk or the end of the stream: an end we can report.
    'wsgi.input_terminated': true,
  };
  let contentType: string | undefined;
  let contentLength: string | undefined;
  let remoteAddr: string | undefined;
  let remotePort: string | undefined;
  for (const [key, value] of vars) {
    if (ignoredVar(key)) continue;
    if (key === 'CONTENT_TYPE') contentType = contentType === undefined ? value : mergedVar(key, contentType, value);
    else if (key === 'CONTENT_LENGTH') contentLength = contentLength === undefined ? value : mergedVar(key, contentLength, value);
    else if (key === 'REMOTE_ADDR') remoteAddr = value;
    else if (key === 'REMOTE_PORT') remotePort = value;
    else {
      // typeof, not undefined: a variable named toString is data, and the inherited function is not a value.
      const prev = e[key];
      e[key] = typeof prev === 'string' ? mergedVar(key, prev, value) : value;
    }
  }
  let method = e.REQUEST_METHOD as string | undefined;
  if ((method === undefined || method === '') && rules.defaultMethod !== undefined) method = rules.defaultMethod;
  if (method === undefined) throw new ClientError(400, 'no REQUEST_METHOD', 'TSGI_ERR_ENVIRON_METHOD');
  if (!isToken(method)) throw new ClientError(400, `REQUEST_METHOD ${quote(method)} is not a token`, 'TSGI_ERR_ENVIRON_METHOD');
  if (contentLength !== undefined && contentLength !== '') checkContentLength(contentLength);

  const uri = typeof e.REQUEST_URI === 'string' ? e.REQUEST_URI : undefined;
  const split = uri !== undefined ? splitTarget(uri) : undefined;
  const sentScript = e.SCRIPT_NAME as string | undefined;
  let scriptName = sentScript ?? '';
  let pathInfo = e.PATH_INFO as string | undefined;
  if (pathInfo === undefined) [scriptName, pathInfo] = derivePaths(sentScript, split?.[0], rules.scriptNameAlone);
  const scheme = urlScheme(e);

  e.REQUEST_METHOD = method;
  e.SCRIPT_NAME = scriptName;
  e.PATH_INFO = pathInfo;
  e.QUERY_STRING = (e.QUERY_STRING as string | undefined) ?? split?.[1] ?? '';
  // PEP 3333: SERVER_NAME and SERVER_PORT "can never be empty strings": empty falls back like missing.
  e.SERVER_NAME = (e.SERVER_NAME as string | undefined) || unmapIPv4(peer.localAddress) || 'localhost';
  e.SERVER_PORT = (e.SERVER_PORT as string | undefined) || defaultPort(peer.localPort, scheme);
  // uWSGI answers HTTP/1.0 when the front end names no protocol; so does the environ here.
  e.SERVER_PROTOCOL = (e.SERVER_PROTOCOL as string | undefined) || 'HTTP/1.0';
  e.SERVER_SOFTWARE = (rules.frontEndSoftware && (e.SERVER_SOFTWARE as string | undefined)) || base.software;
  e['wsgi.url_scheme'] = scheme;
  if (contentType !== undefined && contentType !== '') e.CONTENT_TYPE = contentType;
  if (contentLength !== undefined && contentLength !== '') e.CONTENT_LENGTH = contentLength;
  if (uri !== undefined && rules.rawUri) e.RAW_URI = uri;
  if (remoteAddr === undefined || remoteAddr === '') remoteAddr = unmapIPv4(peer.remoteAddress);
  if (remoteAddr !== undefined && remoteAddr !== '') e.REMOTE_ADDR = remoteAddr;
  if (remotePort !== undefined && typeof e.UWSGI_ROUTER !== 'string' && PORT.test(remotePort) && Number(remotePort) <= 65535) e.REMOTE_PORT = remotePort;
  return e as unknown as Environ;
}
