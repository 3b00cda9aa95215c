// Field values as lists and tokens (RFC 9110 §5.6), for the rules that read them: Transfer-Encoding,
// Connection, Expect, Content-Length (src/protocol/framing.ts).
//
// Why by hand, and why not String.prototype.trim(): OWS is SP and HTAB only (RFC 9110 §5.6.3). trim()
// also strips \v, \f, U+00A0 (a latin-1 0xA0 byte), U+FEFF and the other Unicode spaces, so a coding
// sent as `chunked\xa0` would be read as `chunked` here and as something else by a proxy in front of
// us: the gap request smuggling lives in. A member is compared exactly as sent, OWS aside.

/** tchar (RFC 9110 §5.6.2): the bytes of a token (a method, a field name, a transfer coding). */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** token = 1*tchar. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || !TCHAR[c]) return false;
  }
  return true;
}

/** OWS = *( SP / HTAB ). */
function ows(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * The members of a list-valued field (RFC 9110 §5.6.1: `#element`), from every line of that field in
 * order (a recipient may combine field lines with commas, §5.3): split at commas outside a
 * quoted-string, OWS around each member removed, empty members dropped (§5.6.1 says a recipient MUST
 * accept and ignore them). Members keep their case and every other byte.
 */
export function listMembers(values: readonly string[]): string[] {
  const out: string[] = [];
  const push = (value: string, a: number, b: number) => {
    while (a < b && ows(value.charCodeAt(a))) a++;
    while (b > a && ows(value.charCodeAt(b - 1))) b--;
    if (b > a) out.push(value.slice(a, b));
  };
  for (const value of values) {
    let start = 0;
    let quoted = false;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (quoted) {
        if (c === 92)
          i++; // quoted-pair
        else if (c === 34) quoted = false;
      } else if (c === 34) quoted = true;
      else if (c === 44) {
        push(value, start, i);
        start = i + 1;
      }
    }
    push(value, start, value.length);
  }
  return out;
}

/** ASCII case-insensitive equality with a lower-case `lower` (field values are latin-1, never Unicode-folded). */
export function sameToken(member: string, lower: string): boolean {
  if (member.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    let c = member.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
