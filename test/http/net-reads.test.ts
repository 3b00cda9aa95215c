// The net engine reads every plain socket into one buffer that all connections share (src/http/net/
// reads.ts, src/http/net/connection.ts): a view of it is good only until the next read of any
// connection. These tests keep bytes across reads on one connection (the start of a head, a pipelined
// request, body bytes that came with their head, a body read slowly) while another connection's reads
// go through the same buffer in between, over real sockets; each answer must be what its own client
// sent. And the fast path must be the one taken on the Node versions the package supports, since the
// hooks it sets are node's own (a Node that dropped them would fall back to 'data' silently).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Application, Bytes, Environ, StartResponse } from '../../src/spec.js';
import { serve, type ServerHandle } from '../../src/http/serve.js';
import { readInto } from '../../src/http/net/reads.js';
import { silentLogger } from '../../src/runner/log.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads the body with read(65536) to its end, showing each piece to `each`; answers its length and sha256. */
async function digestBody(input: Environ['wsgi.input'], each: (piece: Bytes) => void = () => {}): Promise<string> {
  const hash = createHash('sha256');
  let n = 0;
  for (;;) {
    const piece = await input.read(65536);
    if (piece.length === 0) break;
    hash.update(piece);
    n += piece.length;
    each(piece);
  }
  return `${n} ${hash.digest('hex')}`;
}

/** A text/plain response of `text`. */
function answer(start: StartResponse, text: string): string[] {
  start('200 OK', [
    ['Content-Type', 'text/plain'],
    ['Content-Length', String(text.length)],
  ]);
  return [text];
}

/** GET: the path back. POST: waits ?ms, reads the whole body, answers its length and sha256. */
const app: Application = async (environ, start) => {
  if (environ.REQUEST_METHOD !== 'POST') return answer(start, String(environ.PATH_INFO));
  const wait = Number(environ.QUERY_STRING || 0);
  if (wait > 0) await sleep(wait);
  return answer(start, await digestBody(environ['wsgi.input']));
};

/** A keep-alive client: writes what it is told, returns each response's body in turn. */
class Client {
  private data = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  readonly socket: net.Socket;
  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('data', (d) => {
      this.data = Buffer.concat([this.data, d]);
      this.waiting?.();
    });
  }
  write(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }
  /** The next response's body (Content-Length framed), within 5 s. */
  async response(): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const text = this.data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end !== -1) {
        const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
        if (text.length >= end + 4 + length) {
          this.data = this.data.subarray(end + 4 + length);
          return text.slice(end + 4, end + 4 + length);
        }
      }
      if (Date.now() > deadline) throw new Error(`no whole response; have ${JSON.stringify(text.slice(0, 200))}`);
      await new Promise<void>((r) => {
        this.waiting = r;
        setTimeout(r, 50);
      });
      this.waiting = null;
    }
  }
  close(): void {
    this.socket.destroy();
  }
}

function bytes(seed: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + seed) % 251;
  return b;
}
const digest = (b: Buffer) => `${b.length} ${createHash('sha256').update(b).digest('hex')}`;

describe('net engine: reads into the shared buffer', () => {
  let server: ServerHandle;
  let port: number;
  before(async () => {
    server = await serve(app, { host: '127.0.0.1', port: 0, log: silentLogger });
    port = server.port;
  });
  after(() => server.close());

  /** Another connection's request and answer: its read went through the shared buffer. */
  async function meanwhile(other: Client, tag: string): Promise<void> {
    other.write(`GET /${tag}-${'z'.repeat(300)} HTTP/1.1\r\nHost: h\r\nX-Noise: ${'n'.repeat(6000)}\r\n\r\n`);
    assert.equal(await other.response(), `/${tag}-${'z'.repeat(300)}`);
  }

  it('keeps the start of a head that another connection read over', async () => {
    const a = new Client(port);
    const b = new Client(port);
    try {
      for (let k = 0; k < 3; k++) {
        a.write(`GET /first-half-${k} HTTP/1.1\r\nHost: h\r\nX-A: aaaaaaaaaa`);
        await sleep(20);
        await meanwhile(b, `b${k}`);
        a.write(`aaaa\r\n\r\n`);
        assert.equal(await a.response(), `/first-half-${k}`);
      }
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps a pipelined request behind one the application answers later', async () => {
    const a = new Client(port);
    const b = new Client(port);
    try {
      const body = bytes(1, 1000);
      a.write(
        Buffer.concat([
          Buffer.from(`POST /slow?100 HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'),
          body,
          Buffer.from('GET /second HTTP/1.1\r\nHost: h\r\n\r\nGET /third HTTP/1.1\r\nHost: h\r\n\r\n', 'latin1'),
        ]),
      );
      await sleep(20);
      await meanwhile(b, 'b1');
      await meanwhile(b, 'b2');
      assert.equal(await a.response(), digest(body));
      assert.equal(await a.response(), '/second');
      assert.equal(await a.response(), '/third');
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps body bytes that came with their head while the application waits', async () => {
    const a = new Client(port);
    const b = new Client(port);
    try {
      for (const size of [10, 3000, 50_000, 200_000]) {
        const body = bytes(size, size);
        const first = Math.min(size, 30_000);
        a.write(Buffer.concat([Buffer.from(`POST /w?80 HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`, 'latin1'), body.subarray(0, first)]));
        await sleep(10);
        await meanwhile(b, 'x');
        a.write(body.subarray(first));
        await meanwhile(b, 'y');
        assert.equal(await a.response(), digest(body), `a body of ${size} bytes`);
      }
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps body bytes read into the shared buffer after a pipelined body was opened between reads', async () => {
    const a = new Client(port);
    const b = new Client(port);
    try {
      const small = bytes(3, 100);
      const big = bytes(4, 40_000);
      // The second request's head is parsed only once the first is answered (not during a read), so
      // the read that brings the rest of its body was already set to go into the shared buffer.
      a.write(
        Buffer.concat([
          Buffer.from(`POST /slow?60 HTTP/1.1\r\nHost: h\r\nContent-Length: ${small.length}\r\n\r\n`, 'latin1'),
          small,
          Buffer.from(`POST /big?80 HTTP/1.1\r\nHost: h\r\nContent-Length: ${big.length}\r\n\r\n`, 'latin1'),
          big.subarray(0, 10),
        ]),
      );
      assert.equal(await a.response(), digest(small));
      a.write(big.subarray(10));
      await sleep(20);
      await meanwhile(b, 'p1');
      await meanwhile(b, 'p2');
      assert.equal(await a.response(), digest(big));
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps a body sent in small pieces (each read after the last in the body buffer)', async () => {
    const a = new Client(port);
    const b = new Client(port);
    try {
      // Pieces of 4,000 and 20,000 bytes: many reads into each 64 KiB body buffer, read meanwhile.
      const body = bytes(7, 120_000);
      a.write(`POST /drip?50 HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`);
      for (let at = 0, k = 0; at < body.length; k++) {
        const size = k % 2 === 0 ? 4000 : 20_000;
        a.write(body.subarray(at, at + size));
        at += size;
        await sleep(5);
        if (k % 3 === 0) await meanwhile(b, `d${k}`);
      }
      assert.equal(await a.response(), digest(body));
      // The connection goes on reading into the shared buffer after its body.
      a.write('GET /after HTTP/1.1\r\nHost: h\r\n\r\n');
      assert.equal(await a.response(), '/after');
    } finally {
      a.close();
      b.close();
    }
  });

  it('serves many connections uploading and asking at once, each its own bytes', async () => {
    const clients = Array.from({ length: 12 }, () => new Client(port));
    try {
      await Promise.all(
        clients.map(async (c, k) => {
          for (let round = 0; round < 4; round++) {
            if ((k + round) % 2 === 0) {
              const body = bytes(k * 31 + round, 70_000 + k * 1000);
              c.write(Buffer.concat([Buffer.from(`POST /u?${k % 3} HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'), body]));
              assert.equal(await c.response(), digest(body));
            } else {
              c.write(`GET /c${k}-r${round} HTTP/1.1\r\nHost: h\r\n\r\nGET /c${k}-r${round}-pipelined HTTP/1.1\r\nHost: h\r\n\r\n`);
              assert.equal(await c.response(), `/c${k}-r${round}`);
              assert.equal(await c.response(), `/c${k}-r${round}-pipelined`);
            }
          }
        }),
      );
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe('net engine: a body read into buffers that line up with it', () => {
  // What each read(65536) was handed: the whole of a 64 KiB buffer, or not.
  const handed: string[] = [];
  // Bytes copied by JavaScript in runs of 1 KiB or more while the test runs: the joins of wsgi.input
  // (src/protocol/pieces.ts) copy with Uint8Array's set() and copyWithin(), and so does Buffer#copy.
  let copied = 0;
  const { set, copyWithin } = Uint8Array.prototype;
  before(() => {
    Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
      if (source.length >= 1024) copied += source.length;
      return set.call(this, source, offset);
    };
    Uint8Array.prototype.copyWithin = function (this: Uint8Array, target: number, start: number, end?: number) {
      const n = (end ?? this.length) - start;
      if (n >= 1024) copied += n;
      return copyWithin.call(this, target, start, end);
    };
  });
  after(() => {
    Uint8Array.prototype.set = set;
    Uint8Array.prototype.copyWithin = copyWithin;
  });
  const recorder: Application = async (environ, start) =>
    answer(
      start,
      await digestBody(environ['wsgi.input'], (piece) =>
        handed.push(
          piece.byteOffset === 0 && piece.buffer.byteLength === 65536 && piece.length === 65536
            ? 'whole'
            : `${piece.length}@${piece.byteOffset}/${piece.buffer.byteLength}`,
        ),
      ),
    );
  let server: ServerHandle;
  before(async () => {
    server = await serve(recorder, { host: '127.0.0.1', port: 0, log: silentLogger });
  });
  after(() => server.close());

  it('hands each read(65536) of a 1 MiB upload one whole buffer, copying nothing, sent whole or in odd pieces', async () => {
    const a = new Client(server.port);
    try {
      for (let k = 0; k < 4; k++) {
        handed.length = 0;
        copied = 0;
        const body = bytes(40 + k, 1024 * 1024);
        const head = Buffer.from(`POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1');
        if (k % 2 === 0) a.write(Buffer.concat([head, body]));
        else {
          // The head with 1,000 body bytes, then pieces of 7,000 to 90,000 bytes with pauses between.
          a.write(Buffer.concat([head, body.subarray(0, 1000)]));
          for (let at = 1000, j = 0; at < body.length; j++) {
            const size = [7000, 90_000, 33_333, 65_536][j % 4]!;
            a.write(body.subarray(at, at + size));
            at += size;
            if (j % 3 === 0) await sleep(2);
          }
        }
        assert.equal(await a.response(), digest(body));
        assert.deepEqual(handed, Array(16).fill('whole'), `round ${k}`);
        // Only the body bytes that arrived before the body was opened (with the head, or while the
        // request before was finishing; up to the 64 KiB of a read past the head limit) are copied,
        // once, to the start of the body's buffers: here up to 130 KB. Joining read(65536)'s pieces
        // used to copy about all of the body (1.05 MB here).
        assert.ok(copied <= 256 * 1024, `round ${k}: ${copied} bytes of a 1 MiB body were copied`);
      }
    } finally {
      a.close();
    }
  });

  it('lines up the buffers of a body that follows another in the same read (pipelined)', async () => {
    const a = new Client(server.port);
    try {
      handed.length = 0;
      copied = 0;
      const first = bytes(50, 1000);
      const second = bytes(51, 256 * 1024);
      const head = (n: number) => Buffer.from(`POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: ${n}\r\n\r\n`, 'latin1');
      // One read: two small requests whole and the start of a third; the rest of it a moment later. The
      // second and third bodies open after the request before them has been answered, with no read
      // between: the third must not continue the second's buffer.
      a.write(Buffer.concat([head(first.length), first, head(first.length), first, head(second.length), second.subarray(0, 30_000)]));
      await sleep(30);
      a.write(second.subarray(30_000));
      assert.equal(await a.response(), digest(first));
      assert.equal(await a.response(), digest(first));
      assert.equal(await a.response(), digest(second));
      // The small bodies are a piece each; the third, four whole buffers, its first 30,000 bytes (and the
      // bytes after them in that read) copied once, the rest not at all (about all of it when its
      // buffers continued the second body's: each read(65536) then joined two).
      assert.deepEqual(handed.slice(2), Array(4).fill('whole'));
      assert.ok(copied <= 100_000, `${copied} bytes copied`);
    } finally {
      a.close();
    }
  });
});

describe('readInto on this Node', () => {
  it('takes an accepted socket: its reads arrive in the given buffers, the next one picked after each read', async () => {
    const first = Buffer.alloc(16);
    const second = Buffer.alloc(16);
    const seen: string[] = [];
    let taken = false;
    const server = net.createServer((socket) => {
      taken = readInto(
        socket,
        first,
        function (this: net.Socket, n, buf) {
          assert.equal(this, socket);
          seen.push(`${buf === first ? 'first' : buf === second ? 'second' : 'other'}:${buf.toString('latin1', 0, n)}`);
          if (seen.length === 2) socket.end();
        },
        () => second,
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const c = net.connect({ host: '127.0.0.1', port });
    c.write('one');
    await sleep(50);
    c.write('two');
    await new Promise((r) => c.on('close', r).on('end', () => c.destroy()));
    server.close();
    assert.equal(taken, true, `this Node (${process.version}) no longer lets an accepted socket read into our buffers`);
    assert.deepEqual(seen, ['first:one', 'second:two']);
  });

  it('says no for a socket that already holds read bytes, which would go unseen', async () => {
    const server = net.createServer({ pauseOnConnect: false }, (socket) => {
      socket.once('data', () => {
        socket.pause();
        socket.unshift(Buffer.from('x'));
        assert.equal(
          readInto(
            socket,
            Buffer.alloc(16),
            () => {},
            () => Buffer.alloc(16),
          ),
          false,
        );
        socket.destroy();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const c = net.connect({ host: '127.0.0.1', port });
    c.write('hello');
    await new Promise((r) => c.on('close', r).on('error', r));
    server.close();
  });
});
