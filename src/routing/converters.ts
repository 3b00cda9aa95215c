/**
 * URL converters, as Werkzeug's: the `int` in `/users/<int:id>`. A converter gives the regular
 * expression one URL part must match (`regex`), turns the matched text into a value (`toValue`,
 * Werkzeug's `to_python`) and a value back into URL text (`toUrl`). Throwing a ValidationError from
 * `toValue` makes the rule not match (the router tries the next one); from `toUrl` it makes the rule
 * unusable for building those values.
 *
 * Built in: `string` (the default), `any`, `path`, `int`, `float`, `uuid`, with Werkzeug's arguments:
 * `<string(length=2):cc>`, `<string(minlength=3, maxlength=8):name>`, `<any(about, help):page>`,
 * `<int(signed=True, min=1, max=99, fixed_digits=4):n>`, `<float(signed=True):x>`.
 * @module
 */
import { TsgiError } from '../errors.js';

/** Thrown by a converter when a value is not one of its own: the rule then does not match (or build). */
export class ValidationError extends TsgiError {
  constructor(message = 'the value is not valid for this converter') {
    super('TSGI_ERR_ROUTE_VALUE', message);
    this.name = 'ValidationError';
  }
}

/** A converter argument as written in a rule: `True`/`False` → boolean, `None` → null, numbers, strings. */
export type ConverterArg = string | number | boolean | null;

/** What a converter class is constructed with: the map, the positional and the keyword arguments. */
export type ConverterClass = new (map: unknown, args: ConverterArg[], kwargs: Record<string, ConverterArg>) => BaseConverter;

// RFC 3986 pchar minus what must be escaped: unreserved and sub-delims, ':' and '@' stay as they are.
const SEGMENT_SAFE = /%(?:24|26|2B|2C|3A|3B|3D|40)/g;
const SEGMENT_UNESCAPE: Record<string, string> = {
  '%24': '$',
  '%26': '&',
  '%2B': '+',
  '%2C': ',',
  '%3A': ':',
  '%3B': ';',
  '%3D': '=',
  '%40': '@',
};

/**
 * Percent-encodes text (UTF-8) for one path segment: `/`, `?`, `#`, `%`, spaces and non-ASCII are
 * escaped; unreserved chars, sub-delims, `:` and `@` are kept (the WHATWG path-segment set, as
 * Werkzeug keeps them). `slashSafe` keeps `/` too, for `path` values. A lone surrogate (not text)
 * throws a ValidationError.
 */
export function quoteSegment(text: string, slashSafe = false): string {
  let out: string;
  try {
    out = encodeURIComponent(text);
  } catch {
    throw new ValidationError(`${JSON.stringify(text)} is not well-formed text (a lone surrogate)`);
  }
  out = out.replace(SEGMENT_SAFE, (m) => SEGMENT_UNESCAPE[m]!);
  return slashSafe ? out.replace(/%2F/g, '/') : out;
}

/**
 * The base of every converter: matches one non-empty part without `/`, passes the text through, and
 * percent-encodes values when building (a `/` in a value becomes `%2F`; Werkzeug leaves it bare, which
 * builds a URL its own rule cannot match). Subclass it for a custom converter and register the class
 * by name in `new RouteMap(rules, { converters: { name: Class } })`.
 */
export class BaseConverter {
  /** The pattern one part must match. No capturing groups (use `(?:…)`): the router numbers its own. */
  regex = '[^/]+';
  /** Lower is tried first when two rules could match the same URL (int 50, string 100, path 200). */
  weight = 100;
  /** False when the pattern can match `/` (a part spanning several segments, as `path`). */
  partIsolating = true;

  // The map and arguments are what Werkzeug passes; the base converter needs neither.
  constructor(_map?: unknown, _args: ConverterArg[] = [], _kwargs: Record<string, ConverterArg> = {}) {}

  /** The value of a matched part (the part is decoded text). Throw ValidationError to not match. */
  toValue(text: string): unknown {
    return text;
  }

  /** The URL text of a value, percent-encoded. Throw ValidationError when it is not a value of this converter. */
  toUrl(value: unknown): string {
    return quoteSegment(String(value));
  }
}

function intArg(kwargs: Record<string, ConverterArg>, name: string, args: ConverterArg[] = [], index = -1): number | null {
  const v = index >= 0 && index < args.length ? args[index] : kwargs[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`converter argument ${name} must be an integer (got ${JSON.stringify(v)})`);
  return v;
}

/** `string` (the default converter): one part, optionally of a fixed or bounded length. */
export class UnicodeConverter extends BaseConverter {
  private readonly min: number;
  private readonly max: number | null;

  constructor(map?: unknown, args: ConverterArg[] = [], kwargs: Record<string, ConverterArg> = {}) {
    super(map, args, kwargs);
    const length = intArg(kwargs, 'length', args, 2);
    this.min = length ?? intArg(kwargs, 'minlength', args, 0) ?? 1;
    this.max = length ?? intArg(kwargs, 'maxlength', args, 1);
    if (this.min < 0 || (this.max !== null && this.max < this.min)) throw new RangeError('string converter: bad length bounds');
    this.regex = `[^/]{${this.min},${this.max ?? ''}}`;
  }

  override toUrl(value: unknown): string {
    const text = String(value);
    // Lengths are in characters as the regex counts them: UTF-16 code units.
    if (text.length < this.min || (this.max !== null && text.length > this.max)) {
      throw new ValidationError(`${JSON.stringify(text)} does not fit ${this.regex}`);
    }
    return quoteSegment(text);
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** `any(a, b, c)`: exactly one of the listed words. */
export class AnyConverter extends BaseConverter {
  readonly items: readonly string[];

  constructor(map?: unknown, args: ConverterArg[] = [], kwargs: Record<string, ConverterArg> = {}) {
    super(map, args, kwargs);
    this.items = args.map(String);
    if (this.items.length === 0) throw new TypeError('any converter: list at least one item, as <any(a, b):name>');
    if (this.items.some((i) => i === '' || i.includes('/'))) throw new TypeError('any converter: items must be non-empty and without /');
    // Longest first, so `any(a, ab)` matches all of `ab`.
    this.regex = `(?:${[...this.items]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegex)
      .join('|')})`;
  }

  override toUrl(value: unknown): string {
    const text = String(value);
    if (!this.items.includes(text)) throw new ValidationError(`${JSON.stringify(text)} is not one of ${this.items.join(', ')}`);
    return quoteSegment(text);
  }
}

/** `path`: one or more parts, slashes included (but not starting with one). */
export class PathConverter extends BaseConverter {
  override regex = '[^/].*?';
  override weight = 200;
  override partIsolating = false;

  override toUrl(value: unknown): string {
    const text = String(value);
    if (text === '' || text.startsWith('/')) throw new ValidationError('a path value must be non-empty and not start with /');
    return quoteSegment(text, true);
  }
}

/** Shared by int and float: bounds, sign. */
abstract class NumberConverter extends BaseConverter {
  override weight = 50;
  protected readonly signed: boolean;
  protected readonly min: number | null;
  protected readonly max: number | null;

  constructor(map?: unknown, args: ConverterArg[] = [], kwargs: Record<string, ConverterArg> = {}) {
    super(map, args, kwargs);
    this.signed = kwargs['signed'] === true;
    const num = (name: string): number | null => {
      const v = kwargs[name];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'number') throw new TypeError(`converter argument ${name} must be a number (got ${JSON.stringify(v)})`);
      return v;
    };
    this.min = num('min');
    this.max = num('max');
  }

  protected inRange(n: number): boolean {
    return (this.min === null || n >= this.min) && (this.max === null || n <= this.max) && (this.signed || n >= 0);
  }
}

/**
 * `int`: digits only, so `-1` does not match unless `signed=True`. Leading zeros match (`007` is 7,
 * as in Werkzeug) unless `fixed_digits` is set, which demands exactly that many digits and pads when
 * building. Values beyond Number.MAX_SAFE_INTEGER do not match: they would not survive as a number.
 */
export class IntegerConverter extends NumberConverter {
  private readonly fixedDigits: number;

  constructor(map?: unknown, args: ConverterArg[] = [], kwargs: Record<string, ConverterArg> = {}) {
    super(map, args, kwargs);
    this.fixedDigits = intArg(kwargs, 'fixed_digits', args, 0) ?? 0;
    this.regex = this.signed ? '-?\\d+' : '\\d+';
  }

  override toValue(text: string): number {
    const digits = text.startsWith('-') ? text.length - 1 : text.length;
    if (this.fixedDigits && digits !== this.fixedDigits) throw new ValidationError();
    const n = Number(text);
    if (!Number.isSafeInteger(n) || !this.inRange(n)) throw new ValidationError();
    // -0 is 0 to a router.
    return n === 0 ? 0 : n;
  }

  override toUrl(value: unknown): string {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || !this.inRange(n)) {
      throw new ValidationError(`${String(value)} is not an integer this converter matches`);
    }
    const abs = String(Math.abs(n)).padStart(this.fixedDigits, '0');
    return n < 0 ? `-${abs}` : abs;
  }
}

/** `float`: `1.5` (a dot and digits on both sides are required, as Werkzeug), `-1.5` only with `signed=True`. */
export class FloatConverter extends NumberConverter {
  constructor(map?: unknown, args: ConverterArg[] = [], kwargs: Record<string, ConverterArg> = {}) {
    super(map, args, kwargs);
    this.regex = this.signed ? '-?\\d+\\.\\d+' : '\\d+\\.\\d+';
  }

  override toValue(text: string): number {
    const n = Number(text);
    if (!Number.isFinite(n) || !this.inRange(n)) throw new ValidationError();
    return n === 0 ? 0 : n;
  }

  override toUrl(value: unknown): string {
    const n = typeof value === 'string' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n) || !this.inRange(n)) {
      throw new ValidationError(`${String(value)} is not a number this converter matches`);
    }
    // Always a dot, never exponent notation (the regex wants digits.digits): the shortest decimal
    // that reads back as the same double, written out in full.
    let s = plainDecimal(String(n === 0 ? 0 : n));
    if (!s.includes('.')) s += '.0';
    return s;
  }
}

/** `1.5e-7` → `0.00000015`, `1e+21` → `1000000000000000000000`: the same digits, without an exponent. */
function plainDecimal(s: string): string {
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return s;
  const [, sign, first, rest = '', e] = m;
  const digits = first! + rest;
  const exp = Number(e);
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  return `${sign}${digits}${'0'.repeat(Math.max(0, exp - rest.length))}`;
}

/** `uuid`: the 8-4-4-4-12 hex form, either case; the value is lower-cased (as Python's str(UUID)). */
export class UUIDConverter extends BaseConverter {
  override regex = '[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}';

  override toValue(text: string): string {
    return text.toLowerCase();
  }

  override toUrl(value: unknown): string {
    const text = String(value).toLowerCase();
    if (!new RegExp(`^${this.regex}$`).test(text)) throw new ValidationError(`${JSON.stringify(text)} is not a UUID`);
    return text;
  }
}

/** The converters every map knows; `default` is used for `<name>` without one. */
export const DEFAULT_CONVERTERS: Readonly<Record<string, ConverterClass>> = Object.freeze({
  default: UnicodeConverter,
  string: UnicodeConverter,
  any: AnyConverter,
  path: PathConverter,
  int: IntegerConverter,
  float: FloatConverter,
  uuid: UUIDConverter,
});

// One argument: `name=` optionally, then True/False/None, a number, a quoted string or a bare word.
const ARG_RE = /\s*(?:([A-Za-z_]\w*)\s*=\s*)?(True|False|None|-?\d+\.\d+|-?\d+|"[^"]*"|'[^']*'|[\w.-]+)\s*(?:,|$)/y;

/** Parses what is inside `int(...)`: Werkzeug's `parse_converter_args`. */
export function parseConverterArgs(source: string): { args: ConverterArg[]; kwargs: Record<string, ConverterArg> } {
  const args: ConverterArg[] = [];
  const kwargs: Record<string, ConverterArg> = {};
  const text = source.trim();
  ARG_RE.lastIndex = 0;
  while (ARG_RE.lastIndex < text.length) {
    const at = ARG_RE.lastIndex;
    const m = ARG_RE.exec(text);
    if (!m) throw new SyntaxError(`cannot parse converter arguments ${JSON.stringify(source)} at ${JSON.stringify(text.slice(at))}`);
    const raw = m[2]!;
    let value: ConverterArg;
    if (raw === 'True') value = true;
    else if (raw === 'False') value = false;
    else if (raw === 'None') value = null;
    else if (/^-?\d+(?:\.\d+)?$/.test(raw)) value = Number(raw);
    else if (raw.startsWith('"') || raw.startsWith("'")) value = raw.slice(1, -1);
    else value = raw;
    if (m[1] !== undefined) kwargs[m[1]] = value;
    else if (Object.keys(kwargs).length > 0) throw new SyntaxError(`positional converter argument after a keyword one in ${JSON.stringify(source)}`);
    else args.push(value);
  }
  return { args, kwargs };
}
