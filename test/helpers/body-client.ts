// The client side of the request-body fault tests: starts test/helpers/body-server.ts for one door
// (net, node or uwsgi), and sends it request bodies cut the way the faults need (one-byte chunks,
// one byte per TCP segment), over real sockets.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePacket } from '../../src/protocol/uwsgi.js';

export type Door = 'net' | 'node' | 'uwsgi';

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'body-server.ts');

export interface Stats {
  /** The longest event-loop lag since the last reset (wall clock: includes waiting for a core), in ms. */
  maxLagMs: number;
  /** The longest event-loop block since the last reset, counting only time the process ran, in ms. */
  maxBlockMs: number;
  /** heapUsed + arrayBuffers after a full GC, in bytes. */
  heap: number;
  /** /hold requests waiting. */
  held: number;
}

export interface BodyServer {
  port: number;
  reset(): Promise<void>;
  stats(): Promise<Stats>;
  release(): Promise<void>;
  stop(): void;
}

export async function startServer(door: Door): Promise<BodyServer> {
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', SERVER, door], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('the server did not start')), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
  // One question at a time: each answer is the next message.
  const ask = <T>(cmd: string) =>
    new Promise<T>((resolve) => {
      child.once('message', (m) => resolve(m as T));
      child.send({ cmd });
    });
  // One small request first: what runs once (module loading, the first compilations) is not what
  // the tests measure.
  for (const path of ['/read', '/readline']) await request(port, requestHead(door, path, 'chunked'), (s) => void s.write(oneByteChunks(1000, 100)));
  return {
    port,
    reset: () => ask('reset'),
    stats: () => ask<Stats>('stats'),
    release: () => ask('release'),
    stop: () => child.kill('SIGKILL'),
  };
}

/** A chunked body of `n` one-byte chunks (with a newline every `lineEvery` bytes when given). */
export function oneByteChunks(n: number, lineEvery = 0): Buffer {
  const out = Buffer.alloc(n * 6 + 5);
  for (let i = 0; i < n; i++) {
    const byte = lineEvery > 0 && i % lineEvery === lineEvery - 1 ? '\n' : 'x';
    out.write(`1\r\n${byte}\r\n`, i * 6, 'latin1');
  }
  out.write('0\r\n\r\n', n * 6, 'latin1');
  return out;
}

/** The request head for `door`: an HTTP head or a uwsgi vars packet. */
export function requestHead(door: Door, pathInfo: string, length: number | 'chunked'): Buffer {
  if (door === 'uwsgi') {
    const framing: [string, string] = length === 'chunked' ? ['HTTP_TRANSFER_ENCODING', 'chunked'] : ['CONTENT_LENGTH', String(length)];
    return Buffer.from(encodePacket([['REQUEST_METHOD', 'POST'], ['PATH_INFO', pathInfo], ['SERVER_PROTOCOL', 'HTTP/1.1'], framing]));
  }
  const framing = length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
  return Buffer.from(`POST ${pathInfo} HTTP/1.1\r\nHost: h\r\n${framing}\r\nConnection: close\r\n\r\n`, 'latin1');
}

export interface Reply {
  status: number;
  body: string;
}

/**
 * One request on a fresh connection: `send` writes the body (the head is written first) and the reply
 * is read until the server closes. Both doors answer an HTTP response (uwsgi's is one too).
 */
export function request(port: number, head: Buffer, send: (s: net.Socket) => Promise<void> | void): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', reject);
    s.on('end', () => s.end());
    s.on('close', () => {
      const text = Buffer.concat(got).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const at = text.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, body: at === -1 ? '' : text.slice(at + 4) });
    });
    s.on('connect', async () => {
      s.write(head);
      try {
        await send(s);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

/** Writes `data` one byte per write (one TCP segment each: no Nagle), yielding to the loop every `every` bytes. */
export async function byteByByte(s: net.Socket, data: Uint8Array, every = 1): Promise<void> {
  for (let i = 0; i < data.length; i++) {
    if (s.destroyed) return;
    s.write(data.subarray(i, i + 1));
    if (i % every === every - 1) await new Promise((r) => setImmediate(r));
  }
}

/** Writes `data` at once, respecting the socket's backpressure. */
export async function whole(s: net.Socket, data: Uint8Array): Promise<void> {
  if (!s.write(data)) await new Promise((r) => s.once('drain', r));
}
