/**
 * A development error page: when the application throws (synchronously, by a rejected Promise, or
 * while its body is iterated, before any of it went out), answer 500 with the error, its `cause`
 * chain and stack, and the request, as HTML for a browser or plain text for curl, by `Accept`.
 * Only when enabled: by default only when NODE_ENV is `development`, since a stack trace tells an
 * attacker a lot. Disabled, the middleware returns the application itself: nothing changes.
 * @module
 */
import type { Application, Body, Chunk, Environ, HeaderList, Middleware, StartResponse, Write } from '../spec.js';
import { byteLength, callApp, closeOnce, env, isAsyncBody, parseQualityList, withClose } from './_body.js';
import { requestTarget } from './access-log.js';
import { isHeaderVar } from '../protocol/names.js';

export interface ErrorPageOptions {
  /**
   * Show error pages. Never turn this on in production.
   * @default process.env.NODE_ENV === 'development'
   */
  enabled?: boolean;
  /**
   * Also write the error to `wsgi.errors` (the server's error log), as the server would have.
   * @default true
   */
  log?: boolean;
}

const STATUS = '500 Internal Server Error';
/** Request headers whose values the page masks. */
const SECRET = new Set(['HTTP_AUTHORIZATION', 'HTTP_COOKIE', 'HTTP_PROXY_AUTHORIZATION']);

function developmentByDefault(): boolean {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NODE_ENV === 'development';
}

/** HTML for text/html clients that prefer it to text/plain; text otherwise. */
export function wantsHtml(accept: string): boolean {
  if (!accept) return false;
  let html = -1;
  let plain = -1;
  for (const { name, q } of parseQualityList(accept)) {
    if (name === 'text/html' || name === 'application/xhtml+xml') html = Math.max(html, q);
    else if (name === 'text/plain') plain = Math.max(plain, q);
  }
  return html > 0 && html >= plain;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `Name: message`, then the stack's frames, for every error in the `cause` chain (and an AggregateError's errors). */
function describeError(err: unknown, depth = 0, seen = new Set<unknown>()): Array<{ title: string; stack: string }> {
  if (seen.has(err) || depth > 8) return [];
  seen.add(err);
  if (!(err instanceof Error)) {
    let shown: string;
    try {
      shown = typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
    } catch {
      shown = String(err);
    }
    return [{ title: `thrown ${err === null ? 'null' : typeof err}: ${shown}`, stack: '' }];
  }
  const title = `${err.name || 'Error'}: ${err.message}`;
  // V8's stack starts with the title; keep only the frames.
  let stack = err.stack ?? '';
  const firstFrame = stack.search(/\n\s+at /);
  stack = firstFrame === -1 ? '' : stack.slice(firstFrame + 1);
  const out = [{ title: depth === 0 ? title : `Caused by ${title}`, stack }];
  if (err instanceof AggregateError) {
    for (const inner of err.errors) out.push(...describeError(inner, depth + 1, seen));
  }
  if ('cause' in err && err.cause !== undefined) out.push(...describeError(err.cause, depth + 1, seen));
  return out;
}

/** Request lines shown under the error: method and URL, then the headers (secrets masked). */
function requestRows(environ: Environ): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['Request', `${env(environ, 'REQUEST_METHOD')} ${requestTarget(environ)} ${env(environ, 'SERVER_PROTOCOL')}`],
    ['SCRIPT_NAME', env(environ, 'SCRIPT_NAME')],
    ['PATH_INFO', env(environ, 'PATH_INFO')],
  ];
  for (const key of Object.keys(environ).sort()) {
    if (!isHeaderVar(key)) continue;
    rows.push([key, SECRET.has(key) ? '(hidden)' : env(environ, key)]);
  }
  return rows;
}

/** The error page for `err` as text. */
export function renderText(err: unknown, environ: Environ): string {
  let out = `${STATUS}\n\n`;
  for (const { title, stack } of describeError(err)) out += `${title}\n${stack ? stack + '\n' : ''}\n`;
  for (const [k, v] of requestRows(environ)) out += `${k}: ${v}\n`;
  return out;
}

/** The error page for `err` as an HTML document. */
export function renderHtml(err: unknown, environ: Environ): string {
  const errors = describeError(err)
    .map(({ title, stack }) => `<h2>${escapeHtml(title)}</h2>\n${stack ? `<pre>${escapeHtml(stack)}</pre>` : ''}`)
    .join('\n');
  const rows = requestRows(environ)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<title>${escapeHtml(describeError(err)[0]?.title ?? STATUS)}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { color: #b00020; font-size: 1.4rem; }
h2 { font-size: 1.1rem; margin-top: 1.5rem; }
pre { background: #f6f6f6; padding: 1rem; overflow-x: auto; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: .2rem .8rem .2rem 0; vertical-align: top; font-family: ui-monospace, monospace; }
th { color: #555; font-weight: normal; }
footer { margin-top: 2rem; color: #777; font-size: 13px; }
</style>
</head>
<body>
<h1>${STATUS}</h1>
${errors}
<h2>Request</h2>
<table>
${rows}
</table>
<footer>tsgi error page: a development aid. It is shown because errorPage() is enabled; never enable it in production.</footer>
</body>
</html>
`;
}

/**
 * Answers an application's error with a page describing it, while nothing of the response has gone
 * out; after that the error passes through, and the server cuts the response short. The error page
 * is sent with `startResponse(..., err)` (excInfo), so middleware outside sees a proper error response.
 *
 * @example
 * export const application = compose(app, errorPage({ enabled: process.env.NODE_ENV !== 'production' }));
 */
export function errorPage(options: ErrorPageOptions = {}): Middleware {
  const enabled = options.enabled ?? developmentByDefault();
  const log = options.log ?? true;
  if (!enabled) return (app) => app;

  return (app: Application): Application =>
    function errorPage(environ: Environ, startResponse: StartResponse) {
      let sent = false; // whether anything of the response may have gone out
      const start: StartResponse = (status, headers: HeaderList, excInfo) => {
        const write = startResponse(status, headers, excInfo);
        const tracked: Write = (chunk: Chunk) => {
          sent = true; // the first write() sends the headers (R43)
          return write(chunk);
        };
        return tracked;
      };
      const answer = (err: unknown): Chunk[] => {
        if (log) {
          try {
            environ['wsgi.errors'].write(
              `${env(environ, 'REQUEST_METHOD')} ${requestTarget(environ)}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
            );
            environ['wsgi.errors'].flush();
          } catch {
            /* the page still goes out */
          }
        }
        const html = wantsHtml(env(environ, 'HTTP_ACCEPT'));
        const page = html ? renderHtml(err, environ) : renderText(err, environ);
        // excInfo: replaces whatever status and headers the application had set (R44).
        startResponse(
          STATUS,
          [
            ['Content-Type', html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8'],
            ['Content-Length', String(byteLength(page))],
            ['Cache-Control', 'no-store'],
          ],
          err,
        );
        return [page];
      };
      return callApp(
        app,
        environ,
        start,
        (body) =>
          guarded(
            body,
            () => sent,
            () => (sent = true),
            answer,
          ),
        (err) => {
          if (sent) throw err;
          return answer(err);
        },
      );
    };
}

/** The body, with its errors before the first byte answered by `answer`. */
function guarded(body: Body, isSent: () => boolean, markSent: () => void, answer: (err: unknown) => Chunk[]): Body {
  // An array cannot fail while it is iterated (a bad chunk is the engine's contract error).
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const close = closeOnce(body);
  const seen = (chunk: Chunk) => {
    if ((typeof chunk === 'string' || chunk instanceof Uint8Array) && chunk.length > 0) markSent();
  };
  if (isAsyncBody(body)) {
    return withClose(
      (async function* () {
        try {
          for await (const chunk of body as AsyncIterable<Chunk>) {
            seen(chunk);
            yield chunk;
          }
        } catch (err) {
          if (isSent()) throw err;
          yield* answer(err);
        }
      })(),
      close,
    );
  }
  if (typeof (body as Iterable<Chunk>)[Symbol.iterator] !== 'function') return body;
  return withClose(
    (function* () {
      try {
        for (const chunk of body as Iterable<Chunk>) {
          seen(chunk);
          yield chunk;
        }
      } catch (err) {
        if (isSent()) throw err;
        yield* answer(err);
      }
    })(),
    close,
  );
}
