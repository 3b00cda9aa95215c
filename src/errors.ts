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
  TSGI_ERR_REQUEST_LINE: { status: 400, what: 'the request line is malformed (RFC 9112 §3): not `method SP target SP HTTP/d.d CRLF`' },
  TSGI_ERR_METHOD: { status: 400, what: 'the method is not a token (RFC 9110 §9.1)' },
  TSGI_ERR_TARGET: { status: 400, what: 'the request-target is not in a form this method may use, or not a valid http(s) URI (RFC 9112 §3.2)' },
  TSGI_ERR_CONNECT: { status: 501, what: 'CONNECT: tsgi is an origin server, and a WSGI application cannot open a tunnel' },
  TSGI_ERR_FIELD: { status: 400, what: 'a header field line is malformed: obs-fold, a bare CR or LF, a control byte, whitespace before the colon (RFC 9112 §5)' },
  TSGI_ERR_HOST: { status: 400, what: 'Host is missing on HTTP/1.1, sent twice, or not a valid host[:port] (RFC 9112 §3.2)' },
  TSGI_ERR_CONTENT_LENGTH: { status: 400, what: 'Content-Length is not one field of 1 to 15 digits (RFC 9110 §8.6, RFC 9112 §6.3)' },
  TSGI_ERR_TRANSFER_ENCODING: { status: 400, what: 'Transfer-Encoding does not end in chunked, applies it twice, or comes with Content-Length (RFC 9112 §6.1, §6.3)' },
  TSGI_ERR_TRANSFER_CODING: { status: 501, what: 'a transfer coding other than chunked (gzip, chunked): the body is framed, but tsgi does not decode it (RFC 9112 §6.1)' },
  TSGI_ERR_EXPECTATION: { status: 417, what: 'an Expect other than 100-continue (RFC 9110 §10.1.1)' },

  // protocol: request bodies (src/protocol/chunked.ts, body.ts)

  // environ builders (src/protocol/environ.ts and the doors' CGI variables)
} as const satisfies Record<string, { status?: number; what: string }>;

export type ErrorCode = keyof typeof ERRORS;

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'TSGI_ERR_BAD_REQUEST',
  408: 'TSGI_ERR_REQUEST_TIMEOUT',
  413: 'TSGI_ERR_CONTENT_TOO_LARGE',
  414: 'TSGI_ERR_URI_TOO_LONG',
  417: 'TSGI_ERR_EXPECTATION',
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
