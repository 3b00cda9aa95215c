// The environ from a uwsgi vars block. The front end (nginx, Apache, lighttpd, the uWSGI router) has
// already parsed the HTTP request: the vars are its CGI variables, taken as sent, with the fix-ups
// that make the environ the one the HTTP door would build (research/protocols.md §1.5):
//   - SCRIPT_NAME defaults to "" (nginx sends none); PATH_INFO, when absent (lighttpd for a
//     script-like path), is REQUEST_URI's decoded path with SCRIPT_NAME taken off its front;
//   - HTTP_CONTENT_TYPE / HTTP_CONTENT_LENGTH are dropped (nginx and lighttpd send them besides
//     CONTENT_TYPE / CONTENT_LENGTH; RFC 3875 §4.1.18); empty CONTENT_TYPE / CONTENT_LENGTH (nginx on
//     a GET) are left out, as the HTTP door leaves them out for a request without them;
//   - REMOTE_PORT from the uWSGI router (UWSGI_ROUTER is set) is dropped: uWSGI 2.0 writes it
//     byte-swapped; any REMOTE_PORT that is not a port number is dropped too;
//   - SERVER_SOFTWARE is tsgi's, wsgi.* keys are ours: vars named wsgi.* / tsgi.* / uwsgi.* are ignored.
//
// Duplicate keys, one rule (nginx < 1.23 sends one var per repeated header):
//   - HTTP_HOST and CONTENT_LENGTH: repeats with the same value collapse; different values make
//     the packet malformed (two hosts or two lengths is the start of a smuggling or routing attack);
//   - any other HTTP_* key: the values are joined with "," ("; " for HTTP_COOKIE), as the HTTP
//     door joins repeated headers;
//   - any other key: the last value wins, as in uWSGI, so that a `uwsgi_param` written after
//     `include uwsgi_params` overrides it.
//
// Malformed (PacketError 'vars', the door closes without calling the application): a missing or
// non-token REQUEST_METHOD, a CONTENT_LENGTH that is not 1 to 15 decimal digits, a
// HTTP_TRANSFER_ENCODING without CONTENT_LENGTH whose last coding is not chunked.
import { isToken } from '../runner/checks.js';
import { splitTarget } from '../protocol/target.js';
import type { Environ, EnvironRecord, ErrorStream, FileWrapperFactory, InputStream } from '../spec.js';
import { WSGI_VERSION } from '../spec.js';
import { PacketError, quote } from '../protocol/uwsgi.js';

/** Per-server values every environ shares. */
export interface UwsgiBase {
  software: string;
  errors: ErrorStream;
  multiprocess: boolean;
  fileWrapper: FileWrapperFactory;
}

/** What the socket knows, for the variables a front end left out. */
export interface ConnectionInfo {
  /** The bound address (SERVER_NAME fallback); undefined on a Unix socket. */
  localAddress?: string;
  localPort?: number;
  /** The front end's address (REMOTE_ADDR fallback); undefined on a Unix socket. */
  remoteAddress?: string;
}

/** How the body is framed on the connection after the vars. */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

export interface Request {
  environ: Environ;
  body: BodyFraming;
  /** The protocol of the response's status line: HTTP/1.0 for an HTTP/1.0 request, else HTTP/1.1. */
  responseProtocol: string;
}

const DIGITS = /^[0-9]{1,15}$/;
const PORT = /^[0-9]{1,5}$/;

function malformed(message: string): never {
  throw new PacketError('vars', message);
}

/** Applies the duplicate-key rule; drops the keys the environ never takes from the wire. */
export function mergeVars(vars: ReadonlyArray<readonly [string, string]>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [key, value] of vars) {
    if (key === 'HTTP_CONTENT_TYPE' || key === 'HTTP_CONTENT_LENGTH' || key === '__proto__') continue;
    if (key.startsWith('wsgi.') || key.startsWith('tsgi.') || key.startsWith('uwsgi.')) continue;
    const prev = m.get(key);
    if (prev === undefined) m.set(key, value);
    else if (key === 'HTTP_HOST' || key === 'CONTENT_LENGTH') {
      if (prev !== value) malformed(`two different ${key} values, ${quote(prev)} and ${quote(value)}`);
    } else if (key.startsWith('HTTP_')) m.set(key, prev + (key === 'HTTP_COOKIE' ? '; ' : ',') + value);
    else m.set(key, value);
  }
  return m;
}

function urlScheme(m: Map<string, string>): string {
  const u = m.get('UWSGI_SCHEME');
  if (u === 'http' || u === 'https') return u;
  const https = m.get('HTTPS')?.toLowerCase();
  if (https === 'on' || https === '1' || https === 'yes') return 'https';
  return m.get('REQUEST_SCHEME') === 'https' ? 'https' : 'http';
}

function bodyFraming(m: Map<string, string>): BodyFraming {
  const length = m.get('CONTENT_LENGTH');
  if (length !== undefined) {
    const n = Number(length);
    return n === 0 ? { kind: 'none' } : { kind: 'length', length: n };
  }
  const te = m.get('HTTP_TRANSFER_ENCODING');
  if (te === undefined) return { kind: 'none' };
  // nginx forwards HTTP_TRANSFER_ENCODING after de-chunking, but then CONTENT_LENGTH is set (above).
  const last = te.split(',').pop()!.trim().toLowerCase();
  if (last !== 'chunked') malformed(`HTTP_TRANSFER_ENCODING ${quote(te)} without CONTENT_LENGTH: the body cannot be framed`);
  return { kind: 'chunked' };
}

/** Builds the environ; throws PacketError('vars') when the vars cannot make a request. */
export function buildEnviron(
  vars: ReadonlyArray<readonly [string, string]>,
  base: UwsgiBase,
  conn: ConnectionInfo,
  input: InputStream,
): Request {
  const m = mergeVars(vars);
  const method = m.get('REQUEST_METHOD');
  if (method === undefined) malformed('no REQUEST_METHOD');
  if (!isToken(method)) malformed(`REQUEST_METHOD ${quote(method)} is not a token`);
  if (m.get('CONTENT_TYPE') === '') m.delete('CONTENT_TYPE');
  const length = m.get('CONTENT_LENGTH');
  if (length === '') m.delete('CONTENT_LENGTH');
  else if (length !== undefined && !DIGITS.test(length)) {
    malformed(`CONTENT_LENGTH ${quote(length)} is not 1 to 15 decimal digits`);
  }
  const body = bodyFraming(m);

  const scriptName = m.get('SCRIPT_NAME') ?? '';
  let pathInfo = m.get('PATH_INFO');
  let query = m.get('QUERY_STRING');
  const uri = m.get('REQUEST_URI');
  if (pathInfo === undefined || query === undefined) {
    const [path, q] = uri !== undefined ? splitTarget(uri) : ['', ''];
    query ??= q;
    if (pathInfo === undefined) {
      const under = scriptName !== '' && path.startsWith(scriptName) && (path.length === scriptName.length || path.charCodeAt(scriptName.length) === 47);
      pathInfo = under ? path.slice(scriptName.length) : path;
    }
  }
  const port = m.get('REMOTE_PORT');
  if (port !== undefined && (m.has('UWSGI_ROUTER') || !PORT.test(port) || Number(port) > 65535)) m.delete('REMOTE_PORT');
  const scheme = urlScheme(m);

  const environ: Environ = {
    REQUEST_METHOD: method,
    SCRIPT_NAME: scriptName,
    PATH_INFO: pathInfo,
    SERVER_NAME: '',
    SERVER_PORT: '',
    SERVER_PROTOCOL: 'HTTP/1.0',
    'wsgi.version': WSGI_VERSION,
    'wsgi.url_scheme': scheme,
    'wsgi.input': input,
    'wsgi.errors': base.errors,
    'wsgi.multithread': false,
    'wsgi.multiprocess': base.multiprocess,
    'wsgi.run_once': false,
  };
  // hasOwn, not `in`: a var named toString or constructor is data, not a prototype member.
  for (const [k, v] of m) if (!Object.hasOwn(environ, k)) (environ as EnvironRecord)[k] = v; // the front end's names
  environ.QUERY_STRING = query;
  // Front ends always send these; the fallbacks keep PEP 3333's required keys present.
  // PEP 3333: never empty, so an empty value from the front end falls back like a missing one.
  environ.SERVER_NAME = m.get('SERVER_NAME') || conn.localAddress || 'localhost';
  environ.SERVER_PORT = m.get('SERVER_PORT') ?? (conn.localPort !== undefined ? String(conn.localPort) : scheme === 'https' ? '443' : '80');
  // uWSGI answers HTTP/1.0 when the front end names no protocol; so does its environ here.
  environ.SERVER_PROTOCOL = m.get('SERVER_PROTOCOL') ?? 'HTTP/1.0';
  if (!m.has('REMOTE_ADDR') && conn.remoteAddress !== undefined) environ.REMOTE_ADDR = conn.remoteAddress;
  if (uri !== undefined) environ.RAW_URI = uri;
  environ.SERVER_SOFTWARE = base.software;
  environ['wsgi.file_wrapper'] = base.fileWrapper;
  // The body always has an end we can report: its length, the last chunk, or an error.
  environ['wsgi.input_terminated'] = true;
  return { environ, body, responseProtocol: environ.SERVER_PROTOCOL === 'HTTP/1.0' ? 'HTTP/1.0' : 'HTTP/1.1' };
}
