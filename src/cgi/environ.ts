// The environ of a CGI request (RFC 3875 §4.1, research/protocols.md §3): the process environment
// *is* the request, so all of it goes in, as wsgiref's CGIHandler does (read_environ()), with the
// fix-ups the other doors make:
//   - values are native strings (the caller decodes the environment's bytes as latin-1);
//   - HTTP_CONTENT_TYPE / HTTP_CONTENT_LENGTH are dropped (lighttpd sends the latter; RFC 3875
//     §4.1.18), empty CONTENT_TYPE / CONTENT_LENGTH are left out, wsgi.* / tsgi.* variables ignored;
//   - REQUEST_METHOD defaults to GET and the server variables to harmless values, so that a script
//     run by hand from a shell still answers (as Python's CGI scripts do);
//   - SERVER_SOFTWARE is the web server's (it is the CGI server); tsgi's only when there is none.
// The body: CONTENT_LENGTH bytes of stdin; without CONTENT_LENGTH, stdin to its end when the request
// was chunked (Apache's mod_cgi de-chunks but sets no CONTENT_LENGTH: apache-cgi-chunked.json);
// otherwise no body.
import { isToken } from '../runner/checks.js';
import type { Environ, EnvironRecord, ErrorStream, FileWrapperFactory, InputStream } from '../spec.js';
import { WSGI_VERSION } from '../spec.js';

export interface CgiBase {
  software: string;
  multiprocess: boolean;
  fileWrapper: FileWrapperFactory;
}

/** The request cannot be served: answered 400 without calling the application. */
export class CgiRequestError extends Error {
  override name = 'CgiRequestError';
}

export interface CgiRequest {
  environ: Environ;
  /** The body: a length, 'eof' (read stdin to its end) or 'none'. */
  body: number | 'eof' | 'none';
}

const DIGITS = /^[0-9]{1,15}$/;

export function cgiEnviron(env: Readonly<Record<string, string>>, base: CgiBase, errors: ErrorStream, input: InputStream): CgiRequest {
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(env)) {
    if (k === 'HTTP_CONTENT_TYPE' || k === 'HTTP_CONTENT_LENGTH' || k === '__proto__') continue;
    if (k.startsWith('wsgi.') || k.startsWith('tsgi.')) continue;
    m.set(k, v);
  }
  const method = m.get('REQUEST_METHOD') || 'GET';
  if (!isToken(method)) throw new CgiRequestError(`REQUEST_METHOD ${JSON.stringify(method)} is not a token`);
  if (m.get('CONTENT_TYPE') === '') m.delete('CONTENT_TYPE');
  const lengthText = m.get('CONTENT_LENGTH');
  let body: CgiRequest['body'] = 'none';
  if (lengthText === '') m.delete('CONTENT_LENGTH');
  else if (lengthText !== undefined) {
    if (!DIGITS.test(lengthText)) throw new CgiRequestError(`CONTENT_LENGTH ${JSON.stringify(lengthText)} is not 1 to 15 decimal digits`);
    body = Number(lengthText) > 0 ? Number(lengthText) : 'none';
  } else if (m.has('HTTP_TRANSFER_ENCODING')) body = 'eof';

  const https = m.get('HTTPS')?.toLowerCase();
  const scheme = https === 'on' || https === '1' || https === 'yes' || m.get('REQUEST_SCHEME') === 'https' ? 'https' : 'http';
  const environ: Environ = {
    REQUEST_METHOD: method,
    SCRIPT_NAME: '',
    PATH_INFO: '',
    SERVER_NAME: '',
    SERVER_PORT: '',
    SERVER_PROTOCOL: '',
    'wsgi.version': WSGI_VERSION,
    'wsgi.url_scheme': scheme,
    'wsgi.input': input,
    'wsgi.errors': errors,
    'wsgi.multithread': false,
    'wsgi.multiprocess': base.multiprocess,
    'wsgi.run_once': true,
  };
  for (const [k, v] of m) if (!Object.hasOwn(environ, k)) (environ as EnvironRecord)[k] = v; // the front end's names
  environ.SCRIPT_NAME = m.get('SCRIPT_NAME') ?? '';
  environ.PATH_INFO = m.get('PATH_INFO') ?? '';
  environ.QUERY_STRING = m.get('QUERY_STRING') ?? '';
  // PEP 3333: SERVER_NAME and SERVER_PORT "can never be empty strings".
  const host = m.get('HTTP_HOST')?.replace(/:\d*$/, '');
  environ.SERVER_NAME = m.get('SERVER_NAME') || host || 'localhost';
  environ.SERVER_PORT = m.get('SERVER_PORT') || (scheme === 'https' ? '443' : '80');
  environ.SERVER_PROTOCOL = m.get('SERVER_PROTOCOL') || 'HTTP/1.0';
  environ.SERVER_SOFTWARE = m.get('SERVER_SOFTWARE') || base.software;
  environ['wsgi.file_wrapper'] = base.fileWrapper;
  // The body ends at CONTENT_LENGTH or at stdin's end: either way it has an end we can report.
  environ['wsgi.input_terminated'] = true;
  return { environ, body };
}
