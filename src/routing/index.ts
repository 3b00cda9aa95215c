/**
 * tsgi/routing: Werkzeug-style URL routing for TSGI applications. A `RouteMap` (Werkzeug's `Map`) of
 * `Rule`s with converters (`/users/<int:id>`), methods, strict slashes, host and subdomain matching,
 * bound to a request to `match()` and `build()` URLs; `dispatch()` and `routes()` make TSGI
 * applications of it. docs/routing.md.
 * @module
 */
export {
  AnyConverter,
  BaseConverter,
  DEFAULT_CONVERTERS,
  FloatConverter,
  IntegerConverter,
  PathConverter,
  UUIDConverter,
  UnicodeConverter,
  ValidationError,
  parseConverterArgs,
  quoteSegment,
} from './converters.js';
export type { ConverterArg, ConverterClass } from './converters.js';
export { Rule } from './rule.js';
export type { RuleOptions } from './rule.js';
export { BuildError, MapAdapter, RouteMap, RouteMap as Map } from './map.js';
export type { RouteMapOptions, RouteMatch, RouteMiss } from './map.js';
export { ENDPOINT, ROUTE_ARGS, URL_ADAPTER, dispatch, routeArgs, routes, urlFor, withArgs } from './dispatch.js';
export type { DispatchOptions, RouteEntry, RouteHandler, Router, Views } from './dispatch.js';
