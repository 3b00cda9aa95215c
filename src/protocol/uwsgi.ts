// The uwsgi request packet, parsed incrementally: a 4-byte header (modifier1 u8, datasize u16
// little-endian, modifier2 u8), then `datasize` bytes of vars (u16le key length, key, u16le value
// length, value; repeated, no terminator), then the body, which is not part of the packet.
// Pure: no Node imports, no I/O, so it can be fed whole, byte by byte or in random splits and must
// give the same answer. Every length read from the wire is checked against what is left of the block
// before it is used (research/reliability.md (e) U3–U8, U15).
import { nativeString } from './bytes.js';
import { internName } from './intern.js';
import { TsgiError, type ErrorCode } from '../errors.js';

/** The u16 datasize field cannot say more; also the default buffer (uWSGI's 4 KiB is a common complaint). */
export const MAX_VARS_SIZE = 65535;

/** What is wrong with the bytes, finer than the catalogue code each kind maps to. */
export type PacketErrorKind =
  | 'http' // an HTTP request on the uwsgi port
  | 'tls' // a TLS ClientHello on the uwsgi port
  | 'modifier' // modifier1 other than 0 (WSGI)
  | 'empty' // datasize 0
  | 'too-big' // datasize above the configured buffer size
  | 'empty-key' // a zero-length key
  | 'key-overrun' // a key (or its length) runs past the end of the vars block
  | 'value-overrun' // a value (or its length) runs past the end of the vars block
  | 'truncated'; // the connection ended before the packet was complete

const KIND_CODES: Record<PacketErrorKind, ErrorCode> = {
  http: 'TSGI_ERR_UWSGI_FOREIGN',
  tls: 'TSGI_ERR_UWSGI_FOREIGN',
  modifier: 'TSGI_ERR_UWSGI_MODIFIER',
  'too-big': 'TSGI_ERR_UWSGI_TOO_BIG',
  empty: 'TSGI_ERR_UWSGI_MALFORMED',
  'empty-key': 'TSGI_ERR_UWSGI_MALFORMED',
  'key-overrun': 'TSGI_ERR_UWSGI_MALFORMED',
  'value-overrun': 'TSGI_ERR_UWSGI_MALFORMED',
  truncated: 'TSGI_ERR_UWSGI_TRUNCATED',
};

/**
 * Bytes that are not a uwsgi packet: the door closes the connection without calling the application.
 * (A packet whose vars parse but cannot make a request is a ClientError, from the environ builder.)
 */
export class PacketError extends TsgiError {
  override name = 'PacketError';
  constructor(
    readonly kind: PacketErrorKind,
    message: string,
  ) {
    super(KIND_CODES[kind], message);
  }
}

export interface Packet {
  modifier1: number;
  modifier2: number;
  /** Every pair in wire order, duplicates kept, as native (latin-1) strings. */
  vars: Array<[key: string, value: string]>;
}

export interface Parsed {
  packet: Packet;
  /** Bytes of the same read that follow the vars block: the start of the body. */
  rest: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export class UwsgiParser {
  /**
   * The 4 header bytes: the first read's own bytes when it holds all four (the usual case, with no
   * copy: a connection per request behind nginx makes every allocation here one per request), else a
   * copy gathered across reads.
   */
  private header: Uint8Array = EMPTY;
  private headerLength = 0;
  private size = -1;
  private block: Uint8Array | null = null;
  private blockLength = 0;
  private state: 'header' | 'vars' | 'done' | 'failed' = 'header';
  /** The first bytes seen, kept only to quote them in an error message. */
  private first: Uint8Array = EMPTY;

  constructor(readonly bufferSize: number = MAX_VARS_SIZE) {
    if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > MAX_VARS_SIZE) {
      throw new RangeError(`bufferSize must be an integer from 1 to ${MAX_VARS_SIZE} (got ${bufferSize})`);
    }
  }

  /** Bytes received so far were not a whole packet: null. A whole packet: it and the bytes after it. */
  push(chunk: Uint8Array): Parsed | null {
    if (this.state === 'done' || this.state === 'failed') throw new Error('UwsgiParser: push() after the end');
    try {
      return this.feed(chunk);
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  /** The peer closed: the error that describes the incomplete packet. */
  end(): PacketError {
    if (this.state === 'header') {
      if (this.headerLength === 0) return new PacketError('truncated', 'the connection closed before any byte was sent');
      const guess = sniff(this.first);
      if (guess) return guess;
      return new PacketError('truncated', `the connection closed after ${this.headerLength} of the 4 header bytes`);
    }
    return new PacketError('truncated', `the connection closed after ${this.blockLength} of ${this.size} vars bytes`);
  }

  private feed(chunk: Uint8Array): Parsed | null {
    let at = 0;
    if (this.state === 'header') {
      // The first bytes, kept to quote in an error message: a view of the first read, copied only when
      // it was too short to quote.
      if (this.first.length === 0) this.first = chunk;
      else if (this.first.length < 64) this.first = joinPrefix(this.first, chunk, 64);
      if (this.headerLength === 0 && chunk.length >= 4) {
        this.header = chunk.subarray(0, 4);
        this.headerLength = 4;
        at = 4;
      } else {
        if (this.header.length === 0) this.header = new Uint8Array(4);
        const n = Math.min(4 - this.headerLength, chunk.length);
        this.header.set(chunk.subarray(0, n), this.headerLength);
        this.headerLength += n;
        at = n;
      }
      if (this.headerLength < 4) return null;
      this.checkHeader();
      this.state = 'vars';
      // The usual case: the whole block is in this read, so parse it in place without a copy.
      if (chunk.length - at >= this.size) {
        const end = at + this.size;
        return this.finish(chunk.subarray(at, end), chunk.subarray(end));
      }
      this.block = new Uint8Array(this.size);
    }
    const block = this.block!;
    const n = Math.min(this.size - this.blockLength, chunk.length - at);
    block.set(chunk.subarray(at, at + n), this.blockLength);
    this.blockLength += n;
    at += n;
    if (this.blockLength < this.size) return null;
    return this.finish(block, chunk.subarray(at));
  }

  private checkHeader(): void {
    const h = this.header;
    // The sniff comes before the modifier1 verdict, which for "GET " would read as 71: the log should say what happened.
    // Decided on the 4 header bytes alone, so the verdict does not depend on how the bytes were split
    // into reads ("AAAA" then "\0" and "AAAA\0" in one read are the same packet); the message quotes
    // all that arrived.
    if (h[0] !== 0) {
      const guess = sniff(this.first, this.first.subarray(0, 4));
      if (guess) throw guess;
      throw new PacketError('modifier', `modifier1 ${h[0]} is not served (only 0, a WSGI request)`);
    }
    // (modifier1 0 is neither TLS's 0x16 nor an HTTP method's capital: nothing to sniff.)
    this.size = h[1]! | (h[2]! << 8);
    if (this.size === 0) throw new PacketError('empty', 'an empty vars block (datasize 0)');
    if (this.size > this.bufferSize) {
      throw new PacketError(
        'too-big',
        `a vars block of ${this.size} bytes is larger than the buffer size ${this.bufferSize} (raise bufferSize, up to ${MAX_VARS_SIZE})`,
      );
    }
  }

  private finish(block: Uint8Array, rest: Uint8Array): Parsed {
    const vars = parseVars(block);
    this.state = 'done';
    this.block = null;
    return {
      packet: { modifier1: this.header[0]!, modifier2: this.header[3]!, vars },
      rest: rest.length === 0 ? EMPTY : rest,
    };
  }
}

/** Parses a whole vars block, checking each length against the bytes that remain. */
export function parseVars(block: Uint8Array): Array<[string, string]> {
  const vars: Array<[string, string]> = [];
  const end = block.length;
  // One latin-1 decode of the whole block, then slices of it (byte offsets are char offsets): one
  // native call per packet, not two per variable.
  const text = nativeString(block);
  let p = 0;
  while (p < end) {
    if (p + 2 > end) throw new PacketError('key-overrun', `a key length at offset ${p} runs past the ${end}-byte vars block`);
    const kl = block[p]! | (block[p + 1]! << 8);
    p += 2;
    if (kl === 0) throw new PacketError('empty-key', `an empty key at offset ${p - 2}`);
    if (p + kl > end) throw new PacketError('key-overrun', `a ${kl}-byte key at offset ${p} runs past the ${end}-byte vars block`);
    const key = internName(block, p, kl);
    p += kl;
    if (p + 2 > end) throw new PacketError('value-overrun', `the value length of ${quote(key)} runs past the vars block`);
    const vl = block[p]! | (block[p + 1]! << 8);
    p += 2;
    if (p + vl > end) {
      throw new PacketError('value-overrun', `the ${vl}-byte value of ${quote(key)} runs past the ${end}-byte vars block`);
    }
    vars.push([key, text.slice(p, p + vl)]);
    p += vl;
  }
  return vars;
}

/** Encodes vars as a packet (tests, and anyone writing a uwsgi client). Refuses what cannot be encoded. */
export function encodePacket(vars: ReadonlyArray<readonly [string, string]>, body?: Uint8Array, modifier1 = 0): Uint8Array {
  let size = 0;
  for (const [k, v] of vars) {
    if (k.length > 0xffff || v.length > 0xffff) throw new RangeError('a uwsgi key or value is longer than 65535 bytes');
    size += 4 + k.length + v.length;
  }
  // Never wrap: a block over 65535 bytes cannot be expressed (Apache CVE-2020-11984 was this bug).
  if (size > MAX_VARS_SIZE) throw new RangeError(`a uwsgi vars block of ${size} bytes is larger than ${MAX_VARS_SIZE}`);
  const out = new Uint8Array(4 + size + (body?.length ?? 0));
  out[0] = modifier1;
  out[1] = size & 0xff;
  out[2] = size >> 8;
  let p = 4;
  const put = (s: string) => {
    out[p++] = s.length & 0xff;
    out[p++] = s.length >> 8;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) throw new RangeError('uwsgi vars are bytes: a char code above 255');
      out[p++] = c;
    }
  };
  for (const [k, v] of vars) {
    put(k);
    put(v);
  }
  if (body) out.set(body, p);
  return out;
}

function isUpper(c: number | undefined): boolean {
  return c !== undefined && c >= 65 && c <= 90;
}

/** "This looks like HTTP (or TLS) on a uwsgi port": an error that says so, or null. */
function sniff(first: Uint8Array, decide: Uint8Array = first): PacketError | null {
  if (decide.length === 0) return null;
  if (first.length > 64) first = first.subarray(0, 64);
  if (decide[0] === 0x16 && (decide.length < 2 || decide[1] === 0x03)) {
    return new PacketError('tls', 'this looks like TLS on a uwsgi port (a TLS handshake, not a uwsgi packet): terminate TLS in the front end');
  }
  if (!looksLikeHttp(decide)) return null;
  let line = first.length;
  for (let i = 0; i < first.length; i++) {
    if (first[i] === 13 || first[i] === 10) {
      line = i;
      break;
    }
  }
  return new PacketError(
    'http',
    `this looks like HTTP on a uwsgi port (${quote(nativeString(first.subarray(0, line)))}): ` +
      'send HTTP to an HTTP bind, or put a uwsgi front end (nginx uwsgi_pass, Apache ProxyPass uwsgi://) before this port',
  );
}

/** An HTTP request line starts with a method in capitals and a space ("GET /", "POST /", "PRI *"). */
export function looksLikeHttp(b: Uint8Array): boolean {
  if (!isUpper(b[0])) return false;
  for (let i = 1; i < Math.min(b.length, 16); i++) {
    if (b[i] === 32) return i >= 3;
    if (!isUpper(b[i])) return false;
  }
  // Fewer than 16 bytes and no space yet: capitals only still reads as the start of a method.
  return b.length >= 3 && b.length < 16;
}

/**
 * For the HTTP door: "this looks like uwsgi on an HTTP port". A uwsgi packet starts with modifier1 0,
 * a non-zero datasize, and a first key of capitals and underscores whose length fits the block.
 */
export function looksLikeUwsgi(b: Uint8Array): boolean {
  if (b.length < 6 || b[0] !== 0) return false;
  const size = b[1]! | (b[2]! << 8);
  const kl = b[4]! | (b[5]! << 8);
  if (size === 0 || kl === 0 || kl + 4 > size) return false;
  for (let i = 6; i < Math.min(b.length, 6 + kl); i++) {
    const c = b[i]!;
    if (!isUpper(c) && c !== 95) return false;
  }
  return true;
}

/** A string quoted for a log line, control and non-ASCII bytes escaped, at most 60 chars. */
export function quote(s: string): string {
  const cut = s.length > 60 ? s.slice(0, 60) : s;
  let out = '';
  for (let i = 0; i < cut.length; i++) {
    const c = cut.charCodeAt(i);
    out += c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c ? '\\x' + c.toString(16).padStart(2, '0') : cut[i];
  }
  return `"${out}"${s.length > 60 ? '...' : ''}`;
}

function joinPrefix(a: Uint8Array, b: Uint8Array, max: number): Uint8Array {
  const n = Math.min(max, a.length + b.length);
  const out = new Uint8Array(n);
  out.set(a.subarray(0, n));
  if (n > a.length) out.set(b.subarray(0, n - a.length), a.length);
  return out;
}
