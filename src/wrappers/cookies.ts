/**
 * Cookies: reading the request's `Cookie` header into a MultiDict, and writing `Set-Cookie` values
 * with the `cookie` package (RFC 6265bis attributes: SameSite, Partitioned, Priority), plus the checks
 * browsers apply anyway, made early so a cookie that would be dropped fails loudly in development:
 * the `__Secure-` and `__Host-` prefixes, `SameSite=None` and `Partitioned` each need `Secure`.
 * @module
 */
import { serialize } from 'cookie';
import { utf8FromNative } from '../util.js';
import { MultiDict } from './multidict.js';

export interface CookieOptions {
  /** Seconds until it expires (`Max-Age`); 0 or less expires it now. */
  maxAge?: number;
  /** When it expires (`Expires`). Without maxAge or expires it is a session cookie. */
  expires?: Date;
  /** @default '/' (Werkzeug's default: the whole site) */
  path?: string;
  /** Send it to subdomains of this domain too. Leave it out to keep it to the exact host. */
  domain?: string;
  /** Only over HTTPS. */
  secure?: boolean;
  /** Hidden from JavaScript in the page. */
  httpOnly?: boolean;
  /** `Strict`, `Lax` or `None` (None needs secure). Case does not matter. */
  sameSite?: 'Strict' | 'Lax' | 'None' | 'strict' | 'lax' | 'none';
  /** CHIPS: a cookie partitioned by top-level site (needs secure). */
  partitioned?: boolean;
  /** Chrome's `Priority` attribute. */
  priority?: 'Low' | 'Medium' | 'High' | 'low' | 'medium' | 'high';
}

/**
 * The `Set-Cookie` value for `name=value`. The value is percent-encoded (`encodeURIComponent`), so any
 * text round-trips through `request.cookies`; the name must be an RFC 6265 token. Throws a TypeError
 * for anything a browser would refuse.
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  const path = options.path ?? '/';
  const secure = options.secure ?? false;
  const sameSite = options.sameSite?.toLowerCase() as 'strict' | 'lax' | 'none' | undefined;
  if (sameSite !== undefined && !['strict', 'lax', 'none'].includes(sameSite)) {
    throw new TypeError(`cookie ${name}: sameSite must be Strict, Lax or None (got ${JSON.stringify(options.sameSite)})`);
  }
  if (name.startsWith('__Secure-') && !secure) throw new TypeError(`cookie ${name}: the __Secure- prefix needs secure: true`);
  if (name.startsWith('__Host-') && (!secure || path !== '/' || options.domain !== undefined)) {
    throw new TypeError(`cookie ${name}: the __Host- prefix needs secure: true, path '/' and no domain`);
  }
  if (sameSite === 'none' && !secure) throw new TypeError(`cookie ${name}: SameSite=None needs secure: true (browsers drop it otherwise)`);
  if (options.partitioned && !secure) throw new TypeError(`cookie ${name}: partitioned needs secure: true`);
  return serialize(name, value, {
    maxAge: options.maxAge,
    expires: options.expires,
    path,
    domain: options.domain,
    secure,
    httpOnly: options.httpOnly,
    sameSite,
    partitioned: options.partitioned,
    priority: options.priority?.toLowerCase() as 'low' | 'medium' | 'high' | undefined,
  });
}

/**
 * The cookies of a `Cookie` header (a native string). Every `name=value` is kept, duplicates in the
 * order sent (a browser sends the most specific path first, so `get()` gives the one that applies).
 * Parsed here, not with `cookie.parse`, because that keeps only the first of a repeated name. Values
 * lose surrounding double quotes and are percent-decoded as UTF-8 when that is valid (what
 * `serializeCookie` wrote), else kept as sent; the bytes are read as UTF-8, bad ones becoming U+FFFD.
 */
export function parseCookies(header: string): MultiDict<string> {
  const out = new MultiDict<string>();
  if (!header) return out;
  for (const piece of utf8FromNative(header).split(';')) {
    const eq = piece.indexOf('=');
    if (eq === -1) continue; // RFC 6265bis drops a nameless or valueless pair; so do browsers' document.cookie
    const name = piece.slice(0, eq).trim();
    if (!name) continue;
    let value = piece.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value.includes('%')) {
      try {
        value = decodeURIComponent(value);
      } catch {
        // not percent-encoding after all: keep it as sent
      }
    }
    out.append(name, value);
  }
  return out;
}
