// The errors tsgi raises, in one catalogue (fastify's lib/errors.js and undici's core/errors.js are the
// models): every error carries a stable `code` from ERRORS, so callers can switch on it and docs/errors.md
// can list them all (test/errors.test.ts holds the two together). A request the server refuses is always a
// ClientError with the status to answer: the parsers, body readers and environ builders of every door throw
// that one class, and every door answers it the same way.

/** What each code means and, for refusals, the status the client gets. */
export const ERRORS = {
  // Generic refusals, one per status, for a door with nothing more precise to say.
  TSGI_ERR_BAD_REQUEST: { status: 400, what: 'the request is malformed' },
  TSGI_ERR_REQUEST_TIMEOUT: { status: 408, what: 'the request (head or body) did not arrive in time' },
  TSGI_ERR_CONTENT_TOO_LARGE: { status: 413, what: 'the request body is larger than the limit' },
  TSGI_ERR_URI_TOO_LONG: { status: 414, what: 'the request target is longer than the limit' },
  TSGI_ERR_HEADERS_TOO_LARGE: { status: 431, what: 'the request head is larger than the limit' },
  TSGI_ERR_NOT_IMPLEMENTED: { status: 501, what: 'the request asks for something the server does not implement' },
  TSGI_ERR_VERSION: { status: 505, what: 'the HTTP major version is not 1' },

  // protocol: request head, target and framing (src/protocol/head.ts, target.ts, framing.ts, fields.ts)

  // protocol: request bodies (src/protocol/chunked.ts, body.ts)
  TSGI_ERR_CHUNKED: { status: 400, what: 'the chunked request body is malformed or passes a limit of the decoder' },
  TSGI_ERR_BODY_INCOMPLETE: { status: 400, what: 'the request body ended before its end (short of its length, or the peer left)' },
  TSGI_ERR_BODY_TIMEOUT: { status: 408, what: 'no request body data arrived within the body timeout' },

  // environ builders (src/protocol/environ.ts and the doors' CGI variables)
} as const satisfies Record<string, { status?: number; what: string }>;

export type ErrorCode = keyof typeof ERRORS;

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'TSGI_ERR_BAD_REQUEST',
  408: 'TSGI_ERR_REQUEST_TIMEOUT',
  413: 'TSGI_ERR_CONTENT_TOO_LARGE',
  414: 'TSGI_ERR_URI_TOO_LONG',
  431: 'TSGI_ERR_HEADERS_TOO_LARGE',
  501: 'TSGI_ERR_NOT_IMPLEMENTED',
  505: 'TSGI_ERR_VERSION',
};

/** The base of tsgi's own errors: `code` names the entry in ERRORS. */
export class TsgiError extends Error {
  override name = 'TsgiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Refuse this request with `status`: the request itself is at fault (a malformed head, a body that
 * stalls, breaks off or is malformed, CGI variables that cannot be a request). A door answers it with
 * `status` (never a 500) and does not reuse the connection; when an application lets one through from
 * `wsgi.input`, the runner answers it the same way.
 */
export class ClientError extends TsgiError {
  override name = 'ClientError';
  constructor(
    readonly status: number,
    message: string,
    code: ErrorCode = BY_STATUS[status] ?? 'TSGI_ERR_BAD_REQUEST',
  ) {
    super(code, message);
  }
}
