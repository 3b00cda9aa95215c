// FastCGI 1.0 on the wire (research/protocols.md §2, the FastCGI Specification 1.0): records, their
// incremental parser, name-value pairs and the encoders. Pure: no Node imports, so it can be tested
// (and fuzzed) byte by byte without sockets.
import { nativeString, latin1Bytes } from './bytes.js';
import { internName } from './intern.js';
import { TsgiError } from '../errors.js';

/** Record types (spec §8). */
export const FCGI = {
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  DATA: 8,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
} as const;

export const ROLE = { RESPONDER: 1, AUTHORIZER: 2, FILTER: 3 } as const;

/** END_REQUEST protocolStatus values. */
export const PROTOCOL_STATUS = { REQUEST_COMPLETE: 0, CANT_MPX_CONN: 1, OVERLOADED: 2, UNKNOWN_ROLE: 3 } as const;

/** BEGIN_REQUEST flags bit 0: the application keeps the connection open after END_REQUEST. */
export const KEEP_CONN = 1;
/** The largest record content: contentLength is a u16. */
export const MAX_CONTENT = 0xffff;
export const HEADER_SIZE = 8;

export interface FcgiRecord {
  type: number;
  requestId: number;
  /** The content without its padding. May be a view of the pushed chunk: copy it to keep it past the callback. */
  content: Uint8Array;
}

/** The byte stream is not FastCGI (a bad version byte, a malformed pair): the connection cannot go on. */
export class ProtocolError extends TsgiError {
  override name = 'ProtocolError';
  constructor(message: string) {
    super('TSGI_ERR_FASTCGI_PROTOCOL', message);
  }
}

/**
 * Cuts a byte stream into records, whatever the chunking: a record may arrive whole, byte by byte or
 * spread over many chunks, and any padding (0..255 bytes: nginx pads to 8, the others never pad) is
 * skipped. Content that arrives in one chunk is handed out as a view, without a copy.
 */
export class RecordParser {
  private readonly header = new Uint8Array(HEADER_SIZE);
  private headerFill = 0;
  private type = 0;
  private requestId = 0;
  private content: Uint8Array | null = null;
  private contentFill = 0;
  private contentLength = 0;
  private padding = 0;
  private stopped = false;

  constructor(private readonly onRecord: (record: FcgiRecord) => void) {}

  /** True when the bytes pushed so far end in the middle of a record. */
  get midRecord(): boolean {
    return this.headerFill > 0 || this.content !== null || this.padding > 0;
  }

  /** No more records are handed out (the connection is going away). */
  stop(): void {
    this.stopped = true;
  }

  /** Feeds bytes; calls onRecord for each complete record. Throws ProtocolError on a bad version. */
  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n && !this.stopped) {
      // Content first: the padding set with the header follows it.
      if (this.content !== null) {
        const take = Math.min(this.contentLength - this.contentFill, n - i);
        this.content.set(chunk.subarray(i, i + take), this.contentFill);
        this.contentFill += take;
        i += take;
        if (this.contentFill === this.contentLength) {
          const content = this.content;
          this.content = null;
          this.emit(content);
        }
        continue;
      }
      if (this.padding > 0) {
        const skip = Math.min(this.padding, n - i);
        this.padding -= skip;
        i += skip;
        continue;
      }
      // The header: straight from the chunk when all 8 bytes are there, else gathered.
      let h: Uint8Array;
      if (this.headerFill === 0 && n - i >= HEADER_SIZE) {
        h = chunk.subarray(i, i + HEADER_SIZE);
        i += HEADER_SIZE;
      } else {
        const take = Math.min(HEADER_SIZE - this.headerFill, n - i);
        this.header.set(chunk.subarray(i, i + take), this.headerFill);
        this.headerFill += take;
        i += take;
        if (this.headerFill < HEADER_SIZE) return;
        this.headerFill = 0;
        h = this.header;
      }
      if (h[0] !== 1) {
        this.stopped = true;
        throw new ProtocolError(`FastCGI version ${h[0]} (only version 1 exists): this is not a FastCGI stream`);
      }
      this.type = h[1]!;
      this.requestId = (h[2]! << 8) | h[3]!;
      this.contentLength = (h[4]! << 8) | h[5]!;
      const padding = h[6]!;
      if (n - i >= this.contentLength) {
        const content = chunk.subarray(i, i + this.contentLength);
        i += this.contentLength;
        this.padding = padding;
        this.emit(content);
      } else {
        this.content = new Uint8Array(this.contentLength);
        this.contentFill = 0;
        this.padding = padding;
      }
    }
  }

  private emit(content: Uint8Array): void {
    // Padding, if any, is skipped by the next push() iterations (it follows the content).
    this.onRecord({ type: this.type, requestId: this.requestId, content });
  }
}

// --- name-value pairs (spec §3.4) -----------------------------------------------------------------

/**
 * Decodes a complete PARAMS (or GET_VALUES) stream into [name, value] pairs of native strings.
 * Each length is one byte below 128, else four bytes big-endian with the top bit set.
 */
export function decodePairs(data: Uint8Array): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let i = 0;
  const n = data.length;
  const length = (): number => {
    if (i >= n) throw new ProtocolError('a name-value pair is cut short in its lengths');
    const b = data[i]!;
    if (b < 0x80) {
      i += 1;
      return b;
    }
    if (i + 4 > n) throw new ProtocolError('a name-value pair is cut short in a four-byte length');
    // Multiply instead of << 24: the result must stay a positive number (up to 2^31 - 1).
    const v = (b & 0x7f) * 0x1000000 + (data[i + 1]! << 16) + (data[i + 2]! << 8) + data[i + 3]!;
    i += 4;
    return v;
  };
  while (i < n) {
    const nameLength = length();
    const valueLength = length();
    if (nameLength > n - i || valueLength > n - i - nameLength) {
      throw new ProtocolError(`a name-value pair announces ${nameLength}+${valueLength} bytes, ${n - i} remain`);
    }
    // Names as V8 keys them already (./intern.ts): the same few dozen params come on every request.
    const name = nameLength > 0 ? internName(data, i, nameLength) : '';
    i += nameLength;
    const value = nativeString(data.subarray(i, i + valueLength));
    i += valueLength;
    pairs.push([name, value]);
  }
  return pairs;
}

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  return [((n >>> 24) & 0x7f) | 0x80, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Encodes [name, value] pairs of native strings (each char one byte). */
export function encodePairs(pairs: Iterable<readonly [string, string]>): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [name, value] of pairs) {
    const nb = latin1Bytes(name);
    const vb = latin1Bytes(value);
    const lens = Uint8Array.from([...lengthBytes(nb.length), ...lengthBytes(vb.length)]);
    parts.push(lens, nb, vb);
    total += lens.length + nb.length + vb.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// --- records --------------------------------------------------------------------------------------

/** Writes a record header into `out` at `at`. */
export function writeHeader(out: Uint8Array, at: number, type: number, requestId: number, contentLength: number, padding = 0): void {
  out[at] = 1;
  out[at + 1] = type;
  out[at + 2] = (requestId >>> 8) & 0xff;
  out[at + 3] = requestId & 0xff;
  out[at + 4] = (contentLength >>> 8) & 0xff;
  out[at + 5] = contentLength & 0xff;
  out[at + 6] = padding;
  out[at + 7] = 0;
}

/** One record (content at most 65535 bytes), with `padding` zero bytes after it. */
export function encodeRecord(type: number, requestId: number, content: Uint8Array = new Uint8Array(0), padding = 0): Uint8Array {
  if (content.length > MAX_CONTENT) throw new RangeError(`record content of ${content.length} bytes (at most ${MAX_CONTENT})`);
  const out = new Uint8Array(HEADER_SIZE + content.length + padding);
  writeHeader(out, 0, type, requestId, content.length, padding);
  out.set(content, HEADER_SIZE);
  return out;
}

/**
 * A stream's bytes as records of at most `max` bytes of content, in one buffer (the empty record
 * that ends a stream is not included: a stream may go on). Empty data gives no record.
 */
export function encodeStream(type: number, requestId: number, data: Uint8Array, max = MAX_CONTENT): Uint8Array {
  const count = Math.ceil(data.length / max);
  const out = new Uint8Array(data.length + count * HEADER_SIZE);
  let at = 0;
  for (let off = 0; off < data.length; off += max) {
    const piece = data.subarray(off, off + max);
    writeHeader(out, at, type, requestId, piece.length);
    out.set(piece, at + HEADER_SIZE);
    at += HEADER_SIZE + piece.length;
  }
  return out;
}

export function beginRequest(requestId: number, role: number = ROLE.RESPONDER, flags = 0): Uint8Array {
  return encodeRecord(FCGI.BEGIN_REQUEST, requestId, Uint8Array.of(role >> 8, role & 0xff, flags, 0, 0, 0, 0, 0));
}

export function endRequest(requestId: number, appStatus: number, protocolStatus: number): Uint8Array {
  const a = appStatus >>> 0;
  return encodeRecord(FCGI.END_REQUEST, requestId, Uint8Array.of((a >>> 24) & 0xff, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff, protocolStatus, 0, 0, 0));
}

export function unknownType(type: number): Uint8Array {
  return encodeRecord(FCGI.UNKNOWN_TYPE, 0, Uint8Array.of(type, 0, 0, 0, 0, 0, 0, 0));
}

/** BEGIN_REQUEST's body: role, and whether the connection stays open after the request. */
export function parseBegin(content: Uint8Array): { role: number; keepConn: boolean } {
  if (content.length < 3) throw new ProtocolError(`a BEGIN_REQUEST body of ${content.length} bytes (8 expected)`);
  return { role: (content[0]! << 8) | content[1]!, keepConn: (content[2]! & KEEP_CONN) !== 0 };
}

/** END_REQUEST's body, for clients and tests. */
export function parseEnd(content: Uint8Array): { appStatus: number; protocolStatus: number } {
  if (content.length < 5) throw new ProtocolError(`an END_REQUEST body of ${content.length} bytes (8 expected)`);
  const appStatus = ((content[0]! << 24) | (content[1]! << 16) | (content[2]! << 8) | content[3]!) >>> 0;
  return { appStatus, protocolStatus: content[4]! };
}

/** Splits a whole byte string into records (for tests and tools); throws on a truncated tail. */
export function parseRecords(data: Uint8Array): FcgiRecord[] {
  const out: FcgiRecord[] = [];
  const p = new RecordParser((r) => out.push({ ...r, content: r.content.slice() }));
  p.push(data);
  if (p.midRecord) throw new ProtocolError('the data ends in the middle of a record');
  return out;
}
