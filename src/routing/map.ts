/**
 * `RouteMap` (Werkzeug's `Map`): the rules of an application, and `MapAdapter`, a map bound to one
 * request (or one server name) that matches paths and builds URLs.
 *
 * Matching is fast because the rules are compiled, not tried one by one: rules without variables are
 * found with one Map lookup, and the rest of the rules answering a method are joined into a single
 * regular expression with an empty marker group after each alternative (the technique of Hono's
 * RegExpRouter): one exec() finds the first matching rule in priority order. The slow path (trying each
 * rule) only runs to explain a miss: 405 with the allowed methods, a strict-slash redirect, or a
 * converter that refused a value.
 * @module
 */
import type { Environ } from '../spec.js';
import { quote } from '../util.js';
import { MethodNotAllowed, NotFound, RequestRedirect, type RedirectCode } from '../exceptions/classes.js';
import { DEFAULT_CONVERTERS, quoteSegment, type ConverterClass } from './converters.js';
import { TsgiError } from '../errors.js';
import { Rule, compareRules, type RuleContext } from './rule.js';

export interface RouteMapOptions {
  /** Redirect `/x` to `/x/` for rules ending in `/` (default true). */
  strictSlashes?: boolean;
  /** Match `Rule.host` against the whole Host instead of `Rule.subdomain` against the subdomain. */
  hostMatching?: boolean;
  /** The subdomain of rules that name none (default ''). */
  defaultSubdomain?: string;
  /** Extra converters by name (`{ hex: HexConverter }`), next to the built-in ones. */
  converters?: Record<string, ConverterClass>;
  /** The status of the strict-slash redirect (default 308: the method and body are kept). */
  redirectCode?: RedirectCode;
}

/** Thrown by `build()` when no rule can build the URL: an unknown endpoint, a missing or invalid value. */
export class BuildError extends TsgiError {
  constructor(
    readonly endpoint: string,
    readonly values: Record<string, unknown>,
    message: string,
  ) {
    super('TSGI_ERR_ROUTE_BUILD', message);
    this.name = 'BuildError';
  }
}

/** A successful match. */
export interface RouteMatch {
  endpoint: string;
  /** The converted values of the rule's variables, with the rule's defaults. */
  args: Record<string, unknown>;
  rule: Rule;
}

/** The rules answering one method, compiled into one regular expression. */
interface Compiled {
  regex: RegExp | null;
  /** Capture-group index of each alternative's marker → the rule. */
  markers: Array<Rule | undefined>;
}

const ALL_METHODS = '*';
/** compiledFor() key of every dynamic rule, whatever its methods. */
const ANY_RULE = '';
/** The bucket of rules whose first segment is not literal (a segment can never contain '/'). */
const WILDCARD = '/';
/** The subdomain of a Host that is not under the server name: no rule matches it. */
const INVALID_SUBDOMAIN = '<invalid>';

/** How many values a rule takes: its variables and its defaults. */
function valueCount(rule: Rule): number {
  return new Set([...rule.arguments, ...Object.keys(rule.defaults)]).size;
}
// The characters of a path kept as they are when re-encoding PATH_INFO for a redirect.
const PATH_SAFE = "/!$&'()*+,:;=@";

export class RouteMap {
  readonly rules: Rule[] = [];
  readonly converters: Readonly<Record<string, ConverterClass>>;
  readonly strictSlashes: boolean;
  readonly hostMatching: boolean;
  readonly defaultSubdomain: string;
  readonly redirectCode: RedirectCode;
  private usesDomain: boolean;
  private readonly byEndpoint = new Map<string, Rule[]>();
  // Built on first match, dropped when a rule is added.
  private sorted: Rule[] | null = null;
  private statics: Map<string, Rule[]> | null = null;
  /** method key → bucket → compiled rules. */
  private compiled = new Map<string, Map<string, Compiled>>();
  private methodsNamed = new Set<string>();
  private buckets = new Set<string>();

  constructor(rules: Iterable<Rule> = [], options: RouteMapOptions = {}) {
    this.converters = Object.freeze({ ...DEFAULT_CONVERTERS, ...options.converters });
    this.strictSlashes = options.strictSlashes ?? true;
    this.hostMatching = options.hostMatching ?? false;
    this.defaultSubdomain = options.defaultSubdomain ?? '';
    this.redirectCode = options.redirectCode ?? 308;
    const list = [...rules];
    // The subject carries the host only when some rule looks at it: most maps match the path alone.
    this.usesDomain = this.hostMatching || list.some((r) => r.subdomain !== undefined && r.subdomain !== this.defaultSubdomain);
    for (const r of list) this.add(r);
  }

  /** Adds a rule (compiling it; a malformed rule throws here, at startup). */
  add(rule: Rule): this {
    if (!(rule instanceof Rule)) throw new TypeError('RouteMap.add(): expected a Rule');
    if (rule.subdomain !== undefined && rule.subdomain !== this.defaultSubdomain && !this.usesDomain) {
      // The first rule with a subdomain turns the map domain-aware: recompile the others.
      this.usesDomain = true;
      for (const r of this.rules) r.compile(this.context());
    }
    rule.compile(this.context());
    this.rules.push(rule);
    const list = this.byEndpoint.get(rule.endpoint) ?? [];
    list.push(rule);
    // Building prefers the rule using the most values, then the one with the most defaults.
    // (Werkzeug counts defaults among the arguments: `/page/` with n=1 is tried before `/page/<int:n>`.)
    list.sort((a, b) => valueCount(b) - valueCount(a) || Object.keys(b.defaults).length - Object.keys(a.defaults).length);
    this.byEndpoint.set(rule.endpoint, list);
    this.sorted = null;
    return this;
  }

  private context(): RuleContext {
    return {
      converters: this.converters,
      strictSlashes: this.strictSlashes,
      hostMatching: this.hostMatching,
      defaultSubdomain: this.defaultSubdomain,
      usesDomain: this.usesDomain,
      map: this,
    };
  }

  /** Whether the subject of a match is `domain|path` (else the path alone). */
  get matchesDomain(): boolean {
    return this.usesDomain;
  }

  /** The rules of an endpoint, in the order build() tries them. */
  rulesFor(endpoint: string): readonly Rule[] {
    return this.byEndpoint.get(endpoint) ?? [];
  }

  /** The matchable rules in priority order. */
  matchOrder(): readonly Rule[] {
    this.prepare();
    return this.sorted!;
  }

  private prepare(): void {
    if (this.sorted !== null) return;
    this.sorted = this.rules.filter((r) => !r.buildOnly).sort(compareRules);
    this.statics = new Map();
    this.methodsNamed = new Set();
    this.buckets = new Set();
    for (const r of this.sorted) {
      if (r.methods) for (const m of r.methods) this.methodsNamed.add(m);
      if (r.firstSegment !== null && r.staticSubject === null) this.buckets.add(r.firstSegment);
      if (r.staticSubject !== null) {
        const list = this.statics.get(r.staticSubject) ?? [];
        list.push(r);
        this.statics.set(r.staticSubject, list);
      }
    }
    this.compiled = new Map();
  }

  /**
   * The combined regular expression of the dynamic rules answering `key` (a method, '*' for methods
   * no rule names, '' for every rule) whose first segment is `bucket` or not literal. Splitting by
   * the first segment keeps each expression short: a flat alternation of every rule would make the
   * regex engine try each alternative from the start of the path (Hono's RegExpRouter gets the same
   * effect by building a trie into its expression).
   */
  private compiledFor(key: string, bucket: string): Compiled {
    let byBucket = this.compiled.get(key);
    if (byBucket === undefined) this.compiled.set(key, (byBucket = new Map()));
    let c = byBucket.get(bucket);
    if (c !== undefined) return c;
    const markers: Array<Rule | undefined> = [];
    const alternatives: string[] = [];
    let group = 1;
    for (const r of this.sorted!) {
      const answers = key === ANY_RULE || (key === ALL_METHODS ? r.methods === null : r.allows(key));
      if (r.staticSubject !== null || !answers || (r.firstSegment !== null && r.firstSegment !== bucket)) continue;
      alternatives.push(`${r.source}()`);
      group += r.groups;
      markers[group] = r;
      group += 1;
    }
    c = { regex: alternatives.length ? new RegExp(`^(?:${alternatives.join('|')})$`, 's') : null, markers };
    byBucket.set(bucket, c);
    return c;
  }

  /** The bucket of a subject: its first path segment if some rule starts with it literally. */
  private bucketOf(subject: string): string {
    if (this.usesDomain || this.buckets.size === 0) return WILDCARD;
    const end = subject.indexOf('/', 1);
    const seg = end === -1 ? subject.slice(1) : subject.slice(1, end);
    return this.buckets.has(seg) ? seg : WILDCARD;
  }

  /**
   * The first rule matching `subject` for `method`, on the fast path; undefined when the fast path
   * cannot tell (no match, or a converter refused and the slow path must go on past that rule).
   */
  fastMatch(subject: string, method: string): RouteMatch | undefined {
    if (this.sorted === null) this.prepare();
    const statics = this.statics!.get(subject);
    if (statics !== undefined) {
      for (const r of statics) if (r.allows(method)) return { endpoint: r.endpoint, args: { ...r.defaults }, rule: r };
    }
    const c = this.compiledFor(this.methodsNamed.has(method) ? method : ALL_METHODS, this.bucketOf(subject));
    if (c.regex === null) return undefined;
    const m = c.regex.exec(subject);
    if (m === null) return undefined;
    // The marker is the first empty capture that is a marker (a converter may capture '' too).
    let i = m.indexOf('', 1);
    while (i !== -1 && c.markers[i] === undefined) i = m.indexOf('', i + 1);
    const rule = c.markers[i]!;
    const args = rule.values(m, i - rule.groups);
    return args === null ? undefined : { endpoint: rule.endpoint, args, rule };
  }

  /** Whether any matchable rule's pattern matches `subject`, whatever the method and converters say. */
  anyRuleMatches(subject: string): boolean {
    this.prepare();
    if (this.statics!.has(subject)) return true;
    return this.compiledFor(ANY_RULE, this.bucketOf(subject)).regex?.test(subject) ?? false;
  }

  /**
   * Binds the map to a server name, for building URLs outside a request (and for matching a path
   * given to match()). `scriptName` is the mount point as text (`/app`), percent-encoded when built.
   */
  bind(
    serverName: string,
    options: { scriptName?: string; subdomain?: string; urlScheme?: string; pathInfo?: string; method?: string; queryString?: string } = {},
  ): MapAdapter {
    const host = serverName.toLowerCase();
    return new MapAdapter(this, {
      serverName: host,
      scriptUrl: quoteSegment(options.scriptName ?? '', true).replace(/\/+$/, ''),
      subdomain: options.subdomain ?? (this.hostMatching ? '' : this.defaultSubdomain),
      urlScheme: options.urlScheme ?? 'http',
      pathInfo: options.pathInfo ?? '/',
      pathUrl: undefined,
      method: (options.method ?? 'GET').toUpperCase(),
      queryString: options.queryString ?? '',
    });
  }

  /**
   * Binds the map to a request: matching uses PATH_INFO, building prefixes SCRIPT_NAME (so an
   * application mounted under `/api` builds `/api/...`). Give `serverName` to match subdomains: the
   * Host minus the server name is the subdomain (`<invalid>`, which no rule matches, when the Host is
   * not under it).
   */
  bindToEnviron(environ: Environ, options: { serverName?: string; subdomain?: string } = {}): MapAdapter {
    const scheme = typeof environ['wsgi.url_scheme'] === 'string' ? environ['wsgi.url_scheme'] : 'http';
    // Read the environ now (an endpoint may change it later, e.g. a nested mount), encode lazily:
    // most requests never build a URL or redirect, and matching must stay cheap.
    const hostHeader = environ['HTTP_HOST'];
    const serverNameVar = environ.SERVER_NAME;
    const port = environ.SERVER_PORT;
    const host = () => requestHost(hostHeader, serverNameVar, port, scheme);
    let serverName: string | (() => string) = options.serverName?.toLowerCase() ?? host;
    let subdomain = options.subdomain;
    if (this.hostMatching) {
      serverName = host();
      subdomain = '';
    } else if (subdomain === undefined) {
      if (options.serverName === undefined) subdomain = this.defaultSubdomain;
      else {
        // Werkzeug's rule: compare dot-separated labels from the right.
        const cur = host().split('.');
        const real = (serverName as string).split('.');
        const tail = cur.slice(cur.length - real.length);
        subdomain =
          cur.length >= real.length && tail.join('.') === real.join('.')
            ? cur
                .slice(0, cur.length - real.length)
                .filter(Boolean)
                .join('.')
            : INVALID_SUBDOMAIN;
      }
    }
    const pathNative = (typeof environ.PATH_INFO === 'string' ? environ.PATH_INFO : '') || '/';
    const script = typeof environ.SCRIPT_NAME === 'string' ? environ.SCRIPT_NAME : '';
    return new MapAdapter(this, {
      serverName,
      // SCRIPT_NAME and PATH_INFO are native strings: their chars are the URL's bytes, re-encoded as they came.
      scriptUrl: () => quote(script, PATH_SAFE).replace(/\/+$/, ''),
      subdomain,
      urlScheme: scheme,
      pathInfo: textOfNative(pathNative),
      pathUrl: () => quote(pathNative, PATH_SAFE),
      method: typeof environ.REQUEST_METHOD === 'string' ? environ.REQUEST_METHOD.toUpperCase() : 'GET',
      queryString: typeof environ.QUERY_STRING === 'string' ? environ.QUERY_STRING : '',
    });
  }
}

const utf8Decoder = new TextDecoder();

/** The text a native string (UTF-8 bytes as latin-1 chars) stands for; ASCII, the common case, as it is. */
function textOfNative(s: string): string {
  if (/^[\x00-\x7f]*$/.test(s)) return s;
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i) & 0xff;
  return utf8Decoder.decode(bytes);
}

/** The request's host, lower-cased, without the scheme's default port (as Werkzeug's get_host). */
function requestHost(hostHeader: unknown, serverName: unknown, serverPort: unknown, scheme: string): string {
  let host = typeof hostHeader === 'string' ? hostHeader : '';
  if (!host) {
    host = typeof serverName === 'string' ? serverName : '';
    const port = typeof serverPort === 'string' ? serverPort : '';
    if (port && port !== (scheme === 'https' ? '443' : '80')) host += `:${port}`;
  }
  host = host.toLowerCase();
  const def = scheme === 'https' ? ':443' : scheme === 'http' ? ':80' : '';
  if (def && host.endsWith(def)) host = host.slice(0, -def.length);
  return host;
}

/** A value, or how to compute it when first needed. */
type Lazy<T> = T | (() => T);

interface AdapterState {
  serverName: Lazy<string>;
  scriptUrl: Lazy<string>;
  subdomain: string;
  urlScheme: string;
  pathInfo: string;
  pathUrl: Lazy<string> | undefined;
  method: string;
  queryString: string;
}

/** Why nothing matched: resolve()'s answer when match() would throw. */
export type RouteMiss = { status: 404 } | { status: 405; allowed: string[] } | { status: RedirectCode; location: string };

/** A map bound to a request or a server name: `match()` and `build()`. */
export class MapAdapter {
  readonly subdomain: string;
  readonly urlScheme: string;
  /** The path matched by default (text, decoded from PATH_INFO). */
  readonly pathInfo: string;
  readonly method: string;
  readonly queryString: string;
  private lazyServerName: Lazy<string>;
  private lazyScriptUrl: Lazy<string>;
  private lazyPathUrl: Lazy<string> | undefined;

  constructor(
    readonly map: RouteMap,
    state: AdapterState,
  ) {
    this.lazyServerName = state.serverName;
    this.subdomain = state.subdomain;
    this.urlScheme = state.urlScheme;
    this.pathInfo = state.pathInfo;
    this.method = state.method;
    this.queryString = state.queryString;
    this.lazyScriptUrl = state.scriptUrl;
    this.lazyPathUrl = state.pathUrl;
  }

  /** The host URLs are built for (with its port unless the scheme's default), lower-cased. */
  get serverName(): string {
    if (typeof this.lazyServerName === 'function') this.lazyServerName = this.lazyServerName();
    return this.lazyServerName;
  }

  /** SCRIPT_NAME percent-encoded, without a trailing `/`: what built paths start with. */
  get scriptUrl(): string {
    if (typeof this.lazyScriptUrl === 'function') this.lazyScriptUrl = this.lazyScriptUrl();
    return this.lazyScriptUrl;
  }

  private get pathUrl(): string | undefined {
    if (typeof this.lazyPathUrl === 'function') this.lazyPathUrl = this.lazyPathUrl();
    return this.lazyPathUrl;
  }

  private subject(path: string): string | null {
    // Checked here, not left to the rules: `<user>` would match the text '<invalid>'.
    if (this.subdomain === INVALID_SUBDOMAIN) return null;
    if (this.map.matchesDomain) return `${this.map.hostMatching ? this.serverName : this.subdomain}|${path}`;
    // Every rule is on the default subdomain: a request for another one matches nothing.
    if (!this.map.hostMatching && this.subdomain !== this.map.defaultSubdomain) return null;
    return path;
  }

  /**
   * The rule matching `pathInfo` (text, default: the request's) for `method`. Throws NotFound,
   * MethodNotAllowed (its `Allow` lists what the path answers) or RequestRedirect (a rule ending in
   * `/` was requested without it; the query string is kept).
   */
  match(pathInfo?: string, method?: string): RouteMatch {
    const r = this.resolve(pathInfo, method);
    if ('endpoint' in r) return r;
    if (r.status === 404) throw new NotFound();
    if (r.status === 405) throw new MethodNotAllowed(r.allowed);
    throw new RequestRedirect(r.location, r.status);
  }

  /**
   * match() without exceptions: the match, or why there is none (404, 405 with the allowed methods,
   * or the strict-slash redirect). Creating an Error captures a stack, which costs more than the
   * match itself; a router answering many 404s can use this.
   */
  resolve(pathInfo?: string, method?: string): RouteMatch | RouteMiss {
    const path = pathInfo ?? this.pathInfo;
    const m = method === undefined ? this.method : method.toUpperCase();
    const subject = this.subject(path || '/');
    if (subject === null) return { status: 404 };
    const map = this.map;
    const fast = map.fastMatch(subject, m);
    if (fast !== undefined) return fast;

    // Slow path, only when some rule matches the path for another method (or refused the value):
    // explain the miss as a 405 with every method the path answers.
    if (map.anyRuleMatches(subject)) {
      const allowed = new Set<string>();
      for (const rule of map.matchOrder()) {
        const args = rule.match(subject);
        if (args === null) continue;
        if (rule.allows(m)) return { endpoint: rule.endpoint, args, rule };
        for (const a of rule.methods!) allowed.add(a);
      }
      if (allowed.size > 0) return { status: 405, allowed: [...allowed].sort() };
    }
    if (!path.endsWith('/') && map.anyRuleMatches(`${subject}/`)) {
      const slashed = `${subject}/`;
      for (const rule of map.matchOrder()) {
        if (rule.strictSlashes && rule.rule.endsWith('/') && rule.match(slashed) !== null) {
          return { status: map.redirectCode, location: this.redirectUrl(pathInfo) };
        }
      }
    }
    return { status: 404 };
  }

  private redirectUrl(pathInfo: string | undefined): string {
    const encoded = pathInfo === undefined && this.pathUrl !== undefined ? this.pathUrl : quoteSegment(pathInfo ?? this.pathInfo, true);
    const query = pathInfo === undefined && this.queryString ? `?${this.queryString}` : '';
    // An absolute path, not a URL: the Host header is the client's to choose, never echoed back.
    return `${this.scriptUrl}${encoded}/${query}`;
  }

  /** The methods `pathInfo` answers (for OPTIONS): every method of every rule matching the path. */
  allowedMethods(pathInfo?: string): string[] {
    const subject = this.subject(pathInfo ?? this.pathInfo);
    if (subject === null) return [];
    const out = new Set<string>();
    for (const rule of this.map.matchOrder()) {
      if (rule.methods !== null && rule.match(subject) !== null) for (const m of rule.methods) out.add(m);
    }
    return [...out].sort();
  }

  /**
   * The URL of `endpoint` with `values`: the inverse of match(). Values the rule does not use go in
   * the query string (arrays repeat the key). `_external: true` gives an absolute URL (also forced
   * when the rule is on another subdomain or host), `_anchor` a fragment, `_method` picks among
   * rules by method, `_scheme` the scheme of an external URL. Throws BuildError.
   */
  build(
    endpoint: string,
    values: Record<string, unknown> = {},
    options: { method?: string; external?: boolean; anchor?: string; scheme?: string } = {},
  ): string {
    const { _external, _anchor, _method, _scheme, ...rest } = values;
    const method = options.method ?? (typeof _method === 'string' ? _method : undefined);
    const rules = this.map.rulesFor(endpoint);
    if (rules.length === 0) throw new BuildError(endpoint, rest, `Could not build url for endpoint ${JSON.stringify(endpoint)}: no rule has this endpoint`);
    let chosen: { rule: Rule; domain: string; path: string } | undefined;
    for (const rule of rules) {
      if (!rule.suitableFor(rest, method)) continue;
      const built = rule.build(rest);
      if (built !== null) {
        chosen = { rule, ...built };
        break;
      }
    }
    if (chosen === undefined) {
      const missing = rules[0]!.missing(rest);
      const why =
        missing.length > 0
          ? `Did you forget to specify values ${JSON.stringify(missing)}?`
          : `No rule accepts these values${method ? ` for method ${method}` : ''}: ${JSON.stringify(rest)}`;
      throw new BuildError(endpoint, rest, `Could not build url for endpoint ${JSON.stringify(endpoint)}. ${why}`);
    }
    const { rule, domain, path } = chosen;
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(rest)) {
      if (v === undefined || v === null || rule.arguments.includes(k) || Object.hasOwn(rule.defaults, k)) continue;
      for (const item of Array.isArray(v) ? v : [v]) if (item !== undefined && item !== null) query.append(k, String(item));
    }
    let url = `${this.scriptUrl}${path}`;
    const qs = query.toString();
    if (qs) url += `?${qs}`;
    const anchor = options.anchor ?? (typeof _anchor === 'string' ? _anchor : undefined);
    if (anchor !== undefined) url += `#${quoteSegment(anchor, true).replace(/%3F/g, '?')}`;
    let host = this.serverName;
    let external = options.external ?? _external === true;
    if (this.map.hostMatching) {
      if (domain !== this.serverName) external = true;
      host = domain;
    } else if (this.map.matchesDomain && domain !== this.subdomain) {
      external = true;
      host = domain ? `${domain}.${this.serverName}` : this.serverName;
    } else if (this.subdomain && this.map.matchesDomain) {
      host = `${this.subdomain}.${this.serverName}`;
    }
    if (!external) return url;
    const scheme = options.scheme ?? (typeof _scheme === 'string' ? _scheme : this.urlScheme);
    return `${scheme}://${host}${url}`;
  }
}
