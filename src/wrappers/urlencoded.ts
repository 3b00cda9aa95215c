/**
 * `application/x-www-form-urlencoded` and query strings, decoded as Werkzeug does: pairs split on `&`
 * (not `;`), the key from the value at the first `=`, `+` is a space, `%XX` a byte, and the bytes read
 * as UTF-8 with every invalid sequence replaced by U+FFFD, so no input throws. A pair without `=` has
 * the value `''`; empty pairs (`a=1&&b=2`) are skipped.
 *
 * Written here rather than with URLSearchParams because the input is a native string (one character
 * per byte, docs/SPEC.md R23): URLSearchParams would encode a raw byte 0xE9 as the two UTF-8 bytes of
 * `é` before decoding, which is not what the client sent.
 * @module
 */
import { MultiDict } from './multidict.js';

// ignoreBOM keeps a leading U+FEFF the client sent (TextDecoder would drop it silently).
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** `+` to a space, `%XX` to its byte, other characters to their byte; the result decoded as UTF-8. */
export function decodeComponent(s: string): string {
  if (!/[%+\x80-\uffff]/.test(s)) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) bytes.push(0x20);
    else if (c === 0x25 && i + 2 < s.length && hex(s.charCodeAt(i + 1)) >= 0 && hex(s.charCodeAt(i + 2)) >= 0) {
      bytes.push(hex(s.charCodeAt(i + 1)) * 16 + hex(s.charCodeAt(i + 2)));
      i += 2;
    } else if (c <= 0xff) bytes.push(c);
    else bytes.push(...new TextEncoder().encode(s[i]!)); // not a native string: take the text's own bytes
  }
  return decoder.decode(Uint8Array.from(bytes));
}

/**
 * Parses a query string or a urlencoded body given as a native string. `maxPairs` bounds the number of
 * pairs; `onTooMany` says what to throw when there are more (the caller's 413).
 */
export function parseUrlEncoded(native: string, maxPairs = Infinity, onTooMany?: () => Error): MultiDict<string> {
  const out = new MultiDict<string>();
  if (!native) return out;
  let count = 0;
  for (const pair of native.split('&')) {
    if (!pair) continue;
    if (++count > maxPairs) throw onTooMany ? onTooMany() : new RangeError(`more than ${maxPairs} form fields`);
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    const value = eq === -1 ? '' : pair.slice(eq + 1);
    out.append(decodeComponent(key), decodeComponent(value));
  }
  return out;
}
