/**
 * Dispatching a request to the TSGI application of the matched endpoint. Endpoints are plain TSGI
 * applications, called with exactly `(environ, startResponse)` (so `validate()` accepts them); the
 * route's arguments are in `environ['tsgi.route_args']` (and in `environ['wsgiorg.routing_args']`,
 * the Python WSGI community's convention: `[positional, named]`). `withArgs()` adapts a
 * `(environ, startResponse, args)` function, and `urlFor(environ, …)` builds URLs inside an endpoint.
 *
 * An HTTPException thrown by the router (404, 405, the strict-slash redirect) or by an endpoint (thrown,
 * or rejected from its Promise, before its body starts) becomes its response. Other errors go on to the
 * server, which logs them and answers 500.
 * @module
 */
import type { Application, Body, Environ, StartResponse } from '../spec.js';
import { HTTPException } from '../exceptions/base.js';
import { MethodNotAllowed, NotFound, RequestRedirect } from '../exceptions/classes.js';
import { RouteMap, type MapAdapter, type RouteMapOptions } from './map.js';
import { Rule, type RuleOptions } from './rule.js';

/** `environ` key of the matched rule's arguments. */
export const ROUTE_ARGS = 'tsgi.route_args';
/** `environ` key of the MapAdapter bound to the request (urlFor() uses it). */
export const URL_ADAPTER = 'tsgi.url_adapter';
/** `environ` key of the matched endpoint's name. */
export const ENDPOINT = 'tsgi.endpoint';

/** Endpoint name → application, or a function that looks one up. */
export type Views = Record<string, Application> | ((endpoint: string) => Application | undefined);

export interface DispatchOptions {
  /** The server name subdomains are matched under (see RouteMap.bindToEnviron). */
  serverName?: string;
}

/** An application that takes its route arguments as a third parameter. */
declare module '../spec.js' {
  interface EnvironExtensions {
    /** The matched route's arguments (dispatch() sets them; routeArgs() reads them). */
    'tsgi.route_args'?: Record<string, unknown>;
    /** The same, as the wsgiorg.routing_args convention spells it: [positional, named]. */
    'wsgiorg.routing_args'?: [unknown[], Record<string, unknown>];
    /**
     * The adapter bound to this request: urlFor() builds URLs with it. Typed by what it does, not as the
     * MapAdapter class, so that an environ typed from the built package and one typed from the sources
     * stay the same type (a class with private members is nominal).
     */
    'tsgi.url_adapter'?: { build(endpoint: string, values?: Record<string, unknown>): string };
    /** The matched endpoint's name. */
    'tsgi.endpoint'?: string;
  }
}

export type RouteHandler<A = Record<string, unknown>> = (environ: Environ, startResponse: StartResponse, args: A) => Body | Promise<Body>;

/** The arguments of the matched route (empty outside a dispatch). */
export function routeArgs<A = Record<string, unknown>>(environ: Environ): A {
  const args = environ[ROUTE_ARGS];
  return (args !== null && typeof args === 'object' ? args : {}) as A;
}

/** Makes a TSGI application of a `(environ, startResponse, args)` function. */
export function withArgs<A = Record<string, unknown>>(handler: RouteHandler<A>): Application {
  return (environ, startResponse) => handler(environ, startResponse, routeArgs<A>(environ));
}

/** Builds the URL of `endpoint` for the request being dispatched (Flask's `url_for`); see MapAdapter.build. */
export function urlFor(environ: Environ, endpoint: string, values: Record<string, unknown> = {}): string {
  const adapter = environ[URL_ADAPTER];
  if (adapter === undefined) throw new TypeError('urlFor(): this request was not dispatched by tsgi/routing (no tsgi.url_adapter in the environ)');
  return (adapter as MapAdapter).build(endpoint, values);
}

function isThenable(v: unknown): v is Promise<Body> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Answers with an HTTPException, or rethrows anything else. The error goes to startResponse as
 * excInfo: if the endpoint already called startResponse, the error's status and headers replace its
 * own (PEP 3333 allows that until the headers are sent).
 */
function answer(err: unknown, environ: Environ, startResponse: StartResponse): Body {
  if (!(err instanceof HTTPException)) throw err;
  const { status, headers, body } = err.toResponse(environ);
  startResponse(status, headers, err);
  return [body];
}

// The router's own 404, made once: an Error captures a stack when created, which would cost more
// than the whole match. Only read (toResponse), never handed to user code, so sharing it is safe.
const NOT_FOUND = new NotFound();
Object.freeze(NOT_FOUND.headers);

/** The automatic answer to OPTIONS: 200 with the methods the path answers. */
function options(adapter: MapAdapter, startResponse: StartResponse): Body {
  startResponse('200 OK', [
    ['Allow', adapter.allowedMethods().join(', ')],
    ['Content-Length', '0'],
  ]);
  return [];
}

/**
 * The TSGI application that routes with `map` and calls the application `views` has for the
 * matched endpoint. Every matchable endpoint must have a view when `views` is an object (checked here,
 * at startup, rather than on the first request that needs it).
 */
export function dispatch(map: RouteMap, views: Views, opts: DispatchOptions = {}): Application {
  const lookup = typeof views === 'function' ? views : (endpoint: string) => (Object.hasOwn(views, endpoint) ? views[endpoint] : undefined);
  if (typeof views !== 'function') {
    for (const rule of map.rules) {
      if (!rule.buildOnly && typeof lookup(rule.endpoint) !== 'function') {
        throw new TypeError(`dispatch(): no application for endpoint ${JSON.stringify(rule.endpoint)} (rule ${rule.rule})`);
      }
    }
  }
  const bindOptions = opts.serverName === undefined ? {} : { serverName: opts.serverName };
  return function dispatch(environ: Environ, startResponse: StartResponse): Body | Promise<Body> {
    try {
      const adapter = map.bindToEnviron(environ, bindOptions);
      environ[URL_ADAPTER] = adapter;
      const match = adapter.resolve();
      if (!('endpoint' in match)) {
        const miss =
          match.status === 404 ? NOT_FOUND : match.status === 405 ? new MethodNotAllowed(match.allowed) : new RequestRedirect(match.location, match.status);
        return answer(miss, environ, startResponse);
      }
      if (adapter.method === 'OPTIONS' && match.rule.automaticOptions) return options(adapter, startResponse);
      const app = lookup(match.endpoint);
      if (typeof app !== 'function') throw new TypeError(`dispatch(): no application for endpoint ${JSON.stringify(match.endpoint)}`);
      environ[ROUTE_ARGS] = match.args;
      environ['wsgiorg.routing_args'] = [[], match.args];
      environ[ENDPOINT] = match.endpoint;
      const result = app(environ, startResponse);
      return isThenable(result) ? result.then(undefined, (err: unknown) => answer(err, environ, startResponse)) : result;
    } catch (err) {
      return answer(err, environ, startResponse);
    }
  };
}

/** A route of `routes()`: the application, or it with rule options. */
export type RouteEntry = Application | ({ app: Application } & Partial<Omit<RuleOptions, 'methods'>>);

/** `routes()`'s application: a TSGI application that also carries its map. */
export type Router = Application & { readonly map: RouteMap };

// `GET /x`, `GET,POST /x`, `GET|POST /x`, or `/x` (any method).
const KEY_RE = /^(?:([A-Za-z]+(?:\s*[,|]\s*[A-Za-z]+)*)\s+)?(\/\S*)$/;

/**
 * Routing from a table, the short way: `routes({ 'GET /': home, 'GET,POST /users/<int:id>': user })`.
 * A key is `METHODS /rule` or `/rule` for any method; the endpoint name (for urlFor) is the key
 * unless the entry gives one: `{ app: user, endpoint: 'user' }`.
 */
export function routes(table: Record<string, RouteEntry>, options: RouteMapOptions & DispatchOptions = {}): Router {
  const views: Record<string, Application> = {};
  const rules: Rule[] = [];
  for (const [key, entry] of Object.entries(table)) {
    const m = KEY_RE.exec(key.trim());
    if (!m) throw new TypeError(`routes(): ${JSON.stringify(key)} is not "METHOD /rule" or "/rule"`);
    const { app, ...ruleOptions } = typeof entry === 'function' ? { app: entry } : entry;
    if (typeof app !== 'function') throw new TypeError(`routes(): the entry for ${JSON.stringify(key)} is not an application`);
    const endpoint = ruleOptions.endpoint ?? key;
    if (Object.hasOwn(views, endpoint) && views[endpoint] !== app) {
      throw new TypeError(`routes(): endpoint ${JSON.stringify(endpoint)} names two different applications`);
    }
    views[endpoint] = app;
    const methods = m[1]?.split(/\s*[,|]\s*/);
    rules.push(new Rule(m[2]!, { ...ruleOptions, endpoint, ...(methods ? { methods } : {}) }));
  }
  const map = new RouteMap(rules, options);
  const app = dispatch(map, views, options);
  return Object.assign(app, { map });
}
