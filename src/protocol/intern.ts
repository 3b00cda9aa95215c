// Variable names read from bytes (a uwsgi vars block, FastCGI params), as the strings V8's property-key
// table already holds. A front end sends the same dozen or two names on every request; a name sliced
// from the packet is a new string, and V8 then hashes it, looks it up in its string table and makes
// it a thin string (as an environ key): about 7% of the uwsgi door's instructions per request
// (callgrind, bench/instructions.mjs --only uwsgi: 100.5k, 95.1k with this). Comparing the bytes with
// a name seen before costs far less. No library does this: it is a few lines tied to how V8 keys objects.
//
// A name is found by a hash of its length and four of its bytes, then compared byte by byte: a name
// whose bytes differ is never taken for another. A slot is filled the first time its name is seen,
// and never replaced: names seen later that land on a full slot are decoded each time (a front end
// that sends a new name per request cannot fill memory or slow the names that came first).
import { nativeString } from './bytes.js';
import { internalized } from './names.js';

const SLOTS = 1024; // a power of two
const PROBES = 4;
const MAX_NAME = 64;

const slotBytes: Array<Uint8Array | undefined> = new Array(SLOTS).fill(undefined);
const slotNames: string[] = new Array(SLOTS).fill('');

function slotOf(b: Uint8Array, start: number, length: number): number {
  const h =
    Math.imul(length, 0x9e3779b1) ^
    Math.imul(b[start]! | (b[start + length - 1]! << 8), 0x85ebca6b) ^
    Math.imul(b[start + (length >> 1)]! | (b[start + (length >> 2)]! << 8), 0xc2b2ae35);
  return (h ^ (h >>> 15)) & (SLOTS - 1);
}

/** The name in `b[start, start + length)` (latin-1), as an internalized string when it can be kept. `length` ≥ 1. */
export function internName(b: Uint8Array, start: number, length: number): string {
  if (length > MAX_NAME) return nativeString(b.subarray(start, start + length));
  let slot = slotOf(b, start, length);
  for (let probe = 0; probe < PROBES; probe++, slot = (slot + 1) & (SLOTS - 1)) {
    const known = slotBytes[slot];
    if (known === undefined) {
      const name = internalized(nativeString(b.subarray(start, start + length)));
      // A copy (not b.slice(), which on a Buffer is a view): the bytes read may be overwritten later.
      slotBytes[slot] = new Uint8Array(b.subarray(start, start + length));
      slotNames[slot] = name;
      return name;
    }
    if (known.length !== length) continue;
    let i = 0;
    while (i < length && known[i] === b[start + i]) i++;
    if (i === length) return slotNames[slot]!;
  }
  return nativeString(b.subarray(start, start + length));
}
