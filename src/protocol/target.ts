// Request targets to PATH_INFO and QUERY_STRING, shared by every door that sees a raw target.

/** Percent-decodes to a native string: `%XX` becomes U+00XX, malformed escapes stay as they are. */
export function decodePath(raw: string): string {
  let i = raw.indexOf('%');
  if (i === -1) return raw;
  let out = raw.slice(0, i);
  for (; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 37 && i + 2 < raw.length) {
      const h = hex(raw.charCodeAt(i + 1));
      const l = hex(raw.charCodeAt(i + 2));
      if (h !== -1 && l !== -1) {
        out += String.fromCharCode(h * 16 + l);
        i += 2;
        continue;
      }
    }
    out += raw[i];
  }
  return out;
}

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Splits a request target into [PATH_INFO, QUERY_STRING]. */
export function splitTarget(target: string): [string, string] {
  let path = target;
  let query = '';
  const hash = path.indexOf('#');
  if (hash !== -1) path = path.slice(0, hash); // a fragment is never part of the request (3/5 servers)
  const q = path.indexOf('?');
  if (q !== -1) {
    query = path.slice(q + 1);
    path = path.slice(0, q);
  }
  if (path.charCodeAt(0) !== 47 && path !== '*') {
    // absolute-form (RFC 9112 §3.2.2): the path of the URL; Host stays what the header says.
    const scheme = path.indexOf('://');
    if (scheme > 0) {
      const slash = path.indexOf('/', scheme + 3);
      path = slash === -1 ? '/' : path.slice(slash);
    }
  }
  path = decodePath(path);
  // A leading '//' could read as a network-path reference in naive redirects: collapse it (3/5 servers).
  if (path.charCodeAt(0) === 47 && path.charCodeAt(1) === 47) path = '/' + path.replace(/^\/+/, '');
  return [path, query];
}

