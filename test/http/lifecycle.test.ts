// The connection's life on the HTTP door as real clients live it (issue: "lose nothing, stay bounded"):
// keep-alive clients that never retry across a graceful stop, an application that answers without
// reading the body, a large response to a slow reader, a client that stops reading, one that pipelines
// without reading, one that never sends a byte. Real sockets on 127.0.0.1, both engines.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { serve, type ServeOptions } from '../../src/http/serve.js';
import type { Application } from '../../src/spec.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Reads HTTP/1.1 responses off one socket, in order (Content-Length or chunked bodies). */
class Reader {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  ended = false;
  reset = false;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') this.reset = true;
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  private more(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }
  /** The next response, or null when the connection ended (or was reset) first. */
  async next(timeoutMs = 10_000): Promise<Reply | null> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = this.parse();
      if (r !== null) return r;
      if (this.ended) return null;
      if (Date.now() > end) throw new Error('no response in time');
      await Promise.race([this.more(), sleep(50)]);
    }
  }
  private parse(): Reply | null {
    const headEnd = this.buf.indexOf('\r\n\r\n');
    if (headEnd === -1) return null;
    const lines = this.buf.toString('latin1', 0, headEnd).split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    let at = headEnd + 4;
    let body: Buffer;
    if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const nl = this.buf.indexOf('\r\n', at);
        if (nl === -1) return null;
        const size = parseInt(this.buf.toString('latin1', at, nl), 16);
        if (this.buf.length < nl + 2 + size + 2) return null;
        if (size === 0) {
          at = nl + 4;
          break;
        }
        parts.push(this.buf.subarray(nl + 2, nl + 2 + size));
        at = nl + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const n = Number(headers['content-length'] ?? 0);
      if (this.buf.length < at + n) return null;
      body = this.buf.subarray(at, at + n);
      at += n;
    }
    this.buf = this.buf.subarray(at);
    return { status, headers, body };
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

const hello: Application = (environ, start) => {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [`hello ${environ.PATH_INFO}`];
};

for (const engine of ['net', 'node'] as const) {
  const up = (app: Application, o: ServeOptions = {}) => serve(app, { host: '127.0.0.1', port: 0, engine, gracefulTimeout: 10_000, ...o });

  describe(`connection lifecycle (${engine} engine)`, { timeout: 60_000 }, () => {
    it('D1: a keep-alive client sending back to back across a graceful stop: every request answered, the last says Connection: close, no reset', async () => {
      const h = await up(hello);
      const clients = await Promise.all(Array.from({ length: 8 }, () => connect(h.port)));
      let closing: Promise<void> | null = null;
      const results = await Promise.all(
        clients.map(async (s, n) => {
          const r = new Reader(s);
          let ok = 0;
          for (let i = 0; ; i++) {
            if (i === 20 && n === 0) closing = h.close();
            s.write(`GET /${n}/${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
            const reply = await r.next();
            if (reply === null) return { ok, lost: 1, reset: r.reset };
            assert.equal(reply.body.toString(), `hello /${n}/${i}`);
            ok++;
            if (reply.headers.connection === 'close') {
              await r.next(5000); // the server's FIN
              return { ok, lost: 0, reset: r.reset };
            }
          }
        }),
      );
      await closing;
      for (const r of results) {
        assert.equal(r.lost, 0, `a request went unanswered: ${JSON.stringify(results)}`);
        assert.equal(r.reset, false);
        assert.ok(r.ok >= 1);
      }
    });

    it('D2: an idle keep-alive connection that sends one more request shortly after the stop began gets it answered, with Connection: close', async () => {
      const h = await up(hello);
      const s = await connect(h.port);
      const r = new Reader(s);
      s.write('GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal((await r.next())?.status, 200);
      const closing = h.close();
      await sleep(100);
      s.write('GET /two HTTP/1.1\r\nHost: x\r\n\r\n');
      const two = await r.next();
      assert.ok(two, 'the request sent during the drain must be answered');
      assert.equal(two.body.toString(), 'hello /two');
      assert.equal(two.headers.connection, 'close');
      await closing;
      assert.equal(r.reset, false);
    });

    it("C1: a client that sends Connection: close and keeps its side open: the connection is gone once the response is out, so a graceful stop does not wait for the client's FIN", async () => {
      const h = await up(hello);
      // allowHalfOpen: the client does not answer the server's FIN with its own (a lingering server
      // would wait for it, up to its linger time).
      const s = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect({ host: '127.0.0.1', port: h.port, allowHalfOpen: true }, () => resolve(c));
        c.once('error', reject);
      });
      const r = new Reader(s);
      s.write('GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const reply = await r.next();
      assert.equal(reply?.body.toString(), 'hello /c');
      assert.equal(reply?.headers.connection, 'close');
      assert.equal(await r.next(3000), null, "the server's FIN follows the response");
      const started = Date.now();
      await h.close();
      const took = Date.now() - started;
      s.destroy();
      assert.ok(took < 1000, `close() waited ${took} ms for a connection whose exchange was over`);
    });

    it('B1: an application that answers without reading a small body keeps the connection usable; a large unread body gets Connection: close in the head', async () => {
      const deny: Application = (_environ, start) => {
        start('401 Unauthorized', [['Content-Type', 'text/plain']]);
        return ['no'];
      };
      const h = await up(deny);
      try {
        const s = await connect(h.port);
        const r = new Reader(s);
        const body = Buffer.alloc(10_000, 97);
        for (let i = 0; i < 5; i++) {
          s.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
          s.write(body);
          const reply = await r.next();
          assert.ok(reply, `follow-up ${i} was lost`);
          assert.equal(reply.status, 401);
          assert.notEqual(reply.headers.connection, 'close');
        }
        s.destroy();
        // 10 MB announced, only the head sent: the answer says close before anything else happens.
        const big = await connect(h.port);
        const rb = new Reader(big);
        big.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n');
        const reply = await rb.next();
        assert.equal(reply?.status, 401);
        assert.equal(reply?.headers.connection, 'close');
        big.destroy();
      } finally {
        await h.close();
      }
    });

    it('S1: a large array response to a slow reader is complete although it takes longer than the keep-alive timeout', async () => {
      const size = 8 * 1024 * 1024;
      const big: Application = (_e, start) => {
        start('200 OK', [['Content-Length', String(size)]]);
        return [Buffer.alloc(size, 120)];
      };
      const h = await up(big, { keepAliveTimeout: 300 });
      try {
        const s = await connect(h.port);
        let got = 0;
        s.on('data', (d: Buffer) => {
          got += d.length;
          // Read slowly: a pause after each piece (a few seconds in all, far past the keep-alive timeout).
          s.pause();
          setTimeout(() => s.resume(), 15);
        });
        s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        const end = Date.now() + 20_000;
        while (got < size + 50 && Date.now() < end && !s.destroyed) await sleep(50);
        assert.ok(got >= size, `got ${got} of ${size} bytes`);
        s.destroy();
      } finally {
        await h.close();
      }
    });

    it('S2: a client that stops reading a streamed response is cut at the send timeout, and the body is closed', async () => {
      let closed = false;
      const stream: Application = (_e, start) => {
        start('200 OK', [['Content-Type', 'application/octet-stream']]);
        const chunk = Buffer.alloc(64 * 1024, 1);
        return Object.assign(
          (async function* () {
            for (;;) yield chunk;
          })(),
          { close: () => void (closed = true) },
        );
      };
      const h = await up(stream, { sendTimeout: 500 });
      try {
        const s = await connect(h.port);
        s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        s.pause(); // never reads
        const t0 = Date.now();
        while (!closed && Date.now() - t0 < 10_000) await sleep(50);
        assert.ok(closed, 'the body must be closed once the client is cut');
        assert.ok(Date.now() - t0 < 8000, `cut after ${Date.now() - t0} ms`);
        s.destroy();
      } finally {
        await h.close();
      }
    });

    it('P1: a client that pipelines 2,000 requests for 256 KiB and never reads: the server holds about one response, not all', async () => {
      const page = Buffer.alloc(256 * 1024, 65);
      let served = 0;
      const app: Application = (_e, start) => {
        served++;
        start('200 OK', [['Content-Length', String(page.length)]]);
        return [page];
      };
      const h = await up(app, { sendTimeout: 0 });
      try {
        const s = await connect(h.port);
        s.pause();
        s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000));
        await sleep(1500);
        // Before: every request ran as soon as the one before it was handed to the socket (2,000 x 256
        // KiB = 500 MB held). Now a request runs only once the response before it has left.
        assert.ok(served < 100, `${served} responses produced for a client that read none`);
        s.destroy();
      } finally {
        await h.close();
      }
    });

    it('T1: a connection that never sends a byte is answered 408 at the headers timeout, not kept for the keep-alive timeout', async () => {
      const h = await up(hello, { headersTimeout: 500, keepAliveTimeout: 65_000 });
      try {
        const s = await connect(h.port);
        const r = new Reader(s);
        const t0 = Date.now();
        const reply = await r.next(10_000);
        const took = Date.now() - t0;
        // node:http closes silently or with 408; either way well before the keep-alive timeout.
        if (reply !== null) assert.equal(reply.status, 408);
        assert.ok(took < 5000, `closed after ${took} ms`);
        s.destroy();
      } finally {
        await h.close();
      }
    });

    // node:http sets its keep-alive timer from libuv's loop time, which is read before the hold, so the
    // node engine cuts B at the next timer phase; only the net engine is held to this.
    const netOnly = engine === 'node' ? "node:http's keep-alive timer counts from the loop time before the hold" : false;
    it('T2: keep-alive connections answered right after the event loop was held for longer than the keep-alive timeout still take their next request', {
      skip: netOnly,
    }, async () => {
      // /block holds the event loop (a synchronous application) for 800 ms, past the 300 ms keep-alive
      // timeout. A and B send while the first /block runs: A's request holds the loop again, and B's
      // waits behind it. A's and B's clients send their next requests at once, as browsers do, and must
      // get their answers, not a reset: a deadline counted from a clock read before a hold would cut A
      // (and any connection answered in the same turn of the loop) as soon as the hold ends.
      const app: Application = (environ, start) => {
        if (environ.PATH_INFO.startsWith('/block')) {
          const end = Date.now() + 800;
          while (Date.now() < end);
        }
        start('200 OK', [['Content-Type', 'text/plain']]);
        return [`hello ${environ.PATH_INFO}`];
      };
      const h = await up(app, { keepAliveTimeout: 300 });
      try {
        const [first, a, b] = await Promise.all([connect(h.port), connect(h.port), connect(h.port)]);
        const ra = new Reader(a);
        const rb = new Reader(b);
        first.write('GET /block HTTP/1.1\r\nHost: x\r\n\r\n');
        await sleep(100);
        a.write('GET /block-a HTTP/1.1\r\nHost: x\r\n\r\n');
        await sleep(50);
        b.write('GET /b1 HTTP/1.1\r\nHost: x\r\n\r\n');
        const [a1, b1] = await Promise.all([ra.next(), rb.next()]);
        assert.equal(a1?.body.toString(), 'hello /block-a');
        assert.equal(b1?.body.toString(), 'hello /b1');
        await sleep(50);
        a.write('GET /a2 HTTP/1.1\r\nHost: x\r\n\r\n');
        b.write('GET /b2 HTTP/1.1\r\nHost: x\r\n\r\n');
        const [a2, b2] = await Promise.all([ra.next(), rb.next()]);
        const what = (r: Reply | null, reader: Reader) => (r === null ? (reader.reset ? 'a reset' : 'the end of the connection') : r.status);
        assert.equal(a2?.body.toString(), 'hello /a2', `the second request on A got ${what(a2, ra)}`);
        assert.equal(b2?.body.toString(), 'hello /b2', `the second request on B got ${what(b2, rb)}`);
        for (const s of [first, a, b]) s.destroy();
      } finally {
        await h.close();
      }
    });
  });
}
