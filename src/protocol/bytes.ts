// Byte helpers for the engine. The engine runs outside Node too (the Fetch door), so it reaches for
// Buffer only when the runtime has it: Buffer.from(string) is markedly faster than TextEncoder in V8
// for the short strings of a typical response, and Buffer is a Uint8Array.

type BufferLike = {
  from(s: string, enc: string): Uint8Array;
  allocUnsafeSlow(n: number): Uint8Array<ArrayBuffer>;
  byteLength(s: string, enc: string): number;
  concat(list: readonly Uint8Array[], total?: number): Uint8Array<ArrayBuffer>;
};
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;
const encoder = new TextEncoder();

export const EMPTY = new Uint8Array(0);

/** A string body chunk is UTF-8 (DESIGN.md §1). */
export const utf8: (s: string) => Uint8Array = NodeBuffer ? (s) => NodeBuffer.from(s, 'utf8') : (s) => encoder.encode(s);

/** Native strings are latin-1: one byte per char code, which must be < 256 (checked by the caller). */
export const latin1Bytes: (s: string) => Uint8Array = NodeBuffer
  ? (s) => NodeBuffer.from(s, 'latin1')
  : (s) => {
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
      return out;
    };

/** Bytes → native string. (TextDecoder's 'latin1' is windows-1252, so decode by hand off Node.) */
export const nativeString: (b: Uint8Array) => string = NodeBuffer
  ? (b) => (NodeBuffer as unknown as { prototype: { latin1Slice(this: Uint8Array, s: number, e: number): string } }).prototype.latin1Slice.call(b, 0, b.length)
  : (b) => {
      let s = '';
      for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
      return s;
    };

/**
 * `n` bytes on an ArrayBuffer of their own, for a caller that writes every one of them: on Node not
 * zero-filled first (Buffer.allocUnsafeSlow; never the shared pool, whose other bytes would show
 * through `.buffer`). Joining 64 KiB upload pieces, the zero-fill was as many instructions as the copy.
 */
export const uninitialized: (n: number) => Uint8Array<ArrayBuffer> = NodeBuffer ? (n) => NodeBuffer.allocUnsafeSlow(n) : (n) => new Uint8Array(n);

/** Bytes in the UTF-8 encoding of `s` (its length when, and only when, every char is ASCII). */
export const utf8Length: (s: string) => number = NodeBuffer ? (s) => NodeBuffer.byteLength(s, 'utf8') : (s) => encoder.encode(s).length;

/**
 * Every char of `s` is ASCII (so its UTF-8 bytes are its chars, one each). A short string is looked at in
 * JavaScript: Buffer.byteLength is a call into C++ that costs more than a loop over a hello's 14 chars.
 */
export function isAscii(s: string): boolean {
  if (s.length > 64) return utf8Length(s) === s.length;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

export function toBytes(chunk: Uint8Array | string): Uint8Array {
  if (typeof chunk === 'string') return utf8(chunk);
  return chunk;
}

// Parts on plain ArrayBuffers give a result on one (Buffer.concat and new Uint8Array allocate one).
export function concat(parts: readonly Uint8Array<ArrayBuffer>[], total?: number): Uint8Array<ArrayBuffer>;
export function concat(parts: readonly Uint8Array[], total?: number): Uint8Array;
export function concat(parts: readonly Uint8Array[], total?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  if (NodeBuffer) return NodeBuffer.concat(parts, total);
  let n = total ?? 0;
  if (total === undefined) for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
