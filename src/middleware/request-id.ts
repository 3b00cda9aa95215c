/**
 * Request IDs: take the `X-Request-ID` the client or the proxy in front sent when it is a sane token,
 * or make one up, put it in the environ as `tsgi.request_id` (the access log picks it up from there)
 * and send it back in the response, so one ID follows a request through every log.
 * @module
 */
import type { Application, Environ, HeaderList, Middleware, StartResponse } from '../spec.js';
import { headerKey } from '../protocol/names.js';
import { findHeader } from './_body.js';

/** The environ key that holds the request's ID. */
export const REQUEST_ID_KEY = 'tsgi.request_id';

export interface RequestIdOptions {
  /**
   * The header read from the request and written on the response.
   * @default 'X-Request-ID'
   */
  header?: string;
  /**
   * Whether an ID from the request is used. Turn it off when clients reach the server directly and you
   * want IDs only of your own making.
   * @default true
   */
  trustIncoming?: boolean;
  /**
   * Makes a new ID.
   * @default crypto.randomUUID
   */
  generate?: () => string;
  /**
   * Whether an incoming ID is acceptable. The default takes 1 to 200 visible ASCII characters other
   * than `"`, `\` and `,` (a comma means the header came twice): enough for UUIDs, ULIDs, trace
   * headers like `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8`, and nothing that
   * could break a log line.
   */
  validate?: (id: string) => boolean;
  /**
   * Whether the ID is sent back in the response (unless the application set that header itself).
   * @default true
   */
  echo?: boolean;
}

/** The default check on an incoming ID. */
export function isValidRequestId(id: string): boolean {
  if (id.length === 0 || id.length > 200) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x22 || c === 0x5c || c === 0x2c) return false;
  }
  return true;
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/** The request ID of an environ that went through `requestId()`, or undefined. */
export function getRequestId(environ: Environ): string | undefined {
  const v = environ[REQUEST_ID_KEY];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Accepts or generates a request ID, stores it as `environ['tsgi.request_id']` and echoes it in the
 * response header. The body passes through untouched (no wrapper: zero cost per chunk).
 *
 * @example
 * export const application = compose(app, requestId(), accessLog({ format: 'json' }));
 */
export function requestId(options: RequestIdOptions = {}): Middleware {
  const header = options.header ?? 'X-Request-ID';
  const key = headerKey(header);
  if (key === null) throw new TypeError(`requestId(): header ${JSON.stringify(header)} cannot be read (a name with '_' never reaches the environ)`);
  const trustIncoming = options.trustIncoming ?? true;
  const generate = options.generate ?? randomId;
  const validate = options.validate ?? isValidRequestId;
  const echo = options.echo ?? true;

  return (app: Application): Application =>
    function requestId(environ: Environ, startResponse: StartResponse) {
      const incoming = trustIncoming ? environ[key] : undefined;
      const id = typeof incoming === 'string' && validate(incoming) ? incoming : generate();
      environ[REQUEST_ID_KEY] = id;
      if (!echo) return app(environ, startResponse);
      const start: StartResponse = (status, headers: HeaderList, excInfo) => {
        // A copy: an application may hand the same (module-level) list to every request. An error
        // response (excInfo) gets the header too.
        if (Array.isArray(headers) && findHeader(headers, header) === undefined) headers = [...headers, [header, id]];
        return startResponse(status, headers, excInfo);
      };
      return app(environ, start);
    };
}
