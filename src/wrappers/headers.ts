/**
 * The request's headers as the environ holds them (`HTTP_*`, `CONTENT_TYPE`, `CONTENT_LENGTH`), looked
 * up by their HTTP names, case-insensitively; plus the parser for `type/subtype; name=value` fields.
 * @module
 */
import type { Environ, EnvironRecord } from '../spec.js';

/** The environ key of a header name, or null for a name the server drops (`_` in it, docs/SPEC.md R71). */
export function environKey(name: string): string | null {
  if (name.includes('_')) return null;
  const upper = name.toUpperCase().replace(/-/g, '_');
  if (upper === 'CONTENT_TYPE' || upper === 'CONTENT_LENGTH') return upper;
  return `HTTP_${upper}`;
}

/**
 * The request headers. Values are native strings (one character per byte, docs/SPEC.md R23): use
 * `utf8FromNative` from `tsgi/util` for a header that carries UTF-8. A field the client sent more than
 * once arrives joined with `,` (RFC 9110 §5.3; `Cookie` with `; `), so nothing is lost: `getList()`
 * splits a list-valued field back into its members.
 */
export class RequestHeaders implements Iterable<[string, string]> {
  constructor(private readonly environ: Environ) {}

  /** The value of `name` (any case), or null. */
  get(name: string): string | null {
    const key = environKey(name);
    if (key === null || !Object.hasOwn(this.environ, key)) return null;
    const v = (this.environ as EnvironRecord)[key];
    return typeof v === 'string' ? v : null;
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  /**
   * The members of a list-valued field (`Accept`, `If-None-Match`, `Cache-Control`…): split on commas
   * outside double quotes, trimmed, empty members dropped. Not for fields whose values contain commas
   * of their own (`Date`, `If-Modified-Since`, `User-Agent`, `Cookie`).
   */
  getList(name: string): string[] {
    const value = this.get(name);
    return value === null ? [] : splitList(value);
  }

  /** `[name, value]` for every header, names lower-case (`content-type`, `x-request-id`). */
  *entries(): IterableIterator<[string, string]> {
    for (const key of Object.keys(this.environ)) {
      const v = (this.environ as EnvironRecord)[key];
      if (typeof v !== 'string') continue;
      if (key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH') yield [key.toLowerCase().replace('_', '-'), v];
      else if (key.startsWith('HTTP_')) yield [key.slice(5).toLowerCase().replace(/_/g, '-'), v];
    }
  }

  keys(): string[] {
    return [...this.entries()].map(([k]) => k);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** Splits a comma-separated list, leaving commas inside double-quoted strings alone. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === '\\' && i + 1 < value.length) {
      current += c + value[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/**
 * `type/subtype; name=value; name="quoted value"` (Content-Type, Accept members): the lower-cased
 * value and its parameters, names lower-cased, quoted values unescaped. Malformed parameters are
 * skipped, as browsers do.
 */
export function parseOptionsHeader(value: string): { value: string; params: Record<string, string> } {
  const semi = value.indexOf(';');
  const main = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  if (semi !== -1) {
    const re = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
    let m: RegExpExecArray | null;
    const rest = value.slice(semi);
    while ((m = re.exec(rest)) !== null) {
      const name = m[1]!.toLowerCase();
      let v = m[2]!.trim();
      if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
      if (!(name in params)) params[name] = v;
    }
  }
  return { value: main, params };
}
