// fromNodeListener: a real Express 5 application served by tsgi's HTTP door over real sockets, and
// through the test client. Routing, body parsers, req.ip/protocol/hostname, uploads read from the
// req stream, streaming with res.write() and 'drain', disconnects ('close' and 'aborted'), errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { fromNodeListener } from '../../src/node/index.js';
import { serve, type ServerHandle } from '../../src/http/serve.js';
import { silentLogger } from '../../src/runner/log.js';
import { client, request } from '../../src/testing/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const events: string[] = [];
const writes = { falseSeen: 0, drains: 0, written: 0 };

function expressApp() {
  const app = express();
  app.get('/', (_req, res) => {
    res.send('Hello from Express');
  });
  app.get('/info', (req, res) => {
    res.json({
      ip: req.ip,
      protocol: req.protocol,
      hostname: req.hostname,
      url: req.url,
      originalUrl: req.originalUrl,
      query: req.query,
      ua: req.get('user-agent') ?? null,
      httpVersion: req.httpVersion,
    });
  });
  app.post('/json', express.json(), (req, res) => {
    res.status(201).json({ got: req.body });
  });
  app.post('/form', express.urlencoded({ extended: false }), (req, res) => {
    res.json(req.body);
  });
  app.post('/upload', (req, res) => {
    const hash = createHash('sha256');
    let n = 0;
    req.on('data', (d: Buffer) => {
      hash.update(d);
      n += d.length;
    });
    req.on('end', () => res.type('text/plain').send(`${n} ${hash.digest('hex')}`));
  });
  app.get('/stream', (_req, res) => {
    res.type('text/plain');
    let i = 0;
    const tick = () => {
      res.write(`line ${i}\n`);
      if (++i < 3) setTimeout(tick, 20);
      else res.end();
    };
    tick();
  });
  app.get('/flood', (_req, res) => {
    writes.falseSeen = writes.drains = writes.written = 0;
    const chunk = Buffer.alloc(64 * 1024, 120);
    const total = 400;
    const pump = () => {
      while (writes.written < total) {
        writes.written++;
        if (!res.write(chunk)) {
          writes.falseSeen++;
          res.once('drain', () => {
            writes.drains++;
            pump();
          });
          return;
        }
      }
      res.end();
    };
    res.setHeader('Content-Type', 'application/octet-stream');
    pump();
  });
  app.get('/forever', (req, res) => {
    req.on('aborted', () => events.push('req aborted'));
    res.on('close', () => events.push(`res close finished=${res.writableFinished}`));
    res.type('text/plain');
    const timer = setInterval(() => res.write('tick\n'), 10);
    res.on('close', () => clearInterval(timer));
  });
  app.get('/headers', (_req, res) => {
    res.cookie('a', '1');
    res.cookie('b', '2');
    res.set('X-Custom', 'yes');
    res.status(202).end();
  });
  app.get('/raw-end', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('raw');
  });
  app.get('/boom', () => {
    throw new Error('route failed');
  });
  app.get('/explicit-te', (_req, res) => {
    res.setHeader('Transfer-Encoding', 'chunked');
    res.write('one,');
    res.end('two');
  });
  return app;
}

describe('an Express 5 app served by the tsgi HTTP door', () => {
  let server: ServerHandle;
  before(async () => {
    server = await serve(fromNodeListener(expressApp()), { host: '127.0.0.1', port: 0, log: silentLogger });
  });
  after(() => server.close());

  it('routes and answers whole (Content-Length, ETag, X-Powered-By)', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'Hello from Express');
    assert.equal(res.headers.get('content-length'), '18');
    assert.equal(res.headers.get('x-powered-by'), 'Express');
    assert.ok(res.headers.get('etag'));
    assert.ok(res.headers.get('date'), 'the door adds Date');
    assert.equal(res.headers.get('connection'), 'keep-alive', "the door's own, not node's inner one");
  });

  it('sees the request as Express would under node:http', async () => {
    const res = await fetch(`${server.url}/info?a=1&b=two`, { headers: { 'User-Agent': 'ua/1' } });
    assert.deepEqual(await res.json(), {
      ip: '127.0.0.1',
      protocol: 'http',
      hostname: '127.0.0.1',
      url: '/info?a=1&b=two',
      originalUrl: '/info?a=1&b=two',
      query: { a: '1', b: 'two' },
      ua: 'ua/1',
      httpVersion: '1.1',
    });
  });

  it('body parsers: JSON and urlencoded', async () => {
    const res = await fetch(`${server.url}/json`, { method: 'POST', body: JSON.stringify({ x: [1, 2] }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { got: { x: [1, 2] } });
    const form = await fetch(`${server.url}/form`, { method: 'POST', body: new URLSearchParams({ k: 'v', n: '1' }) });
    assert.deepEqual(await form.json(), { k: 'v', n: '1' });
  });

  it('a 4 MiB upload read from the req stream, sized and chunked', async () => {
    const body = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 13) & 0xff);
    const digest = createHash('sha256').update(body).digest('hex');
    assert.equal(await (await fetch(`${server.url}/upload`, { method: 'POST', body })).text(), `${body.length} ${digest}`);
    let off = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (off >= body.length) return c.close();
        c.enqueue(body.subarray(off, off + 300_000));
        off += 300_000;
      },
    });
    const res = await fetch(`${server.url}/upload`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(await res.text(), `${body.length} ${digest}`);
  });

  it('streams res.write() chunks as they are written', async () => {
    const res = await fetch(`${server.url}/stream`);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'line 0\n');
    let rest = '';
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      rest += new TextDecoder().decode(r.value);
    }
    assert.equal(rest, 'line 1\nline 2\n');
  });

  it("backpressure: res.write() returns false for a slow client and 'drain' follows", async () => {
    const port = server.port;
    const socket = net.connect(port, '127.0.0.1');
    socket.write('GET /flood HTTP/1.1\r\nHost: x\r\n\r\n');
    socket.pause();
    await sleep(200);
    assert.ok(writes.written < 200, `Express wrote ${writes.written} of 400 chunks to a client that reads nothing`);
    assert.ok(writes.falseSeen >= 1);
    let received = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= 400 * 64 * 1024) resolve();
      });
      socket.resume();
    });
    socket.destroy();
    assert.equal(writes.written, 400);
    assert.equal(writes.drains, writes.falseSeen);
  });

  it("a client that disconnects: res emits 'close' unfinished and req 'aborted'", async () => {
    events.length = 0;
    const controller = new AbortController();
    const res = await fetch(`${server.url}/forever`, { signal: controller.signal });
    await res.body!.getReader().read();
    controller.abort();
    for (let i = 0; i < 100 && events.length < 2; i++) await sleep(10);
    assert.deepEqual(events.sort(), ['req aborted', 'res close finished=false']);
  });

  it('cookies, custom status and fields, writeHead() with an object', async () => {
    const res = await fetch(`${server.url}/headers`);
    assert.equal(res.status, 202);
    assert.equal(res.statusText, 'Accepted');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/']);
    assert.equal(res.headers.get('x-custom'), 'yes');
    const raw = await fetch(`${server.url}/raw-end`);
    assert.equal(raw.headers.get('content-type'), 'text/plain');
    assert.equal(raw.headers.get('content-length'), '3', "node's own Content-Length for res.end(body)");
    assert.equal(await raw.text(), 'raw');
  });

  it("errors go to Express's handler (500); an explicit Transfer-Encoding is undone", async () => {
    const boom = await fetch(`${server.url}/boom`);
    assert.equal(boom.status, 500);
    assert.match(await boom.text(), /route failed|Internal Server Error/);
    assert.equal(await (await fetch(`${server.url}/explicit-te`)).text(), 'one,two');
    const nf = await fetch(`${server.url}/missing`);
    assert.equal(nf.status, 404);
  });

  it('HEAD gets the fields of GET and no body', async () => {
    const res = await fetch(`${server.url}/`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '18');
    assert.equal(await res.text(), '');
  });
});

describe('an Express app through the test client', () => {
  const app = fromNodeListener(expressApp());

  it('request(): answered in one piece when Express responds synchronously', async () => {
    const res = await request(app, '/');
    assert.equal(res.status, '200 OK');
    assert.equal(res.text, 'Hello from Express');
    assert.equal(res.chunks.length, 1);
  });

  it('client(): a mounted Express app sees the path below SCRIPT_NAME', async () => {
    const res = await client(app).get('/info', { scriptName: '/mount', query: { z: 1 } });
    const info = (await res.json()) as { url: string };
    assert.equal(info.url, '/info?z=1');
  });

  it('client(): cancelling the body is a disconnect for Express', async () => {
    events.length = 0;
    const res = await client(app).get('/forever');
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    for (let i = 0; i < 100 && events.length < 2; i++) await sleep(10);
    assert.deepEqual(events.sort(), ['req aborted', 'res close finished=false']);
  });
});

describe('a bare (req, res) listener', () => {
  it('synchronous writes around flushHeaders() all arrive, in order', async () => {
    const app = fromNodeListener((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.flushHeaders();
      res.write('a');
      res.write(Buffer.from('b'));
      res.end('c');
    });
    const res = await request(app, '/');
    assert.equal(res.text, 'abc');
    assert.equal(res.header('content-type'), 'text/plain');
  });

  it('reads a streamed upload with paused-mode read() and echoes it', async () => {
    const app = fromNodeListener((req, res) => {
      const parts: Buffer[] = [];
      req.on('readable', () => {
        for (let c = req.read() as Buffer | null; c !== null; c = req.read() as Buffer | null) parts.push(c);
      });
      req.on('end', () => res.end(`${req.complete} ${Buffer.concat(parts).toString()}`));
    });
    const res = await client(app).post('/', {
      body: (async function* () {
        yield 'one ';
        await sleep(5);
        yield 'two';
      })(),
    });
    assert.equal(await res.text(), 'true one two');
  });

  it('a listener that throws is a 500; one that destroys its response is cut short', async () => {
    const thrown = await request(
      fromNodeListener(() => {
        throw new Error('sync failure');
      }),
      '/',
    );
    assert.equal(thrown.statusCode, 500);
    assert.match(thrown.log.join('\n'), /sync failure/);
    const destroyed = await request(
      fromNodeListener((_req, res) => {
        res.writeHead(200, { 'Content-Length': '10' });
        res.write('part');
        setTimeout(() => res.destroy(), 5);
      }),
      '/',
    );
    assert.equal(destroyed.aborted, true);
    assert.equal(destroyed.text, 'part');
  });
});
