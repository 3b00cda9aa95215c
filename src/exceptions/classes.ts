/**
 * One HTTPException subclass per HTTP error status, with Werkzeug's names, plus `abort()` and the
 * redirect the router throws for strict slashes. Statuses with extra headers take them as options:
 * MethodNotAllowed (Allow), Unauthorized (WWW-Authenticate), RangeNotSatisfiable (Content-Range),
 * TooManyRequests and ServiceUnavailable (Retry-After).
 * @module
 */
import type { HeaderList } from '../spec.js';
import { formatDateTime } from '../util.js';
import { HTTPException, escapeHtml, type HTTPExceptionOptions } from './base.js';

// --- 4xx ------------------------------------------------------------------------------------------

export class BadRequest extends HTTPException {
  static override readonly code: number = 400;
  static override readonly description: string = 'The browser (or proxy) sent a request that this server could not understand.';
}

export class Unauthorized extends HTTPException {
  static override readonly code: number = 401;
  static override readonly description: string =
    'The server could not verify that you are authorized to access the URL requested. ' +
    'You either supplied the wrong credentials or your browser does not know how to supply them.';

  /** `wwwAuthenticate`: one challenge or several (`Basic realm="x"`), each sent as a WWW-Authenticate header. */
  constructor(description?: string, options: HTTPExceptionOptions & { wwwAuthenticate?: string | string[] } = {}) {
    super(description, options);
    const challenges = options.wwwAuthenticate === undefined ? [] : ([] as string[]).concat(options.wwwAuthenticate);
    for (const c of challenges) this.headers.push(['WWW-Authenticate', c]);
  }
}

export class Forbidden extends HTTPException {
  static override readonly code: number = 403;
  static override readonly description: string =
    "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.";
}

export class NotFound extends HTTPException {
  static override readonly code: number = 404;
  static override readonly description: string =
    'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';
}

export class MethodNotAllowed extends HTTPException {
  static override readonly code: number = 405;
  static override readonly description: string = 'The method is not allowed for the requested URL.';

  /** The methods the resource allows, sent as `Allow` (RFC 9110 §15.5.6 requires it on a 405). */
  readonly validMethods: string[];

  constructor(validMethods: Iterable<string> = [], description?: string, options: HTTPExceptionOptions = {}) {
    super(description, options);
    this.validMethods = [...validMethods].map((m) => m.toUpperCase());
    // An empty Allow is legal and means "nothing is allowed right now".
    this.headers.push(['Allow', this.validMethods.join(', ')]);
  }
}

export class NotAcceptable extends HTTPException {
  static override readonly code: number = 406;
  static override readonly description: string =
    'The resource identified by the request is only capable of generating response entities which have ' +
    'content characteristics not acceptable according to the accept headers sent in the request.';
}

export class RequestTimeout extends HTTPException {
  static override readonly code: number = 408;
  static override readonly description: string =
    "The server closed the network connection because the browser didn't finish the request within the specified time.";
}

export class Conflict extends HTTPException {
  static override readonly code: number = 409;
  static override readonly description: string =
    'A conflict happened while processing the request. The resource might have been modified while the request was being processed.';
}

export class Gone extends HTTPException {
  static override readonly code: number = 410;
  static override readonly description: string =
    'The requested URL is no longer available on this server and there is no forwarding address. ' +
    'If you followed a link from a foreign page, please contact the author of this page.';
}

export class LengthRequired extends HTTPException {
  static override readonly code: number = 411;
  static override readonly description: string = 'A request with this method requires a valid Content-Length header.';
}

export class PreconditionFailed extends HTTPException {
  static override readonly code: number = 412;
  static override readonly description: string = 'The precondition on the request for the URL failed positive evaluation.';
}

export class RequestEntityTooLarge extends HTTPException {
  static override readonly code: number = 413;
  static override readonly description: string = 'The data value transmitted exceeds the capacity limit.';
}

export class RequestURITooLarge extends HTTPException {
  static override readonly code: number = 414;
  static override readonly description: string = 'The length of the requested URL exceeds the capacity limit for this server. The request cannot be processed.';
}

export class UnsupportedMediaType extends HTTPException {
  static override readonly code: number = 415;
  static override readonly description: string = 'The server does not support the media type transmitted in the request.';
}

export class RangeNotSatisfiable extends HTTPException {
  static override readonly code: number = 416;
  static override readonly description: string = 'The server cannot provide the requested range.';

  /** `length`: the representation's size, sent as `Content-Range: bytes *\/length` (RFC 9110 §14.4). */
  constructor(description?: string, options: HTTPExceptionOptions & { length?: number; units?: string } = {}) {
    super(description, options);
    if (options.length !== undefined) this.headers.push(['Content-Range', `${options.units ?? 'bytes'} */${options.length}`]);
  }
}

export class ExpectationFailed extends HTTPException {
  static override readonly code: number = 417;
  static override readonly description: string = 'The server could not meet the requirements of the Expect header';
}

export class ImATeapot extends HTTPException {
  static override readonly code: number = 418;
  static override readonly description: string = 'This server is a teapot, not a coffee machine';
}

export class UnprocessableEntity extends HTTPException {
  static override readonly code: number = 422;
  static override readonly description: string = 'The request was well-formed but was unable to be followed due to semantic errors.';
}

export class Locked extends HTTPException {
  static override readonly code: number = 423;
  static override readonly description: string = 'The resource that is being accessed is locked.';
}

export class FailedDependency extends HTTPException {
  static override readonly code: number = 424;
  static override readonly description: string =
    'The method could not be performed on the resource because the requested action depended on another action and that action failed.';
}

export class PreconditionRequired extends HTTPException {
  static override readonly code: number = 428;
  static override readonly description: string = 'This request is required to be conditional; try using "If-Match" or "If-Unmodified-Since".';
}

/** Seconds (an integer) or a date, as Retry-After takes them (RFC 9110 §10.2.3). */
export type RetryAfter = number | Date;

function retryAfterValue(v: RetryAfter): string {
  if (v instanceof Date) return formatDateTime(v.getTime() / 1000);
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`retryAfter must be a whole number of seconds or a Date (got ${v})`);
  return String(v);
}

/** Options of the statuses that can say when to come back. */
export interface RetryOptions extends HTTPExceptionOptions {
  retryAfter?: RetryAfter;
}

export class TooManyRequests extends HTTPException {
  static override readonly code: number = 429;
  static override readonly description: string = 'This user has exceeded an allotted request count. Try again later.';

  constructor(description?: string, options: RetryOptions = {}) {
    super(description, options);
    if (options.retryAfter !== undefined) this.headers.push(['Retry-After', retryAfterValue(options.retryAfter)]);
  }
}

export class RequestHeaderFieldsTooLarge extends HTTPException {
  static override readonly code: number = 431;
  static override readonly description: string = 'One or more header fields exceeds the maximum size.';
}

export class UnavailableForLegalReasons extends HTTPException {
  static override readonly code: number = 451;
  static override readonly description: string = 'Unavailable for legal reasons.';
}

// --- 5xx ------------------------------------------------------------------------------------------

export class InternalServerError extends HTTPException {
  static override readonly code: number = 500;
  static override readonly description: string =
    'The server encountered an internal error and was unable to complete your request. ' +
    'Either the server is overloaded or there is an error in the application.';
}

export class NotImplemented extends HTTPException {
  static override readonly code: number = 501;
  static override readonly description: string = 'The server does not support the action requested by the browser.';
}

export class BadGateway extends HTTPException {
  static override readonly code: number = 502;
  static override readonly description: string = 'The proxy server received an invalid response from an upstream server.';
}

export class ServiceUnavailable extends HTTPException {
  static override readonly code: number = 503;
  static override readonly description: string =
    'The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.';

  constructor(description?: string, options: RetryOptions = {}) {
    super(description, options);
    if (options.retryAfter !== undefined) this.headers.push(['Retry-After', retryAfterValue(options.retryAfter)]);
  }
}

export class GatewayTimeout extends HTTPException {
  static override readonly code: number = 504;
  static override readonly description: string = 'The connection to an upstream server timed out.';
}

export class HTTPVersionNotSupported extends HTTPException {
  static override readonly code: number = 505;
  static override readonly description: string = 'The server does not support the HTTP protocol version used in the request.';
}

// --- redirects ------------------------------------------------------------------------------------

/** The redirect statuses RequestRedirect may carry. */
export type RedirectCode = 301 | 302 | 303 | 307 | 308;

/**
 * A redirect as an exception: the router throws it when a rule ending in `/` is requested without
 * the slash (strict slashes). 308 by default, which keeps the method and body (RFC 9110 §15.4.9), so
 * a POST to `/items` reaches `/items/` as a POST; 301, 302, 303 and 307 can be chosen.
 */
export class RequestRedirect extends HTTPException {
  static override readonly code: number = 308;
  static override readonly description: string = 'The resource has moved.';

  /** Where to go: an absolute URL or an absolute path, already percent-encoded (ASCII). */
  readonly newUrl: string;

  constructor(newUrl: string, code: RedirectCode = 308, options: HTTPExceptionOptions = {}) {
    if (![301, 302, 303, 307, 308].includes(code)) throw new RangeError(`RequestRedirect: ${code} is not a redirect status`);
    // Location is a header value: a raw newline or a non-ASCII char here would be a header-injection bug upstream.
    if (/[^\x21-\x7e]/.test(newUrl)) throw new TypeError(`RequestRedirect: the URL must be percent-encoded ASCII (got ${JSON.stringify(newUrl)})`);
    super(`Redirecting to ${newUrl}`, { ...options, code });
    this.newUrl = newUrl;
    this.headers.push(['Location', newUrl]);
  }

  override htmlBody(): string {
    const url = escapeHtml(this.newUrl);
    return (
      `<!doctype html>\n<html lang="en">\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n` +
      `<p>You should be redirected automatically to the target URL: <a href="${url}">${url}</a>. If not, click the link.</p>\n`
    );
  }
}

// --- abort ------------------------------------------------------------------------------------------

type ErrorClass = new (description?: string) => HTTPException;

/** Status → class, for abort(). */
export const EXCEPTIONS: ReadonlyMap<number, ErrorClass> = new Map<number, ErrorClass>(
  [
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    RequestTimeout,
    Conflict,
    Gone,
    LengthRequired,
    PreconditionFailed,
    RequestEntityTooLarge,
    RequestURITooLarge,
    UnsupportedMediaType,
    RangeNotSatisfiable,
    ExpectationFailed,
    ImATeapot,
    UnprocessableEntity,
    Locked,
    FailedDependency,
    PreconditionRequired,
    TooManyRequests,
    RequestHeaderFieldsTooLarge,
    UnavailableForLegalReasons,
    InternalServerError,
    NotImplemented,
    BadGateway,
    ServiceUnavailable,
    GatewayTimeout,
    HTTPVersionNotSupported,
  ].map((cls): [number, ErrorClass] => [cls.code, cls as unknown as ErrorClass]),
);

/**
 * Throws the HTTPException for `status` (`abort(404)` throws a NotFound), with `description` if
 * given. An error status without a class of its own (402, 421, 507…) throws a plain HTTPException
 * carrying that code; anything outside 400–599 is a programming error (RangeError).
 */
export function abort(status: number, description?: string, options: { headers?: HeaderList } = {}): never {
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError(`abort(): ${status} is not an HTTP error status (400-599)`);
  }
  const extra = (options.headers ?? []).map(([k, v]): [string, string] => [k, v]);
  const cls = EXCEPTIONS.get(status);
  let exc: HTTPException;
  if (cls === undefined) exc = new HTTPException(description, { code: status });
  else if (status === 405) {
    // MethodNotAllowed takes the allowed methods first: abort(405, d, { headers: [['Allow', 'GET, HEAD']] }) gives them.
    const allow = extra.filter(([k]) => k.toLowerCase() === 'allow');
    const methods = allow.flatMap(([, v]) =>
      v
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    );
    exc = new MethodNotAllowed(methods, description, { headers: extra.filter(([k]) => k.toLowerCase() !== 'allow') });
    extra.length = 0;
  } else exc = new cls(description);
  exc.headers.push(...extra);
  throw exc;
}
