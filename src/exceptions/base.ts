/**
 * `HTTPException`: an error that is also an HTTP response, as Werkzeug's `werkzeug.exceptions`.
 * Throw one anywhere below a handler that knows about it (`routes()`, `dispatch()`, or your own
 * `try`/`catch` that calls `exc.asApp()`), and the client gets its status, its headers and a small
 * body: HTML by default, JSON when the request's `Accept` prefers `application/json`.
 *
 * Why `exc.asApp()` and not a callable exception (Werkzeug's `exc(environ, start_response)`): a
 * JavaScript object can only be called if it is a function, and a function cannot also be a real
 * `Error` subclass instance with a stack and `instanceof` working, short of returning a function from
 * the constructor and re-pointing its prototype. That trick breaks `Error.captureStackTrace`, JSON
 * logging and structural typing. So the exception stays an `Error`, and `asApp()` gives the TSGI
 * application that renders it.
 * @module
 */
import type { Application, Environ, HeaderList, StartResponse, Status } from '../spec.js';
// The one reason-phrase table of the project (RFC 9110 names); the lead is folding the others into it.
import { reasonPhrase } from '../protocol/status.js';
import { parseQualityList } from '../protocol/accept.js';

/** What every HTTPException constructor takes after its description. */
export interface HTTPExceptionOptions {
  /** Extra response headers (e.g. `WWW-Authenticate`), sent after Content-Type and Content-Length. */
  headers?: HeaderList;
  /** The error that led to this one (shown in logs, never sent to the client). */
  cause?: unknown;
}

/** A response as `HTTPException.toResponse()` renders it. */
export interface RenderedResponse {
  status: Status;
  headers: HeaderList;
  body: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * The quality the `Accept` header gives `type` (e.g. `application/json`): the q of the most specific
 * range that matches it (`type/sub` over `type/*` over `*` + `/*`), RFC 9110 §12.5.1; 0 when none does.
 */
export function acceptQuality(accept: string, type: string): number {
  const [major] = type.split('/');
  let best = -1;
  let specificity = -1;
  for (const { name, q } of parseQualityList(accept)) {
    const s = name === type ? 2 : name === `${major}/*` ? 1 : name === '*/*' ? 0 : -1;
    if (s > specificity) {
      specificity = s;
      best = q;
    }
  }
  return best < 0 ? 0 : best;
}

/**
 * Whether a request with this `Accept` header wants JSON rather than HTML: `application/json` must
 * rank strictly above `text/html`. So browsers (`text/html,…,*\/*;q=0.8`) and curl (`*\/*`) get HTML,
 * `fetch(url, { headers: { Accept: 'application/json' } })` gets JSON.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  return acceptQuality(accept, 'application/json') > acceptQuality(accept, 'text/html');
}

/**
 * The base of every HTTP error. Subclasses fix `code` and a default `description` as statics;
 * `new HTTPException(description, { code })` makes one for a status that has no class (402, 421…).
 */
export class HTTPException extends Error {
  /** The status code of this class (subclasses override it). */
  static readonly code: number = 500;
  /** The text a client sees when none is given. */
  static readonly description: string = 'The server encountered an error.';

  /** The HTTP status code, e.g. 404. */
  readonly code: number;
  /** Shown to the client, HTML-escaped in the HTML body. Plain text. */
  description: string;
  /** Headers sent with the response besides Content-Type and Content-Length (e.g. Allow, Retry-After). */
  headers: HeaderList;

  constructor(description?: string, options: HTTPExceptionOptions & { code?: number } = {}) {
    const ctor = new.target as typeof HTTPException;
    const code = options.code ?? ctor.code;
    if (!Number.isInteger(code) || code < 100 || code > 999) throw new RangeError(`HTTPException: invalid status code ${code}`);
    const text = description ?? ctor.description;
    super(`${code} ${reasonPhrase(code)}: ${text}`, options.cause === undefined ? undefined : { cause: options.cause });
    // `name` stays the class name (JavaScript's convention: stack traces read `NotFound: 404 Not Found: …`);
    // Werkzeug's `e.name` ("Not Found") is `reason` here.
    this.name = ctor.name;
    this.code = code;
    this.description = text;
    this.headers = options.headers ? options.headers.map(([k, v]) => [k, v]) : [];
  }

  /** The reason phrase of `code` ("Not Found"): Werkzeug's `HTTPException.name`. */
  get reason(): string {
    return reasonPhrase(this.code);
  }

  /** The status line for startResponse: `404 Not Found`. */
  get status(): Status {
    return `${this.code} ${this.reason}`;
  }

  /** The HTML body: a title, a heading and the escaped description (newlines become `<br>`). */
  htmlBody(): string {
    const desc = escapeHtml(this.description).replace(/\r?\n/g, '<br>\n');
    return `<!doctype html>\n<html lang="en">\n<title>${escapeHtml(this.status)}</title>\n` + `<h1>${escapeHtml(this.reason)}</h1>\n<p>${desc}</p>\n`;
  }

  /** The JSON body: `{"code":404,"name":"Not Found","description":"…"}`. */
  jsonBody(): string {
    return JSON.stringify({ code: this.code, name: this.reason, description: this.description });
  }

  /** The status, headers and body this exception answers `environ` with (JSON or HTML by `Accept`). */
  toResponse(environ?: Environ): RenderedResponse {
    const accept = environ?.['HTTP_ACCEPT'];
    const json = prefersJson(typeof accept === 'string' ? accept : undefined);
    const body = json ? this.jsonBody() : this.htmlBody();
    const headers: HeaderList = [
      ['Content-Type', json ? 'application/json' : 'text/html; charset=utf-8'],
      ['Content-Length', String(new TextEncoder().encode(body).length)],
      // The body depends on Accept, so a cache must key on it.
      ['Vary', 'Accept'],
      ...this.headers.map(([k, v]): [string, string] => [k, v]),
    ];
    return { status: this.status, headers, body };
  }

  /** Answers the request with this exception: the TSGI application form of Werkzeug's `exc(environ, start_response)`. */
  respond(environ: Environ, startResponse: StartResponse): string[] {
    const { status, headers, body } = this.toResponse(environ);
    startResponse(status, headers);
    return [body];
  }

  /** This exception as a TSGI application (it can answer any number of requests). */
  asApp(): Application {
    return (environ, startResponse) => this.respond(environ, startResponse);
  }
}
