// A TSGI application run through toFetchHandler by the real @hono/node-server, alone and mounted in a
// real Hono app: environ over real sockets, uploads, streaming, and a client that disconnects.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Application } from '../../src/spec.js';
import { toFetchHandler } from '../../src/fetch/index.js';
import { silentLogger } from '../../src/runner/log.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Server = ReturnType<typeof serve>;

function listen(fetch: (r: Request, env: unknown) => Response | Promise<Response>): Promise<{ server: Server; url: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({ server, url: `http://127.0.0.1:${info.port}` });
    });
  });
}

const closeServer = (s: Server) =>
  new Promise<void>((r) => {
    (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    s.close(() => r());
  });

const events: string[] = [];

/** A small TSGI application with a route per behaviour under test. */
const app: Application = async (environ, start) => {
  switch (environ.PATH_INFO) {
    case '/environ': {
      start('200 OK', [['Content-Type', 'application/json']]);
      const keys = [
        'REQUEST_METHOD',
        'SCRIPT_NAME',
        'PATH_INFO',
        'QUERY_STRING',
        'SERVER_NAME',
        'SERVER_PORT',
        'REMOTE_ADDR',
        'HTTP_HOST',
        'HTTP_X_TEST',
      ] as const;
      return [JSON.stringify(Object.fromEntries(keys.map((k) => [k, environ[k] ?? null])))];
    }
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
      return [`${n} ${hash.digest('hex')}`];
    }
    case '/stream': {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        for (let i = 0; i < 3; i++) {
          yield `part ${i}\n`;
          await sleep(20);
        }
      })();
    }
    case '/forever': {
      const signal = environ['tsgi.signal'] as AbortSignal;
      signal.addEventListener('abort', () => events.push('signal'));
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
    default:
      start('404 Not Found', [['Content-Type', 'text/plain']]);
      return ['not found'];
  }
};

describe('toFetchHandler under @hono/node-server', () => {
  let server: Server;
  let url: string;
  before(async () => {
    ({ server, url } = await listen(toFetchHandler(app, { log: silentLogger })));
  });
  after(() => closeServer(server));

  it('builds the environ, REMOTE_ADDR from the node-server bindings', async () => {
    const res = await fetch(`${url}/environ?a=1`, { headers: { 'X-Test': 'yes' } });
    const e = (await res.json()) as Record<string, string>;
    assert.equal(e.REQUEST_METHOD, 'GET');
    assert.equal(e.PATH_INFO, '/environ');
    assert.equal(e.QUERY_STRING, 'a=1');
    assert.equal(e.REMOTE_ADDR, '127.0.0.1');
    assert.equal(e.HTTP_HOST, new URL(url).host);
    assert.equal(e.HTTP_X_TEST, 'yes');
    assert.equal(res.headers.get('content-length'), String(JSON.stringify(e).length));
  });

  it('takes a 1 MiB upload through wsgi.input', async () => {
    const body = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const res = await fetch(`${url}/upload`, { method: 'POST', body });
    assert.equal(await res.text(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
  });

  it('streams the response as the application produces it', async () => {
    const res = await fetch(`${url}/stream`);
    const reader = res.body!.getReader();
    const parts: string[] = [];
    const dec = new TextDecoder();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(dec.decode(r.value));
    }
    assert.equal(parts.join(''), 'part 0\npart 1\npart 2\n');
    assert.ok(parts.length >= 2, 'arrived in several pieces');
  });

  it('a client that disconnects fires tsgi.signal and the body is closed', async () => {
    events.length = 0;
    const controller = new AbortController();
    const res = await fetch(`${url}/forever`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    for (let i = 0; i < 50 && events.length < 2; i++) await sleep(10);
    assert.deepEqual(events.sort(), ['close', 'signal']);
  });
});

describe('a TSGI application mounted in a Hono app', () => {
  let server: Server;
  let url: string;
  before(async () => {
    const hono = new Hono();
    hono.get('/', (c) => c.text('hono root'));
    hono.mount('/legacy', toFetchHandler(app, { log: silentLogger }));
    ({ server, url } = await listen(hono.fetch));
  });
  after(() => closeServer(server));

  it('routes under the mount point to the TSGI app, the rest to Hono', async () => {
    assert.equal(await (await fetch(`${url}/`)).text(), 'hono root');
    const e = (await (await fetch(`${url}/legacy/environ?q=2`)).json()) as Record<string, string>;
    assert.equal(e.PATH_INFO, '/environ', 'Hono strips its mount prefix');
    assert.equal(e.QUERY_STRING, 'q=2');
    assert.equal(e.REMOTE_ADDR, '127.0.0.1');
  });

  it('streams and uploads through Hono', async () => {
    assert.equal(await (await fetch(`${url}/legacy/stream`)).text(), 'part 0\npart 1\npart 2\n');
    const body = new TextEncoder().encode('x'.repeat(100_000));
    const res = await fetch(`${url}/legacy/upload`, { method: 'POST', body });
    assert.match(await res.text(), /^100000 /);
  });
});
