// Uploads read through wsgi.input over real sockets, on both HTTP engines and the uwsgi door: every
// byte the application is handed is the byte the client sent, and stays so to the end of the request,
// however the reads cut the body. The net engine and the uwsgi door give their socket reads to
// wsgi.input, which joins the pieces of a read(65536) in place (src/protocol/pieces.ts); the
// application here keeps every piece it was handed and checks them all only once the body is read,
// so a join that wrote over an earlier piece, or over the next request's bytes in the same socket
// read (two requests sent in one write), shows as a wrong byte.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Application, Bytes } from '../../src/spec.js';
import { serve, type ServerHandle } from '../../src/http/serve.js';
import { encodePacket, serveUwsgi, type UwsgiServerHandle } from '../../src/uwsgi/index.js';
import { silentLogger } from '../../src/runner/log.js';

/** Body byte i of a request whose bodies are told apart by `seed`: no 64 KiB period, a newline now and then. */
const byteAt = (seed: number, i: number) => (i * 7 + seed + (i >>> 16)) % 251;

function body(seed: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = byteAt(seed, i);
  return b;
}

/** The reads each path makes, in turn, until the end of the body. */
const PATTERNS: Record<
  string,
  Array<(input: { read(n?: number): Promise<Bytes>; readline(): Promise<Bytes>; read1(n?: number): Promise<Bytes> }) => Promise<Bytes>>
> = {
  '/read65536': [(i) => i.read(65536)],
  '/mixed': [(i) => i.read(1000), (i) => i.read(65536), (i) => i.read1(70_000), (i) => i.readline(), (i) => i.read(100_000), (i) => i.read(65536)],
};

/** Reads the body as its path says, keeping every piece; answers "ok <bytes>" or where a byte is wrong. */
const app: Application = async (environ, start) => {
  const input = environ['wsgi.input'] as unknown as Parameters<(typeof PATTERNS)['/mixed'][number]>[0];
  const seed = Number(environ.QUERY_STRING);
  const reads = PATTERNS[String(environ.PATH_INFO)]!;
  const kept: Bytes[] = [];
  for (let k = 0; ; k++) {
    const piece = await reads[k % reads.length]!(input);
    if (piece.length === 0) break;
    kept.push(piece);
    // Let the socket deliver more meanwhile (the joins then meet pieces that arrived in between).
    if (k % 7 === 3) await new Promise((r) => setImmediate(r));
  }
  let at = 0;
  let answer = '';
  for (const piece of kept) {
    for (let j = 0; j < piece.length && answer === ''; j++) {
      if (piece[j] !== byteAt(seed, at + j)) answer = `byte ${at + j} is ${piece[j]}, not ${byteAt(seed, at + j)}`;
    }
    at += piece.length;
  }
  if (answer === '') answer = `ok ${at}`;
  start('200 OK', [
    ['Content-Type', 'text/plain'],
    ['Content-Length', String(answer.length)],
  ]);
  return [answer];
};

/** The requests, written in one go on one connection; the answers' bodies, in order. */
function exchange(port: number, requests: Uint8Array[], answers: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const bodies: string[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out with ${bodies.length} of ${answers} answers`));
    }, 20_000);
    socket.on('connect', () => socket.write(Buffer.concat(requests)));
    socket.on('data', (d) => {
      got = Buffer.concat([got, d]);
      for (;;) {
        const end = got.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = Number(/content-length: *(\d+)/i.exec(got.toString('latin1', 0, end))?.[1] ?? -1);
        if (length < 0 || got.length < end + 4 + length) return;
        bodies.push(got.toString('latin1', end + 4, end + 4 + length));
        got = got.subarray(end + 4 + length);
        if (bodies.length === answers) {
          clearTimeout(timer);
          socket.destroy();
          resolve(bodies);
          return;
        }
      }
    });
    socket.on('error', reject);
  });
}

const SIZES = [3 * 1024 * 1024 + 123, 65536, 1_000_000];

function httpRequest(path: string, seed: number, size: number): Buffer {
  const head = `POST ${path}?${seed} HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: ${size}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body(seed, size)]);
}

for (const engine of ['net', 'node'] as const) {
  describe(`uploads on the ${engine} engine: every byte handed out stays the byte sent`, () => {
    let server: ServerHandle;
    before(async () => {
      server = await serve(app, { engine, host: '127.0.0.1', port: 0, log: silentLogger });
    });
    after(() => server.close());

    for (const path of Object.keys(PATTERNS)) {
      it(`${path}: three bodies of ${SIZES.join(', ')} bytes in one write, keep-alive`, async () => {
        const requests = SIZES.map((size, i) => httpRequest(path, i + 1, size));
        assert.deepEqual(
          await exchange(server.port, requests, requests.length),
          SIZES.map((s) => `ok ${s}`),
        );
      });
    }
  });
}

describe('uploads on the uwsgi door: every byte handed out stays the byte sent', () => {
  let server: UwsgiServerHandle;
  before(async () => {
    server = await serveUwsgi(app, { host: '127.0.0.1', port: 0, log: silentLogger });
  });
  after(() => server.close());

  for (const path of Object.keys(PATTERNS)) {
    it(`${path}: a body of ${SIZES[0]} bytes`, async () => {
      const size = SIZES[0]!;
      const packet = encodePacket([
        ['REQUEST_METHOD', 'POST'],
        ['PATH_INFO', path],
        ['QUERY_STRING', '5'],
        ['SERVER_PROTOCOL', 'HTTP/1.1'],
        ['CONTENT_LENGTH', String(size)],
      ]);
      assert.deepEqual(await exchange(server.port, [packet, body(5, size)], 1), [`ok ${size}`]);
    });
  }
});
