// The environ from FastCGI params. The web server has parsed the HTTP request; its params are CGI
// variables, taken as sent, with the fix-ups that make the environ the one the HTTP door builds
// (research/protocols.md §2.3):
//   - PATH_INFO absent (stock nginx `fastcgi_params`, Apache `ProxyPass ... fcgi://`): the front end
//     did not split the path, so its SCRIPT_NAME is the whole decoded path, not a mount point. tsgi
//     then serves the application at the root: PATH_INFO = that path, SCRIPT_NAME = "". (Without
//     either, PATH_INFO is REQUEST_URI's decoded path.) A front end that sends PATH_INFO (lighttpd,
//     nginx with `fastcgi_split_path_info`) gets its split kept as sent;
//   - HTTP_CONTENT_TYPE / HTTP_CONTENT_LENGTH are dropped (RFC 3875 §4.1.18); empty CONTENT_TYPE /
//     CONTENT_LENGTH (nginx on a GET) are left out, as the HTTP door leaves them out;
//   - SERVER_SOFTWARE and every wsgi.* key are tsgi's; params named wsgi.* or tsgi.* are ignored;
//   - a REMOTE_PORT that is not a port number is dropped.
// Duplicate names (nginx < 1.23 sends one param per repeated header) follow the uwsgi door's rule:
// HTTP_HOST / CONTENT_LENGTH repeated with another value is malformed, other HTTP_* are joined with
// "," ("; " for cookies), anything else: the last one wins.
//
// Malformed (ParamsError: answered 400 without calling the application): no REQUEST_METHOD or one
// that is not a token, a CONTENT_LENGTH that is not 1 to 15 decimal digits.
import { isToken } from '../runner/checks.js';
import { splitTarget } from '../protocol/target.js';
import type { Environ, EnvironRecord, ErrorStream, FileWrapperFactory, InputStream } from '../spec.js';
import { WSGI_VERSION } from '../spec.js';

export interface FastcgiBase {
  software: string;
  multiprocess: boolean;
  fileWrapper: FileWrapperFactory;
}

/** What the socket knows, for the variables a front end left out. */
export interface ConnectionInfo {
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
}

export class ParamsError extends Error {
  override name = 'ParamsError';
}

const DIGITS = /^[0-9]{1,15}$/;
const PORT = /^[0-9]{1,5}$/;

function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? s.slice(0, 64) + '...' : s);
}

export function mergeParams(pairs: ReadonlyArray<readonly [string, string]>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [key, value] of pairs) {
    if (key === 'HTTP_CONTENT_TYPE' || key === 'HTTP_CONTENT_LENGTH' || key === '__proto__') continue;
    if (key.startsWith('wsgi.') || key.startsWith('tsgi.')) continue;
    const prev = m.get(key);
    if (prev === undefined) m.set(key, value);
    else if (key === 'HTTP_HOST' || key === 'CONTENT_LENGTH') {
      if (prev !== value) throw new ParamsError(`two different ${key} values, ${quote(prev)} and ${quote(value)}`);
    } else if (key.startsWith('HTTP_')) m.set(key, prev + (key === 'HTTP_COOKIE' ? '; ' : ',') + value);
    else m.set(key, value);
  }
  return m;
}

export interface FastcgiRequest {
  environ: Environ;
  /** CONTENT_LENGTH as a number, or null: then the body is the whole STDIN stream. */
  length: number | null;
}

/** Builds the environ; throws ParamsError when the params cannot make a request. */
export function buildEnviron(
  pairs: ReadonlyArray<readonly [string, string]>,
  base: FastcgiBase,
  conn: ConnectionInfo,
  errors: ErrorStream,
  input: InputStream,
): FastcgiRequest {
  const m = mergeParams(pairs);
  const method = m.get('REQUEST_METHOD');
  if (method === undefined) throw new ParamsError('no REQUEST_METHOD');
  if (!isToken(method)) throw new ParamsError(`REQUEST_METHOD ${quote(method)} is not a token`);
  if (m.get('CONTENT_TYPE') === '') m.delete('CONTENT_TYPE');
  const lengthText = m.get('CONTENT_LENGTH');
  let length: number | null = null;
  if (lengthText === '') m.delete('CONTENT_LENGTH');
  else if (lengthText !== undefined) {
    if (!DIGITS.test(lengthText)) throw new ParamsError(`CONTENT_LENGTH ${quote(lengthText)} is not 1 to 15 decimal digits`);
    length = Number(lengthText);
  }

  let scriptName = m.get('SCRIPT_NAME');
  let pathInfo = m.get('PATH_INFO');
  const uri = m.get('REQUEST_URI');
  let query = m.get('QUERY_STRING');
  if (pathInfo === undefined) {
    if (scriptName !== undefined) {
      pathInfo = scriptName;
      scriptName = '';
    } else pathInfo = uri !== undefined ? splitTarget(uri)[0] : '';
  }
  if (query === undefined) query = uri !== undefined ? splitTarget(uri)[1] : '';
  const port = m.get('REMOTE_PORT');
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535)) m.delete('REMOTE_PORT');
  const https = m.get('HTTPS')?.toLowerCase();
  const scheme = https === 'on' || https === '1' || https === 'yes' || m.get('REQUEST_SCHEME') === 'https' ? 'https' : 'http';

  const environ: Environ = {
    REQUEST_METHOD: method,
    SCRIPT_NAME: scriptName ?? '',
    PATH_INFO: pathInfo,
    SERVER_NAME: '',
    SERVER_PORT: '',
    SERVER_PROTOCOL: 'HTTP/1.0',
    'wsgi.version': WSGI_VERSION,
    'wsgi.url_scheme': scheme,
    'wsgi.input': input,
    'wsgi.errors': errors,
    'wsgi.multithread': false,
    'wsgi.multiprocess': base.multiprocess,
    'wsgi.run_once': false,
  };
  // hasOwn, not `in`: a param named toString or constructor is data, not a prototype member.
  for (const [k, v] of m) if (!Object.hasOwn(environ, k)) (environ as EnvironRecord)[k] = v; // the front end's names
  environ.QUERY_STRING = query;
  // PEP 3333: SERVER_NAME and SERVER_PORT "can never be empty strings".
  environ.SERVER_NAME = m.get('SERVER_NAME') || conn.localAddress || 'localhost';
  environ.SERVER_PORT = m.get('SERVER_PORT') || (conn.localPort !== undefined ? String(conn.localPort) : scheme === 'https' ? '443' : '80');
  environ.SERVER_PROTOCOL = m.get('SERVER_PROTOCOL') || 'HTTP/1.0';
  if (!m.has('REMOTE_ADDR') && conn.remoteAddress !== undefined) environ.REMOTE_ADDR = conn.remoteAddress;
  if (uri !== undefined) environ.RAW_URI = uri;
  environ.SERVER_SOFTWARE = base.software;
  environ['wsgi.file_wrapper'] = base.fileWrapper;
  // The STDIN stream always ends with an empty record: the body has an end we can report.
  environ['wsgi.input_terminated'] = true;
  return { environ, length };
}
