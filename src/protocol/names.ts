// Request header names to environ keys (CGI rules, RFC 3875 §4.1.18), and the token grammar of methods
// and field names (RFC 9110 §5.6.2), shared by every door.

// HTTP_<NAME> for every header name seen so far: the same few names recur on every request, so the
// upper-casing and the underscore check are done once per name, not once per request.
const keyCache = new Map<string, HeaderVar | null>();
const MAX_CACHED = 2048;

/** The environ keys request headers become. */
export type HeaderVar = `HTTP_${string}` | 'CONTENT_TYPE' | 'CONTENT_LENGTH';

/** Whether an environ key holds a request header. */
export function isHeaderVar(key: string): key is HeaderVar {
  return key.startsWith('HTTP_') || key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH';
}

/**
 * The same string as V8's property-key table holds it. A key built by concatenation is a new string
 * that V8 must look up in that table at every `environ[key] = value`; worse, a keyed-store site that
 * meets it goes megamorphic at once (its cached name never matches by identity), and every store and
 * load through it then takes the generic path. Object.keys() answers the table's own string.
 */
export function internalized<K extends string>(key: K): K {
  return Object.keys({ [key]: 0 })[0] as K;
}

/** The environ key of a request header, or null when the header is dropped (its name has `_`). */
export function headerKey(name: string): HeaderVar | null {
  let key = keyCache.get(name);
  if (key !== undefined) return key;
  if (name.includes('_')) {
    // Dropped, as nginx, waitress and gunicorn >= 22 do: `X_Foo` must not impersonate `X-Foo`.
    key = null;
  } else {
    let upper = '';
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      // ASCII-only upper-casing keeps the latin-1 invariant (wsgi-spec.md T22).
      upper += c === 45 ? '_' : c >= 97 && c <= 122 ? String.fromCharCode(c - 32) : name[i];
    }
    key = internalized(upper === 'CONTENT_TYPE' || upper === 'CONTENT_LENGTH' ? upper : `HTTP_${upper}`);
  }
  if (keyCache.size < MAX_CACHED) keyCache.set(name, key);
  return key;
}

// RFC 9110 §5.6.2 tchar as a 128-entry table: a lookup per char code is the fastest check in V8.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}

/** An RFC 9110 token: what a method or a field name must be. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}
