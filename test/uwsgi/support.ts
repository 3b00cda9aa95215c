// Shared by the uwsgi door's tests: the captured fixtures, an independent reference decoder, ways to
// split a byte string, and a raw client that records how the server ended the connection.
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../src/runner/log.js';

/** Copies of shared/fixtures/wire/*uwsgi*.bin: exact bytes captured from real peers (see fixtures/README.md). */
export const FIXTURE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURE_DIR, name));
}

/** Every captured request: what nginx, Apache, lighttpd and the router sent (and nginx sent to uWSGI). */
export const REQUEST_FIXTURES: string[] = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.bin') && (!f.startsWith('uwsgi-response-') || f.endsWith('.req.bin')))
  .sort();

export interface Reference {
  modifier1: number;
  size: number;
  vars: Array<[string, string]>;
  /** What follows the vars block in the capture. */
  body: Buffer;
}

/** A deliberately plain decoder, written apart from src/uwsgi/parser.ts, to check it against. */
export function referenceDecode(b: Buffer): Reference {
  const size = b.readUInt16LE(1);
  const vars: Array<[string, string]> = [];
  let p = 4;
  while (p < 4 + size) {
    const kl = b.readUInt16LE(p);
    const key = b.toString('latin1', p + 2, p + 2 + kl);
    p += 2 + kl;
    const vl = b.readUInt16LE(p);
    const value = b.toString('latin1', p + 2, p + 2 + vl);
    p += 2 + vl;
    vars.push([key, value]);
  }
  return { modifier1: b[0]!, size, vars, body: b.subarray(4 + size) };
}

/** A small seeded PRNG (mulberry32), so a failing split can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `data` cut at random points into pieces of 1 to `max` bytes. */
export function randomSplit(data: Uint8Array, seed: number, max = 64): Uint8Array[] {
  const rnd = prng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; ) {
    const n = 1 + Math.floor(rnd() * max);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

export function byteByByte(data: Uint8Array): Uint8Array[] {
  return Array.from({ length: data.length }, (_, i) => data.subarray(i, i + 1));
}

/** Whole, byte by byte, and `n` random splits, each with a label for the test name. */
export function splits(data: Uint8Array, n = 5): Array<[label: string, pieces: Uint8Array[]]> {
  const out: Array<[string, Uint8Array[]]> = [
    ['whole', [data]],
    ['byte by byte', byteByByte(data)],
  ];
  for (let s = 1; s <= n; s++) out.push([`random split #${s}`, randomSplit(data, s * 7919)]);
  return out;
}

export interface Exchange {
  /** Everything the server sent. */
  data: Buffer;
  /** 'end': the server closed cleanly (FIN); 'reset': ECONNRESET. */
  ending: 'end' | 'reset';
}

export interface SendOptions {
  /** Half-close after sending (the peer's EOF). Default false: keep the write side open. */
  halfClose?: boolean;
  /** Give the server's event loop a turn between pieces, so that they arrive as separate reads. */
  pace?: boolean;
  /** Where to connect: a port on 127.0.0.1, or a Unix socket path. */
  path?: string;
}

/** Sends the pieces on a fresh connection and collects the reply until the server ends the connection. */
export function exchange(port: number, pieces: Uint8Array[], options: SendOptions = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const s = options.path !== undefined ? net.connect({ path: options.path }) : net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    const got: Buffer[] = [];
    let ending: 'end' | 'reset' = 'end';
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') ending = 'reset';
      else reject(err);
    });
    s.on('end', () => s.end());
    s.on('close', () => resolve({ data: Buffer.concat(got), ending }));
    s.on('connect', async () => {
      for (const p of pieces) {
        if (s.destroyed) return;
        s.write(p);
        if (options.pace) await new Promise((r) => setImmediate(r));
      }
      if (options.halfClose) s.end();
    });
  });
}

export interface HttpReply {
  statusLine: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Splits a raw HTTP response (what the door wrote) into status line, header pairs and body. */
export function parseResponse(data: Buffer): HttpReply {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete response head in ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
  const [statusLine, ...lines] = data.toString('latin1', 0, end).split('\r\n');
  const headers = lines.map((l): [string, string] => {
    const i = l.indexOf(': ');
    return [l.slice(0, i), l.slice(i + 2)];
  });
  return { statusLine: statusLine!, headers, body: data.subarray(end + 4) };
}

/** A Logger that keeps its lines, for asserting "one log line per malformed packet". */
export function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    error: (m) => lines.push(`error: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    info: (m) => lines.push(`info: ${m}`),
  };
}

/** Resolves when `check()` is true, polling; rejects after `ms` (a bound, not a timing assertion). */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
