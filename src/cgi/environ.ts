// The environ of a CGI request (RFC 3875 §4.1, research/protocols.md §3): the process environment
// *is* the request, so all of it goes in, as wsgiref's CGIHandler does (read_environ()), made into the
// environ the other doors build by environFromCgi (src/protocol/environ.ts). What is the CGI door's own:
//   - values are native strings (the caller decodes the environment's bytes as latin-1);
//   - REQUEST_METHOD defaults to GET, so that a script run by hand from a shell still answers (as
//     Python's CGI scripts do); the other defaults are environFromCgi's (SERVER_NAME localhost, ...);
//   - SCRIPT_NAME is the script's path: sent without PATH_INFO, it is a mount point (as in uwsgi);
//   - SERVER_SOFTWARE is the web server's (it is the CGI server); tsgi's only when there is none;
//   - wsgi.run_once is true and wsgi.multiprocess too (one process per request).
// The body: CONTENT_LENGTH bytes of stdin; without CONTENT_LENGTH, stdin to its end when the request
// was chunked (Apache's mod_cgi de-chunks but sets no CONTENT_LENGTH: apache-cgi-chunked.json);
// otherwise no body.
import { environFromCgi, type CgiRules, type EnvironBase } from '../protocol/environ.js';
import type { Environ } from '../spec.js';

export type CgiBase = EnvironBase;

/** The CGI door's reading of the environment. */
export const CGI_RULES: CgiRules = { scriptNameAlone: 'mount', defaultMethod: 'GET', frontEndSoftware: true, runOnce: true, rawUri: false };

export interface CgiRequest {
  environ: Environ;
  /** The body: a length, 'eof' (read stdin to its end) or 'none'. */
  body: number | 'eof' | 'none';
}

/** Builds the environ; throws ClientError(400) when the environment cannot make a request. */
export function cgiEnviron(env: Readonly<Record<string, string>>, base: CgiBase): CgiRequest {
  const environ = environFromCgi(Object.entries(env), base, CGI_RULES);
  const length = environ.CONTENT_LENGTH;
  let body: CgiRequest['body'] = 'none';
  if (length !== undefined) body = Number(length) > 0 ? Number(length) : 'none';
  else if (environ.HTTP_TRANSFER_ENCODING !== undefined) body = 'eof';
  return { environ, body };
}
