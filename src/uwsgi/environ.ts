// The environ from a uwsgi vars block. The front end (nginx, Apache, lighttpd, the uWSGI router) has
// already parsed the HTTP request: the vars are its CGI variables, made into the environ the HTTP door
// would build by environFromCgi (src/protocol/environ.ts: the duplicate-key rule, the defaults, the
// PATH_INFO derivation; research/protocols.md §1.5). What is the uwsgi door's own:
//   - a SCRIPT_NAME sent without PATH_INFO is a mount point (lighttpd sends the script-like path so);
//   - the body's framing: CONTENT_LENGTH bytes, else a chunked stream when HTTP_TRANSFER_ENCODING ends
//     in chunked (the uWSGI router forwards a chunked upload as it came), else none;
//   - the response's protocol: HTTP/1.0 for an HTTP/1.0 request, else HTTP/1.1.
//
// Malformed (ClientError(400): the door closes without calling the application, as uWSGI does with a
// packet it cannot use): what environFromCgi refuses, and an HTTP_TRANSFER_ENCODING without
// CONTENT_LENGTH whose last coding is not chunked.
import { ClientError } from '../errors.js';
import { environFromCgi, quote, type CgiRules, type Endpoints, type EnvironBase } from '../protocol/environ.js';
import type { Environ } from '../spec.js';

/** Per-server values every environ shares. */
export type UwsgiBase = EnvironBase;

/** The uwsgi door's reading of the variables. */
export const UWSGI_RULES: CgiRules = { scriptNameAlone: 'mount', frontEndSoftware: false, runOnce: false, rawUri: true };

/** How the body is framed on the connection after the vars. */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

export interface Request {
  environ: Environ;
  body: BodyFraming;
  /** The protocol of the response's status line: HTTP/1.0 for an HTTP/1.0 request, else HTTP/1.1. */
  responseProtocol: string;
}

function bodyFraming(environ: Environ): BodyFraming {
  const length = environ.CONTENT_LENGTH;
  if (length !== undefined) {
    const n = Number(length);
    return n === 0 ? { kind: 'none' } : { kind: 'length', length: n };
  }
  const te = environ.HTTP_TRANSFER_ENCODING as string | undefined;
  if (te === undefined) return { kind: 'none' };
  // nginx forwards HTTP_TRANSFER_ENCODING after de-chunking, but then CONTENT_LENGTH is set (above).
  const last = te.split(',').pop()!.trim().toLowerCase();
  if (last !== 'chunked') {
    throw new ClientError(400, `HTTP_TRANSFER_ENCODING ${quote(te)} without CONTENT_LENGTH: the body cannot be framed`, 'TSGI_ERR_ENVIRON_FRAMING');
  }
  return { kind: 'chunked' };
}

/**
 * Builds the environ; `conn` is the connection, read only for what the front end left out (SERVER_NAME,
 * SERVER_PORT, REMOTE_ADDR). Throws ClientError(400) when the vars cannot make a request.
 */
export function buildEnviron(vars: ReadonlyArray<readonly [string, string]>, base: UwsgiBase, conn: Endpoints): Request {
  const environ = environFromCgi(vars, base, UWSGI_RULES, conn);
  const body = bodyFraming(environ);
  return { environ, body, responseProtocol: environ.SERVER_PROTOCOL === 'HTTP/1.0' ? 'HTTP/1.0' : 'HTTP/1.1' };
}
