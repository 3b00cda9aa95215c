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
  TSGI_ERR_FIELD: {
    status: 400,
    what: 'a header field line is malformed: obs-fold, a bare CR or LF, a control byte, whitespace before the colon (RFC 9112 §5)',
  },
  TSGI_ERR_HOST: { status: 400, what: 'Host is missing on HTTP/1.1, sent twice, or not a valid host[:port] (RFC 9112 §3.2)' },
  TSGI_ERR_CONTENT_LENGTH: { status: 400, what: 'Content-Length is not one field of 1 to 15 digits (RFC 9110 §8.6, RFC 9112 §6.3)' },
  TSGI_ERR_TRANSFER_ENCODING: {
    status: 400,
    what: 'Transfer-Encoding does not end in chunked, applies it twice, or comes with Content-Length (RFC 9112 §6.1, §6.3)',
  },
  TSGI_ERR_TRANSFER_CODING: {
    status: 501,
    what: 'a transfer coding other than chunked (gzip, chunked): the body is framed, but tsgi does not decode it (RFC 9112 §6.1)',
  },
  TSGI_ERR_EXPECTATION: { status: 417, what: 'an Expect other than 100-continue (RFC 9110 §10.1.1)' },

  // protocol: request bodies (src/protocol/chunked.ts, body.ts)
  TSGI_ERR_CHUNKED: { status: 400, what: 'the chunked request body is malformed or passes a limit of the decoder' },
  TSGI_ERR_BODY_INCOMPLETE: { status: 400, what: 'the request body ended before its end (short of its length, or the peer left)' },
  TSGI_ERR_BODY_TIMEOUT: { status: 408, what: 'no request body data arrived within the body timeout' },

  // environ builders (src/protocol/environ.ts and the doors' CGI variables)
  TSGI_ERR_ENVIRON_DUPLICATE: {
    status: 400,
    what: 'two Host or two Content-Length fields (from a CGI front end: two different HTTP_HOST or CONTENT_LENGTH values)',
  },
  TSGI_ERR_ENVIRON_METHOD: { status: 400, what: 'the CGI variables have no REQUEST_METHOD, or one that is not a token' },
  TSGI_ERR_ENVIRON_LENGTH: { status: 400, what: 'CONTENT_LENGTH is not 1 to 15 decimal digits' },
  TSGI_ERR_ENVIRON_FRAMING: { status: 400, what: 'a transfer coding other than chunked and no CONTENT_LENGTH: the body cannot be framed' },

  // protocol: uwsgi packets and FastCGI records (src/protocol/uwsgi.ts, fastcgi.ts). The connection cannot
  // go on: the door logs one line and closes it without calling the application (PacketError.kind is finer).
  TSGI_ERR_UWSGI_FOREIGN: { what: 'HTTP or TLS arrived on a uwsgi port, not a uwsgi packet' },
  TSGI_ERR_UWSGI_MODIFIER: { what: 'a uwsgi packet with a modifier1 other than 0 (only WSGI requests are served)' },
  TSGI_ERR_UWSGI_TOO_BIG: { what: "a uwsgi packet's vars block is larger than the buffer size" },
  TSGI_ERR_UWSGI_MALFORMED: { what: 'a uwsgi vars block that is empty, has an empty key, or a length that runs past its end' },
  TSGI_ERR_UWSGI_TRUNCATED: { what: 'the connection ended (or the header timeout passed) before the uwsgi packet was complete' },
  TSGI_ERR_FASTCGI_PROTOCOL: { what: 'the byte stream is not FastCGI: a version other than 1, a malformed name-value pair, a record cut short' },

  // process and configuration (src/server/, src/settings/): the CLI prints the message and exits
  TSGI_ERR_BIND: { what: 'a --bind address cannot be parsed' },
  TSGI_ERR_LISTEN: { what: 'an address cannot be listened on: in use, a live Unix socket, not a socket, a bad file descriptor, an unresolvable host' },
  TSGI_ERR_APP_LOAD: { what: 'the application module is missing, fails to load, or exports no application function' },
  TSGI_ERR_SETTING: { what: 'a setting has a bad value or an unknown name, or the config file cannot be read' },

  // application contract (src/runner/checks.ts, handler.ts: what startResponse and the body must be, docs/SPEC.md)
  TSGI_ERR_APP_CONTRACT: { what: 'the application broke the TSGI contract (the message names the rule)' },
  TSGI_ERR_APP_STATUS: { what: "startResponse was given a status that is not 'NNN Reason', is interim (1xx), or has control or non-latin-1 characters" },
  TSGI_ERR_APP_HEADERS: { what: 'startResponse was given a malformed header, a hop-by-hop header, or a bad or forbidden Content-Length' },
  TSGI_ERR_APP_START_RESPONSE: { what: 'startResponse was called twice without excInfo, or not before the first body data or the end of the body' },
  TSGI_ERR_APP_BODY: { what: 'the body is not an iterable of chunks, a chunk is not a Uint8Array or string, or write() went past Content-Length' },
  TSGI_ERR_VALIDATION: { what: 'validate() found the contract broken; err.check names the rule (docs/validate.md)' },
  TSGI_WARN_VALIDATION: { what: 'validate() found something suspicious but allowed (a WSGIWarning, reported, never thrown)' },

  TSGI_ERR_TYPESCRIPT: { what: 'a TypeScript module needs tsx (this Node cannot strip its types, or stripping cannot handle it) and tsx is not installed' },

  // the application layer (src/routing/, src/wrappers/)
  TSGI_ERR_ROUTE_VALUE: { what: 'a routing converter refused a value (the rule does not match, or cannot be built with it)' },
  TSGI_ERR_ROUTE_BUILD: { what: 'a URL cannot be built: no rule for the endpoint, or a value is missing or does not convert' },
  TSGI_ERR_REQUEST_CLOSED: { what: "the request ended (its body's close() ran, or the client went away) while its body was being parsed" },
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
