/**
 * Putting applications together: `compose()` stacks middleware around an application the way Rack's
 * Builder does, and `mount()` dispatches on the path prefix the way Werkzeug's DispatcherMiddleware
 * does, moving the matched segments from PATH_INFO to SCRIPT_NAME. Both only call functions: no
 * wrapper of their own sits between the request and the application.
 * @module
 */
import type { Application, Environ, Middleware, StartResponse } from './spec.js';

/**
 * Wraps `app` in `middleware`, the first one outermost: `compose(app, a, b)` is `a(b(app))`, so the
 * list reads top-down like Rack's `use` lines and the first listed sees the request first (and the
 * response last). `false`, `null` and `undefined` entries are skipped, for conditional middleware:
 * `compose(app, dev && errorPage({ enabled: true }), accessLog())`.
 *
 * @example
 * export const application = compose(app, requestId(), accessLog(), compress());
 */
export function compose(app: Application, ...middleware: Array<Middleware | false | null | undefined>): Application {
  if (typeof app !== 'function') throw new TypeError(`compose(): the application must be a function (got ${typeof app})`);
  // Check every entry before wrapping anything, so a mistake is reported at startup, not per request.
  middleware.forEach((m, i) => {
    if (m !== false && m !== null && m !== undefined && typeof m !== 'function') {
      throw new TypeError(`compose(): middleware ${i + 1} is a ${typeof m}, not a function (app) => app`);
    }
  });
  let wrapped = app;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const m = middleware[i];
    if (!m) continue;
    const next = m(wrapped);
    if (typeof next !== 'function') {
      throw new TypeError(`compose(): middleware ${i + 1} returned a ${typeof next}, not an application`);
    }
    wrapped = next;
  }
  return wrapped;
}

/** What `mount()` dispatches to: path prefix → application. */
export type Mounts = Record<string, Application> | Map<string, Application> | Iterable<[string, Application]>;

/** The fallback when nothing matches and none was given. */
const notFound: Application = function notFound(_environ, startResponse) {
  const body = 'Not Found\n';
  startResponse('404 Not Found', [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(body.length)],
  ]);
  return [body];
};

/**
 * A mount point as PATH_INFO spells it: a native string (UTF-8 bytes as latin-1 chars, as the door
 * percent-decodes the target), starting with `/`, without a trailing `/`.
 */
function mountKey(prefix: string): string {
  if (typeof prefix !== 'string') throw new TypeError(`mount(): a prefix must be a string (got ${typeof prefix})`);
  if (!prefix.startsWith('/')) throw new TypeError(`mount(): prefix ${JSON.stringify(prefix)} must start with '/'`);
  let key = prefix.replace(/\/+$/, '');
  if (key === '') throw new TypeError(`mount(): prefix ${JSON.stringify(prefix)} is the root; pass that application as the fallback`);
  if (/[\x00-\x1f\x7f]/.test(key)) throw new TypeError(`mount(): prefix ${JSON.stringify(prefix)} has control characters`);
  if (/[^\x00-\x7f]/.test(key)) key = nativeOf(key);
  return key;
}

function nativeOf(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function entriesOf(mounts: Mounts): Array<[string, Application]> {
  if (mounts instanceof Map) return [...mounts.entries()];
  if (typeof (mounts as Iterable<unknown>)[Symbol.iterator] === 'function') return [...(mounts as Iterable<[string, Application]>)];
  return Object.entries(mounts as Record<string, Application>);
}

/**
 * Dispatches to the application mounted at the longest matching path prefix, with Werkzeug's
 * DispatcherMiddleware semantics: a prefix matches whole segments only (`/api` takes `/api` and
 * `/api/x`, never `/apix`); the matched part moves from PATH_INFO to the end of SCRIPT_NAME, so the
 * mounted application sees its own paths and builds its URLs with SCRIPT_NAME. `/api` itself reaches
 * the mounted app with an empty PATH_INFO (it may redirect to `/api/`). Anything else goes to
 * `fallback` (a plain 404 by default) with the environ untouched. The environ is changed in place, as
 * Werkzeug does. Prefixes are URL paths as text: `'/café'` matches the UTF-8 request `/caf%C3%A9`.
 *
 * @example
 * export const application = mount({ '/api': api, '/static': staticApp('public') }, site);
 */
export function mount(mounts: Mounts, fallback: Application = notFound): Application {
  if (typeof fallback !== 'function') throw new TypeError('mount(): the fallback must be an application function');
  const table = new Map<string, Application>();
  for (const [prefix, app] of entriesOf(mounts)) {
    if (typeof app !== 'function') throw new TypeError(`mount(): the application at ${JSON.stringify(prefix)} is not a function`);
    const key = mountKey(prefix);
    if (table.has(key)) throw new TypeError(`mount(): ${JSON.stringify(prefix)} is mounted twice`);
    table.set(key, app);
  }
  return function mount(environ: Environ, startResponse: StartResponse) {
    // DispatcherMiddleware.__call__: cut the last segment off until what is left is a mount point.
    let script = typeof environ.PATH_INFO === 'string' ? environ.PATH_INFO : '';
    let pathInfo = '';
    let app: Application | undefined;
    for (;;) {
      const slash = script.lastIndexOf('/');
      if (slash === -1) break;
      app = table.get(script);
      if (app !== undefined) break;
      pathInfo = script.slice(slash) + pathInfo;
      script = script.slice(0, slash);
    }
    if (app === undefined) {
      app = table.get(script);
      // Werkzeug moves nothing when it falls back; the fallback sees the request as it came.
      if (app === undefined) return fallback(environ, startResponse);
    }
    environ.SCRIPT_NAME = (typeof environ.SCRIPT_NAME === 'string' ? environ.SCRIPT_NAME : '') + script;
    environ.PATH_INFO = pathInfo;
    return app(environ, startResponse);
  };
}
