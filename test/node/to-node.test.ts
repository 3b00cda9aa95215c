// toNodeListener: a TSGI application mounted in a real Express 5 app (and in a bare node:http
// server): mount points, fields Express set first, uploads, streaming, backpressure, disconnects.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import type { Application, Environ } from '../../src/spec.js';
import { toNodeListener } from '../../src/node/index.js';
import { silentLogger } from '../../src/runner/log.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

const close = (server: http.Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });

const events: string[] = [];
const progress = { produced: 0 };

const app: Application = async (environ, start) => {
  switch (environ.PATH_INFO) {
    case '/environ': {
      start('200 OK', [['Content-Type', 'application/json']]);
      const keys = [
        'REQUEST_METHOD',
        'SCRIPT_NAME',
        'PATH_INFO',
        'QUERY_STRING',
        'REQUEST_URI',
        'SERVER_NAME',
        'SERVER_PORT',
        'REMOTE_ADDR',
        'HTTP_HOST',
        'HTTP_X_TEST',
        'wsgi.url_scheme',
      ] as const;
      const seen: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, environ[k] ?? null]));
      seen.user = (environ['tsgi.node.req'] as { user?: string }).user ?? null;
      return [JSON.stringify(seen)];
    }
    case '/cookies':
      start('200 OK', [
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['X-Powered-By', 'tsgi'],
        ['Content-Type', 'text/plain'],
      ]);
      return ['cookies'];
    case '/upload': {
      const hash = createHash('sha256');
      let n = 0;
      for (;;) {
        const b = await environ['wsgi.input'].read(65536);
        if (b.length === 0) break;
        hash.update(b);
        n += b.length;
      }
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [`${n} ${hash.digest('hex')} ${environ.CONTENT_LENGTH ?? 'chunked'}`];
    }
    case '/stream':
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        for (let i = 0; i < 3; i++) {
          yield `part ${i}\n`;
          await sleep(20);
        }
      })();
    case '/big': {
      progress.produced = 0;
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      const chunk = new Uint8Array(64 * 1024);
      return (function* () {
        for (let i = 0; i < 2000; i++) {
          progress.produced++;
          yield chunk;
        }
      })();
    }
    case '/forever': {
      (environ['tsgi.signal'] as AbortSignal).addEventListener('abort', () => events.push('signal'));
      start('200 OK', [['Content-Type', 'text/plain']]);
      return {
        async *[Symbol.asyncIterator]() {
          for (let i = 0; ; i++) {
            yield `tick ${i}\n`;
            await sleep(10);
          }
        },
        close() {
          events.push('close');
        },
      };
    }
    case '/done': {
      const signal = environ['tsgi.signal'] as AbortSignal;
      start('200 OK', []);
      return {
        *[Symbol.iterator]() {
          yield 'done';
        },
        close() {
          setTimeout(() => events.push(`aborted=${signal.aborted}`), 50);
        },
      };
    }
    default:
      start('404 Not Found', [['Content-Type', 'text/plain']]);
      return ['tsgi: not found'];
  }
};

describe('a TSGI app mounted in Express 5', () => {
  let server: http.Server;
  let url: string;
  before(async () => {
    const outer = express();
    outer.use((req, _res, next) => {
      (req as typeof req & { user?: string }).user = 'alice';
      next();
    });
    outer.get('/', (_req, res) => {
      res.send('express root');
    });
    outer.use('/legacy', toNodeListener(app, { log: silentLogger }));
    ({ server, url } = await listen(outer));
  });
  after(() => close(server));

  it('Express routes its own paths and hands the mount point to tsgi', async () => {
    assert.equal(await (await fetch(`${url}/`)).text(), 'express root');
    const e = await (await fetch(`${url}/legacy/environ?q=1`, { headers: { 'X-Test': 'yes' } })).json();
    const port = new URL(url).port;
    assert.deepEqual(e, {
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/legacy',
      PATH_INFO: '/environ',
      QUERY_STRING: 'q=1',
      REQUEST_URI: '/legacy/environ?q=1',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: port,
      REMOTE_ADDR: '127.0.0.1',
      HTTP_HOST: `127.0.0.1:${port}`,
      HTTP_X_TEST: 'yes',
      'wsgi.url_scheme': 'http',
      user: 'alice',
    });
  });

  it("the app's fields replace Express's, and repeated Set-Cookie fields survive", async () => {
    const res = await fetch(`${url}/legacy/cookies`);
    assert.equal(res.headers.get('x-powered-by'), 'tsgi');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(res.headers.get('content-length'), '7');
    assert.equal(await res.text(), 'cookies');
    const nf = await fetch(`${url}/legacy/nope`);
    assert.equal(nf.status, 404);
    assert.equal(nf.headers.get('x-powered-by'), 'Express', 'fields set before the app ran stay');
  });

  it('a 1 MiB upload, sized and chunked', async () => {
    const body = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) & 0xff);
    const digest = createHash('sha256').update(body).digest('hex');
    const sized = await fetch(`${url}/legacy/upload`, { method: 'POST', body });
    assert.equal(await sized.text(), `${body.length} ${digest} ${body.length}`);
    let off = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (off >= body.length) return c.close();
        c.enqueue(body.subarray(off, off + 100_000));
        off += 100_000;
      },
    });
    const chunked = await fetch(`${url}/legacy/upload`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(await chunked.text(), `${body.length} ${digest} chunked`);
  });

  it('streams a response', async () => {
    const res = await fetch(`${url}/legacy/stream`);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'part 0\n');
    let rest = '';
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      rest += new TextDecoder().decode(r.value);
    }
    assert.equal(rest, 'part 1\npart 2\n');
  });

  it('backpressure: a client that does not read holds the app back', async () => {
    const port = Number(new URL(url).port);
    const socket = (await import('node:net')).connect(port, '127.0.0.1');
    socket.write('GET /legacy/big HTTP/1.1\r\nHost: x\r\n\r\n');
    socket.pause();
    await sleep(200);
    const held = progress.produced;
    assert.ok(held < 200, `the app produced ${held} of 2000 chunks for a client that reads nothing`);
    let received = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= 2000 * 64 * 1024) resolve();
      });
      socket.resume();
    });
    socket.destroy();
    assert.equal(progress.produced, 2000);
  });

  it('a client that disconnects fires tsgi.signal and the body is closed', async () => {
    events.length = 0;
    const controller = new AbortController();
    const res = await fetch(`${url}/legacy/forever`, { signal: controller.signal });
    await res.body!.getReader().read();
    controller.abort();
    for (let i = 0; i < 100 && events.length < 2; i++) await sleep(10);
    assert.deepEqual(events.sort(), ['close', 'signal']);
  });

  it('tsgi.signal does not fire when the response completes', async () => {
    events.length = 0;
    assert.equal(await (await fetch(`${url}/legacy/done`)).text(), 'done');
    await sleep(100);
    assert.deepEqual(events, ['aborted=false']);
  });
});

describe('toNodeListener on a bare node:http server', () => {
  let server: http.Server;
  let url: string;
  before(async () => {
    ({ server, url } = await listen(
      toNodeListener(app, { log: silentLogger, scriptName: '/base', serverName: 'svc.local', serverPort: 80 }) as http.RequestListener,
    ));
  });
  after(() => close(server));

  it('takes SCRIPT_NAME, SERVER_NAME and SERVER_PORT from the options', async () => {
    const e = (await (await fetch(`${url}/environ`)).json()) as Environ;
    assert.equal(e.SCRIPT_NAME, '/base');
    assert.equal(e.PATH_INFO, '/environ');
    assert.equal(e.SERVER_NAME, 'svc.local');
    assert.equal(e.SERVER_PORT, '80');
  });

  it('a Connect-style mount (originalUrl, no baseUrl) gives SCRIPT_NAME too', async () => {
    const listener = toNodeListener(app, { log: silentLogger });
    const { server: s2, url: u2 } = await listen((req, res) => {
      const original = req.url!;
      (req as typeof req & { originalUrl: string }).originalUrl = original;
      req.url = original.slice('/connect'.length) || '/';
      listener(req, res);
    });
    try {
      const e = (await (await fetch(`${u2}/connect/environ?x=1`)).json()) as Environ;
      assert.equal(e.SCRIPT_NAME, '/connect');
      assert.equal(e.PATH_INFO, '/environ');
      assert.equal(e.REQUEST_URI, '/connect/environ?x=1');
    } finally {
      await close(s2);
    }
  });
});
