/**
 * A `Rule`: one URL pattern (`/users/<int:id>`), the endpoint it names, its methods and defaults.
 * A rule is compiled when added to a RouteMap (the map owns the converters); it then knows its regular
 * expression, its arguments in capture order, and how to build a URL from values.
 * @module
 */
import { BaseConverter, ValidationError, parseConverterArgs, quoteSegment, type ConverterClass } from './converters.js';

export interface RuleOptions {
  /** The name URL building uses (and `dispatch()` looks the application up by). */
  endpoint: string;
  /**
   * The methods the rule answers (any method when omitted). GET brings HEAD with it; OPTIONS is
   * answered automatically (200 with `Allow`) unless listed or `provideAutomaticOptions: false`.
   */
  methods?: Iterable<string>;
  /** Values for arguments the URL does not carry: `/page/` with `{ n: 1 }` next to `/page/<int:n>`. */
  defaults?: Record<string, unknown>;
  /** The subdomain, with the map bound to a server name (`<user>` converters allowed). */
  subdomain?: string;
  /** The host, with `hostMatching` on the map (`<user>.example.com`, converters allowed). */
  host?: string;
  /** Redirect `/x` to `/x/` for a rule ending in `/` (default: the map's, which defaults to true). */
  strictSlashes?: boolean;
  /** Only for building URLs, never matched (e.g. a URL served by another application). */
  buildOnly?: boolean;
  /** Answer OPTIONS with 200 and `Allow` (default true when `methods` is given). */
  provideAutomaticOptions?: boolean;
}

/** A literal piece or a variable of a rule (or its host/subdomain). */
type Token = { text: string; name?: undefined } | { text?: undefined; name: string; converter: BaseConverter };

// Werkzeug's rule syntax: `<name>`, `<conv:name>`, `<conv(args):name>`.
const VAR_RE = /<(?:([A-Za-z_]\w*)(?:\(([^)]*)\))?:)?([A-Za-z_]\w*)\s*>/g;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** How many capturing groups a pattern has (a converter's must have none). */
function groupCount(source: string): number {
  return new RegExp(`(?:${source})|`).exec('')!.length - 1;
}

/** What a rule needs from its map to compile. */
export interface RuleContext {
  converters: Readonly<Record<string, ConverterClass>>;
  strictSlashes: boolean;
  hostMatching: boolean;
  defaultSubdomain: string;
  /** Whether the subject matched is `domain|path` rather than the path alone. */
  usesDomain: boolean;
  map: unknown;
}

/** One weight per piece of the path: a literal (longer first) sorts before a variable (lower weight first). */
type Weight = [kind: 0 | 1, value: number];

export class Rule {
  readonly rule: string;
  readonly endpoint: string;
  /** Upper-case methods, HEAD and OPTIONS included as they apply; null for any method. */
  readonly methods: ReadonlySet<string> | null;
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly subdomain: string | undefined;
  readonly host: string | undefined;
  readonly buildOnly: boolean;
  private readonly hasDefaults: boolean;
  /** Whether OPTIONS is answered by the router (200 with Allow) rather than by the endpoint. */
  readonly automaticOptions: boolean;
  private readonly strictSlashesOption: boolean | undefined;

  // Set by compile():
  /** The rule's variables, in capture order (domain first, then path). */
  arguments: string[] = [];
  strictSlashes = true;
  /** The regular expression source of the subject (no anchors, no capturing groups but the variables'). */
  source = '';
  regex: RegExp = /$^/;
  /** The subject when the rule has no variables (matched by a Map lookup). */
  staticSubject: string | null = null;
  /**
   * The literal first path segment (`users` for `/users/<id>`), or null when it is not all literal
   * (`/<page>`, `/u<id>/x`) or the subject carries a domain: the map buckets rules by it.
   */
  firstSegment: string | null = null;
  private domainTokens: Token[] = [];
  private pathTokens: Token[] = [];
  private converters: BaseConverter[] = [];
  weights: Weight[] = [];

  constructor(rule: string, options: RuleOptions) {
    if (typeof rule !== 'string' || !rule.startsWith('/')) throw new TypeError(`Rule: a URL rule must start with '/' (got ${JSON.stringify(rule)})`);
    if (typeof options?.endpoint !== 'string' || options.endpoint === '') throw new TypeError(`Rule ${rule}: an endpoint name is required`);
    this.rule = rule;
    this.endpoint = options.endpoint;
    this.defaults = Object.freeze({ ...options.defaults });
    this.hasDefaults = Object.keys(this.defaults).length > 0;
    this.subdomain = options.subdomain;
    this.host = options.host?.toLowerCase();
    this.buildOnly = options.buildOnly ?? false;
    this.strictSlashesOption = options.strictSlashes;
    if (options.methods === undefined) {
      this.methods = null;
      this.automaticOptions = false;
    } else {
      const methods = new Set([...options.methods].map((m) => m.toUpperCase()));
      if (methods.has('GET')) methods.add('HEAD');
      this.automaticOptions = !methods.has('OPTIONS') && options.provideAutomaticOptions !== false;
      if (this.automaticOptions) methods.add('OPTIONS');
      this.methods = methods;
    }
  }

  /** Whether the rule answers `method` (upper case). */
  allows(method: string): boolean {
    return this.methods === null || this.methods.has(method);
  }

  private parse(pattern: string, ctx: RuleContext, seen: Set<string>): Token[] {
    const tokens: Token[] = [];
    let last = 0;
    for (const m of pattern.matchAll(VAR_RE)) {
      if (m.index > last) tokens.push({ text: pattern.slice(last, m.index) });
      last = m.index + m[0].length;
      const [, convName = 'default', argSource, name] = m;
      if (seen.has(name!)) throw new TypeError(`Rule ${this.rule}: variable ${name} appears twice`);
      seen.add(name!);
      const Conv = Object.hasOwn(ctx.converters, convName) ? ctx.converters[convName] : undefined;
      if (Conv === undefined) throw new TypeError(`Rule ${this.rule}: no converter named ${JSON.stringify(convName)}`);
      const { args, kwargs } = argSource === undefined ? { args: [], kwargs: {} } : parseConverterArgs(argSource);
      const converter = new Conv(ctx.map, args, kwargs);
      if (groupCount(converter.regex) !== 0) {
        throw new TypeError(`Rule ${this.rule}: converter ${convName}'s regex has capturing groups; use (?:...)`);
      }
      tokens.push({ name: name!, converter });
    }
    if (last < pattern.length) tokens.push({ text: pattern.slice(last) });
    const rest = tokens.map((t) => t.text ?? '').join('');
    if (rest.includes('<') || rest.includes('>')) throw new SyntaxError(`Rule ${this.rule}: malformed variable in ${JSON.stringify(pattern)}`);
    return tokens;
  }

  /** Compiles the rule for a map. Called by RouteMap.add(); throws on a malformed rule. */
  compile(ctx: RuleContext): void {
    const seen = new Set<string>();
    const domain = ctx.hostMatching ? (this.host ?? '') : (this.subdomain ?? ctx.defaultSubdomain);
    this.domainTokens = ctx.usesDomain ? this.parse(domain, ctx, seen) : [];
    this.pathTokens = this.parse(this.rule, ctx, seen);
    const vars = [...this.domainTokens, ...this.pathTokens].filter((t): t is Token & { name: string; converter: BaseConverter } => t.name !== undefined);
    this.arguments = vars.map((t) => t.name);
    this.converters = vars.map((t) => t.converter);
    this.strictSlashes = this.strictSlashesOption ?? ctx.strictSlashes;

    const src = (tokens: Token[]) => tokens.map((t) => (t.name === undefined ? escapeRegex(t.text) : `(${t.converter.regex})`)).join('');
    let pathSource = src(this.pathTokens);
    // Without strict slashes `/x/` and `/x` are the same resource: the slash becomes optional.
    const loose = !this.strictSlashes && this.rule !== '/';
    if (loose) pathSource = (pathSource.endsWith('/') ? pathSource.slice(0, -1) : pathSource) + '/?';
    this.source = ctx.usesDomain ? `${src(this.domainTokens)}\\|${pathSource}` : pathSource;
    this.regex = new RegExp(`^${this.source}$`, 's');
    this.staticSubject = vars.length === 0 && !loose ? (ctx.usesDomain ? `${domain}|${this.rule}` : this.rule) : null;

    const head = this.pathTokens[0]?.text;
    const slash = head === undefined ? -1 : head.indexOf('/', 1);
    this.firstSegment = !ctx.usesDomain && slash > 1 ? head!.slice(1, slash) : null;

    this.weights = [];
    for (const t of this.pathTokens) {
      if (t.name !== undefined) this.weights.push([1, t.converter.weight]);
      else for (const piece of t.text.split('/')) if (piece) this.weights.push([0, -piece.length]);
    }
  }

  /** The rule's arguments from a successful exec() of a combined regex, or null when a converter refuses. */
  values(match: RegExpExecArray, first: number): Record<string, unknown> | null {
    const out: Record<string, unknown> = this.hasDefaults ? { ...this.defaults } : {};
    for (let i = 0; i < this.converters.length; i++) {
      try {
        out[this.arguments[i]!] = this.converters[i]!.toValue(match[first + i]!);
      } catch (err) {
        if (err instanceof ValidationError) return null;
        throw err;
      }
    }
    return out;
  }

  /** Matches a subject on its own: the arguments, or null. */
  match(subject: string): Record<string, unknown> | null {
    const m = this.regex.exec(subject);
    return m === null ? null : this.values(m, 1);
  }

  /** Whether this rule can build a URL for `values` (and `method`): Werkzeug's `suitable_for`. */
  suitableFor(values: Record<string, unknown>, method?: string): boolean {
    if (method !== undefined && !this.allows(method.toUpperCase())) return false;
    for (const name of this.arguments) {
      if (!Object.hasOwn(this.defaults, name) && (values[name] === undefined || values[name] === null)) return false;
    }
    // A value given for a default must equal it: `/page/` (n defaults to 1) cannot build n=2.
    for (const [name, value] of Object.entries(this.defaults)) {
      const given = values[name];
      if (given !== undefined && given !== null && given !== value && String(given) !== String(value)) return false;
    }
    return true;
  }

  /** The names that suitableFor() found missing, for error messages. */
  missing(values: Record<string, unknown>): string[] {
    return this.arguments.filter((n) => !Object.hasOwn(this.defaults, n) && (values[n] === undefined || values[n] === null));
  }

  /** Builds the domain part and the percent-encoded path, or null when a converter refuses a value. */
  build(values: Record<string, unknown>): { domain: string; path: string } | null {
    const part = (tokens: Token[], isPath: boolean): string => {
      let out = '';
      for (const t of tokens) {
        if (t.name === undefined) out += isPath ? quoteSegment(t.text, true) : t.text;
        else {
          const v = values[t.name] ?? this.defaults[t.name];
          out += t.converter.toUrl(v);
        }
      }
      return out;
    };
    try {
      return { domain: part(this.domainTokens, false), path: part(this.pathTokens, true) };
    } catch (err) {
      if (err instanceof ValidationError) return null;
      throw err;
    }
  }

  /** Number of converter groups in `source`. */
  get groups(): number {
    return this.converters.length;
  }

  toString(): string {
    return `${this.rule} -> ${this.endpoint}${this.methods ? ` (${[...this.methods].join(', ')})` : ''}`;
  }
}

/** Sort order for matching: Werkzeug's `(has arguments, -number of parts, weights)`. Stable for ties. */
export function compareRules(a: Rule, b: Rule): number {
  const aa = a.arguments.length > 0 ? 1 : 0;
  const ba = b.arguments.length > 0 ? 1 : 0;
  if (aa !== ba) return aa - ba;
  if (a.weights.length !== b.weights.length) return b.weights.length - a.weights.length;
  for (let i = 0; i < a.weights.length; i++) {
    const [ak, av] = a.weights[i]!;
    const [bk, bv] = b.weights[i]!;
    if (ak !== bk) return ak - bk;
    if (av !== bv) return av - bv;
  }
  return 0;
}
