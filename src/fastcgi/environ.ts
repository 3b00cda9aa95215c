// The environ from FastCGI params. The web server has parsed the HTTP request: its params are CGI
// variables, made into the environ the HTTP door builds by environFromCgi (src/protocol/environ.ts: the
// duplicate-key rule, the defaults, the PATH_INFO derivation; research/protocols.md §2.3). What is the
// FastCGI door's own:
//   - a SCRIPT_NAME sent without PATH_INFO (and not a prefix of REQUEST_URI's path) is the whole path:
//     stock nginx `fastcgi_params` and Apache's `ProxyPass ... fcgi://` send it so, without splitting.
//     tsgi then serves the application at the root: PATH_INFO = that path, SCRIPT_NAME = "";
//   - the body: CONTENT_LENGTH bytes of STDIN, or the whole STDIN stream when there is no CONTENT_LENGTH;
//   - wsgi.errors may be the request's own (FCGI_STDERR, the `stderr` option).
//
// Malformed (ClientError(400): answered 400 without calling the application): what environFromCgi
// refuses (no or a bad REQUEST_METHOD, a bad CONTENT_LENGTH, two different HTTP_HOST or CONTENT_LENGTH).
import { environFromCgi, type CgiRules, type Endpoints, type EnvironBase } from '../protocol/environ.js';
import type { Environ, ErrorStream } from '../spec.js';

/** Per-server values every environ shares (`errors` is the server's log; a request may have its own). */
export type FastcgiBase = EnvironBase;

/** The FastCGI door's reading of the params. */
export const FASTCGI_RULES: CgiRules = { scriptNameAlone: 'path', frontEndSoftware: false, runOnce: false, rawUri: true };

export interface FastcgiRequest {
  environ: Environ;
  /** CONTENT_LENGTH as a number, or null: then the body is the whole STDIN stream. */
  length: number | null;
}

/**
 * Builds the environ; `conn` is the connection, read only for what the web server left out. `errors`
 * is the request's wsgi.errors when it is not the server's. Throws ClientError(400) when the params
 * cannot make a request.
 */
export function buildEnviron(pairs: ReadonlyArray<readonly [string, string]>, base: FastcgiBase, conn: Endpoints, errors?: ErrorStream): FastcgiRequest {
  const environ = environFromCgi(pairs, base, FASTCGI_RULES, conn);
  if (errors !== undefined) environ['wsgi.errors'] = errors;
  const length = environ.CONTENT_LENGTH;
  return { environ, length: length !== undefined ? Number(length) : null };
}
