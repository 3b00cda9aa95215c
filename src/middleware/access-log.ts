/**
 * The access log: one line per request, written when the response ends (when the server calls the
 * body's close()), in Apache's common or combined format or as a JSON object per line. Lines are built
 * by encoders, never by filling in a format string: what the client sent is escaped (Apache's `\xhh`
 * rules, or JSON's), so a quote or a newline in a header cannot forge a field or a line.
 *
 * The encoders are the reusable part: `encodeCombined(entry)` and friends take an `AccessEntry` (the
 * environ, status, bytes, start time, duration, request id) and return the line without its newline,
 * for any logger (the CLI's prefork access log included).
 * @module
 */
import type { Application, Body, Chunk, Environ, ErrorStream, HeaderList, Middleware, StartResponse, Write } from '../spec.js';
import { quote } from '../util.js';
import { byteLength, callApp, closeOnce, env, isAsyncBody, statusCode, withClose } from './_body.js';
import { REQUEST_ID_KEY } from './request-id.js';

/** One request, as the encoders see it. */
export interface AccessEntry {
  /** The request's environ (read when the line is encoded, so later changes such as proxy fixes show). */
  environ: Environ;
  /** The response status code (500 when the application failed before answering). */
  status: number;
  /** Body bytes sent, or -1 when unknown. */
  bytes: number;
  /** When the request started, in ms since the epoch. */
  time: number;
  /** How long the request took, in ms (from the start to the end of the response). */
  duration?: number;
  /** The request ID; defaults to `environ['tsgi.request_id']`. */
  requestId?: string;
}

/** Turns an entry into one log line, without the newline. */
export type AccessEncoder = (entry: AccessEntry) => string;

export type AccessLogFormat = 'common' | 'combined' | 'json';

// --- Apache ---------------------------------------------------------------------------------------

const HEX = '0123456789abcdef';

/**
 * Apache's escaping of a quoted log field (mod_log_config): `"` and `\` get a backslash, control
 * characters and bytes above 0x7e become `\xhh`. Environ strings are native (one byte per char), so
 * a UTF-8 user agent is logged byte by byte, as Apache logs it; a char above U+00FF (text that did
 * not come from the wire) is escaped as its UTF-8 bytes.
 */
export function escapeField(s: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c <= 0xff) out += `\\x${HEX[c >> 4]}${HEX[c & 15]}`;
    else {
      const cp = s.codePointAt(i)!;
      for (const b of new TextEncoder().encode(String.fromCodePoint(cp))) out += `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
      if (cp > 0xffff) i++;
    }
    start = i + 1;
  }
  return start === 0 ? s : out + s.slice(start);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `[10/Oct/2000:13:55:36 -0700]`'s inside: Apache's `%t`, in local time with the UTC offset. */
export function clfDate(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return (
    `${two(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${two(d.getHours())}:${two(d.getMinutes())}:` +
    `${two(d.getSeconds())} ${off >= 0 ? '+' : '-'}${two(Math.floor(a / 60))}${two(a % 60)}`
  );
}

/** The request target as the client sent it: RAW_URI or REQUEST_URI when the door keeps it, else rebuilt. */
export function requestTarget(e: Environ): string {
  const raw = env(e, 'RAW_URI') || env(e, 'REQUEST_URI');
  if (raw) return raw;
  const path = env(e, 'SCRIPT_NAME') + env(e, 'PATH_INFO');
  let target: string;
  try {
    target = quote(path, "/;=,@:!$&'()*+");
  } catch {
    target = path; // not a native string: left for the encoder to escape
  }
  const q = env(e, 'QUERY_STRING');
  if (q) target += `?${q}`;
  return target || '/';
}

/** Apache's `%r`: `GET /path?q HTTP/1.1`. */
export function requestLine(e: Environ): string {
  return `${env(e, 'REQUEST_METHOD')} ${requestTarget(e)} ${env(e, 'SERVER_PROTOCOL')}`;
}

/** Apache common log format: `%h %l %u %t "%r" %>s %b`, then `%D` when the duration is known. */
export function encodeCommon(entry: AccessEntry): string {
  const e = entry.environ;
  const host = env(e, 'REMOTE_ADDR') || '-';
  const user = env(e, 'REMOTE_USER');
  const bytes = entry.bytes > 0 ? String(entry.bytes) : '-';
  return (
    `${escapeField(host)} - ${user ? escapeField(user) : '-'} [${clfDate(entry.time)}] ` +
    `"${escapeField(requestLine(e))}" ${entry.status} ${bytes}${micros(entry)}`
  );
}

/**
 * Apache's `%D` (the request's duration in whole microseconds) after the last field, when the entry
 * has a duration: `LogFormat "%h %l %u %t \"%r\" %>s %b %D"` in Apache's terms; log parsers that
 * read common or combined lines ignore a trailing field or take it as `%D`.
 */
function micros(entry: AccessEntry): string {
  return entry.duration === undefined ? '' : ` ${Math.round(entry.duration * 1000)}`;
}

/** Apache combined log format: common plus `"%{Referer}i" "%{User-agent}i"`, then `%D` when the duration is known. */
export function encodeCombined(entry: AccessEntry): string {
  const e = entry.environ;
  const referer = env(e, 'HTTP_REFERER');
  const agent = env(e, 'HTTP_USER_AGENT');
  const common = encodeCommon({ ...entry, duration: undefined });
  return `${common} "${referer ? escapeField(referer) : '-'}" "${agent ? escapeField(agent) : '-'}"${micros(entry)}`;
}

// --- JSON -----------------------------------------------------------------------------------------

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** A native string as text: its bytes decoded as UTF-8 when they are UTF-8, else the chars as they are. */
function text(native: string): string {
  // Pure ASCII (almost every value) needs no decoding.
  if (!/[\x80-\xff]/.test(native)) return native;
  if (/[^\x00-\xff]/.test(native)) return native;
  const bytes = new Uint8Array(native.length);
  for (let i = 0; i < native.length; i++) bytes[i] = native.charCodeAt(i);
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return native;
  }
}

const pid = (globalThis as { process?: { pid?: number } }).process?.pid;

/**
 * One JSON object per line, with OpenTelemetry's HTTP attribute names, typed (numbers are numbers) and
 * escaped by JSON.stringify. Absent values are left out. Fields: `time` (ISO 8601, UTC, request start),
 * `client.address`, `user.name`, `http.request.method`, `url.path` (as sent), `url.query`,
 * `url.scheme`, `network.protocol.version`, `http.response.status_code`, `http.response.body.size`,
 * `http.server.request.duration` (seconds), `http.request.header.referer`, `user_agent.original`,
 * `request.id`, `process.pid`.
 */
export function encodeJson(entry: AccessEntry): string {
  const e = entry.environ;
  const target = requestTarget(e);
  const q = target.indexOf('?');
  const record: Record<string, string | number> = { time: new Date(entry.time).toISOString() };
  const put = (key: string, value: string) => {
    if (value) record[key] = text(value);
  };
  put('client.address', env(e, 'REMOTE_ADDR'));
  put('user.name', env(e, 'REMOTE_USER'));
  put('http.request.method', env(e, 'REQUEST_METHOD'));
  put('url.path', q === -1 ? target : target.slice(0, q));
  put('url.query', q === -1 ? '' : target.slice(q + 1));
  put('url.scheme', env(e, 'wsgi.url_scheme'));
  put('network.protocol.version', env(e, 'SERVER_PROTOCOL').replace(/^HTTP\//, ''));
  record['http.response.status_code'] = entry.status;
  if (entry.bytes >= 0) record['http.response.body.size'] = entry.bytes;
  if (entry.duration !== undefined) record['http.server.request.duration'] = Math.round(entry.duration * 1000) / 1e6;
  put('http.request.header.referer', env(e, 'HTTP_REFERER'));
  put('user_agent.original', env(e, 'HTTP_USER_AGENT'));
  put('request.id', entry.requestId ?? env(e, REQUEST_ID_KEY));
  if (pid !== undefined) record['process.pid'] = pid;
  return JSON.stringify(record);
}

/** The encoders by name. */
export const encoders: Readonly<Record<AccessLogFormat, AccessEncoder>> = Object.freeze({
  common: encodeCommon,
  combined: encodeCombined,
  json: encodeJson,
});

/**
 * One line in `format` (default combined): the signature of the CLI's prefork access log
 * (src/prefork/access-log.ts), so it can switch to these encoders as they are.
 */
export function formatAccessLine(entry: AccessEntry, format: AccessLogFormat = 'combined'): string {
  return encoders[format](entry);
}

// --- the middleware ---------------------------------------------------------------------------------

export interface AccessLogOptions {
  /**
   * `'combined'`, `'common'`, `'json'`, or your own encoder `(entry) => string`.
   * @default 'combined'
   */
  format?: AccessLogFormat | AccessEncoder;
  /**
   * Where each line goes (without its newline).
   * @default a line to process.stdout
   */
  write?: (line: string) => void;
  /** Leave a request out of the log (health checks, say). */
  skip?: (entry: AccessEntry) => boolean;
}

type StdoutLike = { write(s: string): unknown };
function stdoutLine(line: string): void {
  const out = (globalThis as { process?: { stdout?: StdoutLike } }).process?.stdout;
  if (out) out.write(line + '\n');
  else console.log(line);
}

const now = (): number => globalThis.performance.now();

/**
 * Logs every request when its response ends: status, body bytes (what the wrapped application
 * produced: put `accessLog()` outside `compress()` to log compressed sizes), duration, request ID.
 * A failure before the response started is logged as 500, as the server answers it. Bodiless
 * responses (HEAD, 204, 304) log 0 bytes.
 *
 * @example
 * export const application = compose(app, requestId(), accessLog({ format: 'json' }));
 */
export function accessLog(options: AccessLogOptions = {}): Middleware {
  const format = options.format ?? 'combined';
  const encode: AccessEncoder = typeof format === 'function' ? format : encoders[format];
  if (typeof encode !== 'function') throw new TypeError(`accessLog(): unknown format ${JSON.stringify(format)}`);
  const write = options.write ?? stdoutLine;
  const skip = options.skip;

  return (app: Application): Application =>
    function accessLog(environ: Environ, startResponse: StartResponse) {
      const time = Date.now();
      const started = now();
      let status = 0;
      let bytes = 0;
      let logged = false;
      const done = () => {
        if (logged) return;
        logged = true;
        const code = status || 500; // no status at all: the server answers its 500
        const bodiless = environ.REQUEST_METHOD === 'HEAD' || code === 204 || code === 304 || code < 200;
        const entry: AccessEntry = { environ, status: code, bytes: bodiless ? 0 : bytes, time, duration: now() - started };
        const id = environ[REQUEST_ID_KEY];
        if (typeof id === 'string') entry.requestId = id;
        try {
          if (skip?.(entry)) return;
          write(encode(entry));
        } catch (err) {
          // A broken log must not break the response; say so where the server logs errors.
          report(environ['wsgi.errors'], err);
        }
      };
      const start: StartResponse = (s, headers: HeaderList, excInfo) => {
        const w = startResponse(s, headers, excInfo);
        status = statusCode(s);
        const counted: Write = (chunk: Chunk) => {
          const r = w(chunk); // throws for a bad chunk or one past Content-Length: not sent, not counted
          bytes += byteLength(chunk);
          return r;
        };
        return counted;
      };
      const fail = (err: unknown): never => {
        // The application threw or rejected: there is no body to close, so the line is written now.
        // The server answers 500, unless write() had sent the headers already (then it cuts the response).
        if (bytes === 0) status = 500;
        done();
        throw err;
      };
      return callApp(
        app,
        environ,
        start,
        (body) => {
          if (body === null || typeof body !== 'object') {
            // Not a body: the engine answers 500 and has nothing to close().
            status = 500;
            done();
            return body;
          }
          return counting(
            body,
            (n) => (bytes += n),
            (sentAny) => {
              // The body failed: a 500 if nothing went out yet, else the response is cut short.
              if (!sentAny) status = 500;
            },
            done,
          );
        },
        fail,
      );
    };
}

function report(errors: ErrorStream | undefined, err: unknown): void {
  try {
    errors?.write(`accessLog: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  } catch {
    /* nowhere left to report */
  }
}

/**
 * The body, counted: each chunk passes through unchanged (and at once), its size added up; the line
 * is written when the server closes the body, after the wrapped body's own close().
 */
function counting(body: Body, add: (n: number) => void, failed: (sentAny: boolean) => void, end: () => void): Body {
  const closeInner = closeOnce(body);
  const close = () => {
    let r: void | Promise<void>;
    try {
      r = closeInner();
    } catch (err) {
      end();
      throw err;
    }
    if (r && typeof r.then === 'function') return r.then(end, (err) => (end(), Promise.reject(err)));
    end();
  };
  if (Array.isArray(body)) {
    // An array stays an array, so the engine still sends it in one piece with its Content-Length.
    let n = 0;
    for (const c of body as Chunk[]) if (typeof c === 'string' || c instanceof Uint8Array) n += byteLength(c);
    add(n);
    return withClose((body as Chunk[]).slice(), close);
  }
  let sentAny = false;
  const count = (chunk: Chunk) => {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return;
    const n = byteLength(chunk);
    if (n > 0) sentAny = true;
    add(n);
  };
  if (isAsyncBody(body)) {
    const gen = (async function* () {
      try {
        for await (const chunk of body as AsyncIterable<Chunk>) {
          count(chunk);
          yield chunk;
        }
      } catch (err) {
        failed(sentAny);
        throw err;
      }
    })();
    return withClose(gen, close);
  }
  if (typeof (body as Iterable<Chunk>)[Symbol.iterator] !== 'function') {
    failed(false); // the engine refuses it with a 500 and will not close it
    end();
    return body;
  }
  const gen = (function* () {
    try {
      for (const chunk of body as Iterable<Chunk>) {
        count(chunk);
        yield chunk;
      }
    } catch (err) {
      failed(sentAny);
      throw err;
    }
  })();
  return withClose(gen, close);
}
