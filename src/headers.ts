// wsgiref.headers.Headers for TypeScript: a case-insensitive view over a HeaderList that an
// application builds and then hands to startResponse. It follows CPython's Lib/wsgiref/headers.py
// (H1–H14): same ordering rules, same errors and messages, same wire format.
import type { HeaderList } from './spec.js';
import { AssertionError, ValueError, latin1 } from './util.js';

// RFC 9110 §5.5: HTAB may appear in a field value but never in a name.
const NAME_DISALLOWED = /[\x00-\x1F\x7F]/;
const VALUE_DISALLOWED = /[\x00-\x08\x0A-\x1F\x7F]/;

/** Python's repr() for the values a caller could wrongly pass, for wsgiref's error message. */
function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof Uint8Array) return `b'${Array.from(v, (b) => String.fromCharCode(b)).join('')}'`;
  return `<${(v as object).constructor?.name ?? 'object'} object>`;
}

/** wsgiref's `_convert_string_type`: a str without control characters, or an error. */
function checked(value: unknown, isName: boolean): string {
  if (typeof value !== 'string') {
    throw new AssertionError(`Header names/values must be of type str (got ${pyRepr(value)})`, 'TSGI_ERR_APP_HEADERS');
  }
  if ((isName ? NAME_DISALLOWED : VALUE_DISALLOWED).test(value)) {
    throw new ValueError('Control characters not allowed in headers', 'TSGI_ERR_APP_HEADERS');
  }
  return value;
}

/** wsgiref's `_formatparam(k, v, quote=1)`: always quoted, with `\` and `"` escaped; '' gives a bare key. */
function formatParam(name: string, value: string): string {
  if (value.length === 0) return name;
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Manages a list of response headers. Names compare case-insensitively; order and duplicates
 * are kept; a name set anew moves to the end. The Headers object works *on* the list it was
 * given (`list`), so the caller sees every change, as in wsgiref.
 */
export class Headers implements Iterable<[string, string]> {
  /** The list this object edits in place (the one passed to the constructor, or a new one). */
  readonly list: HeaderList;

  constructor(headers?: HeaderList | null) {
    const list: unknown = headers ?? [];
    if (!Array.isArray(list)) throw new TypeError('Headers must be a list of name/value tuples');
    for (const pair of list as unknown[]) {
      // Python's `for k, v in headers` unpacks each item; anything but a pair cannot be a header.
      if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError('Headers must be a list of name/value tuples');
      checked(pair[0], true);
      checked(pair[1], false);
    }
    this.list = list as HeaderList;
  }

  /** The number of headers, duplicates included (`len(h)`). */
  get length(): number {
    return this.list.length;
  }

  /** Replaces every header called `name` with one `name: value`, appended at the end (`h[name] = value`). */
  set(name: string, value: string): void {
    // wsgiref deletes first and checks the value after, so a bad value loses the old headers;
    // checking both first keeps the list intact when this throws.
    checked(name, true);
    checked(value, false);
    this.delete(name);
    this.list.push([name, value]);
  }

  /** Removes every header called `name`; no error when there is none (`del h[name]`). */
  delete(name: string): void {
    const key = checked(name, true).toLowerCase();
    // Filter in place: the caller's list must stay the same array (wsgiref: `self._headers[:] = ...`).
    let kept = 0;
    for (const pair of this.list) if (pair[0].toLowerCase() !== key) this.list[kept++] = pair;
    this.list.length = kept;
  }

  /** The first value of `name`, or `defaultValue` (null) when there is none; never throws for a missing name. */
  get(name: string): string | null;
  get<D>(name: string, defaultValue: D): string | D;
  get(name: string, ...rest: unknown[]): unknown {
    const key = checked(name, true).toLowerCase();
    for (const [k, v] of this.list) if (k.toLowerCase() === key) return v;
    // An explicit `undefined` default is returned as given, like Python's get(name, None).
    return rest.length > 0 ? rest[0] : null;
  }

  /** Whether a header called `name` exists (`name in h`). */
  has(name: string): boolean {
    return this.get(name) !== null;
  }

  /** Every value of `name`, in list order; [] when there is none (`get_all`). */
  getAll(name: string): string[] {
    const key = checked(name, true).toLowerCase();
    return this.list.filter(([k]) => k.toLowerCase() === key).map(([, v]) => v);
  }

  /** The first value of `name`; when there is none, appends `name: value` and returns `value`. */
  setdefault(name: string, value: string): string {
    const found = this.get(name);
    if (found !== null) return found;
    this.list.push([checked(name, true), checked(value, false)]);
    return value;
  }

  /**
   * Appends a header with parameters (`add_header`): `addHeader('Content-Disposition', 'attachment',
   * { filename: 'bud.gif' })` gives `attachment; filename="bud.gif"`. In parameter names `_` becomes
   * `-`; a null value gives the bare name; a value is always quoted. A null `value` leaves only
   * the parameters. Parameters that are `undefined` are skipped (JavaScript's "not given").
   */
  addHeader(name: string, value: string | null, params: Record<string, string | null | undefined> = {}): void {
    const parts: string[] = [];
    if (value !== null && value !== undefined) parts.push(checked(value, false));
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue;
      const param = checked(k, true).replaceAll('_', '-');
      parts.push(v === null ? param : formatParam(param, checked(v, false)));
    }
    this.list.push([checked(name, true), parts.join('; ')]);
  }

  /** Every name in order, duplicates included. */
  keys(): string[] {
    return this.list.map(([k]) => k);
  }

  /** Every value in order, duplicates included. */
  values(): string[] {
    return this.list.map(([, v]) => v);
  }

  /** A copy of the list (pairs copied too: Python's tuples cannot be changed through it either). */
  items(): HeaderList {
    return this.list.map(([k, v]) => [k, v]);
  }

  /** The pairs, as items() gives them. */
  [Symbol.iterator](): Iterator<[string, string]> {
    return this.items()[Symbol.iterator]();
  }

  /** The header block as it goes on the wire: `Name: value\r\n` per header, then `\r\n`. */
  toString(): string {
    let s = '';
    for (const [k, v] of this.list) s += `${k}: ${v}\r\n`;
    return s + '\r\n';
  }

  /** toString() in ISO-8859-1; throws a TypeError for a char above U+00FF (`bytes(h)`). */
  toBytes(): Uint8Array {
    return latin1(this.toString());
  }
}
