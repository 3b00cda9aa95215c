// fromFetchHandler with a real Hono application: served by tsgi's HTTP door over real sockets and
// through the test client. Routing, JSON, uploads, streaming responses, a client that disconnects,
// the lazy Request, and Content-Length for small bodies.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import type { Environ } from '../../src/spec.js';
import { fromFetchHandler } from '../../src/fetch/index.js';
import { serve, type ServerHandle } from '../../src/http/serve.js';
import { silentLogger } from '../../src/runner/log.js';
import { client, request } from '../../src/testing/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const events: string[] = [];

function honoApp() {
  const app = new Hono<{ Bindings: Environ }>();
  app.get('/', (c) => c.text('Hello from Hono'));
  app.get('/who', (c) => c.json({ remote: c.env.REMOTE_ADDR, server: c.env.SERVER_NAME, ua: c.req.header('user-agent') ?? null, url: c.req.url }));
  app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query('q') ?? null }));
  app.post('/json', async (c) => c.json({ got: await c.req.json() }, 201));
  app.post('/form', async (c) => {
    const form = await c.req.formData();
    const file = form.get('file') as File;
    return c.json({ name: form.get('name'), file: file.name, size: file.size });
  });
  app.post('/upload', async (c) => {
    const hash = createHash('sha256');
    let n = 0;
    const reader = c.req.raw.body!.getReader();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      hash.update(r.value);
      n += r.value.length;
    }
    return c.text(`${n} ${hash.digest('hex')}`);
  });
  app.get('/stream', (c) =>
    stream(c, async (s) => {
      for (let i = 0; i < 3; i++) {
        await s.write(`chunk ${i}\n`);
        await s.sleep(20);
      }
    }),
  );
  app.get('/forever', (c) => {
    c.req.raw.signal.addEventListener('abort', () => events.push('request.signal'));
    return stream(c, async (s) => {
      s.onAbort(() => {
        events.push('onAbort');
      });
      for (let i = 0; !s.aborted; i++) {
        await s.write(`tick ${i}\n`);
        await s.sleep(10);
      }
    });
  });
  app.get('/cookies', (c) => {
    c.header('Set-Cookie', 'a=1', { append: true });
    c.header('Set-Cookie', 'b=2', { append: true });
    return c.body(null, 204);
  });
  app.get('/boom', () => {
    throw new Error('handler failed');
  });
  return app;
}

describe('a Hono app served by the tsgi HTTP door', () => {
  let server: ServerHandle;
  before(async () => {
    server = await serve(fromFetchHandler(honoApp()), { host: '127.0.0.1', port: 0, log: silentLogger });
  });
  after(() => server.close());

  it('routes and answers with a Content-Length for a small body', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'Hello from Hono');
    assert.equal(res.headers.get('content-length'), '15');
    assert.match(res.headers.get('content-type')!, /^text\/plain; ?charset=UTF-8$/);
  });

  it('passes the environ as c.env and builds the URL from Host', async () => {
    const res = await fetch(`${server.url}/who`, { headers: { 'User-Agent': 'test-agent' } });
    assert.deepEqual(await res.json(), { remote: '127.0.0.1', server: '127.0.0.1', ua: 'test-agent', url: `${server.url}/who` });
  });

  it('params, query, 404 and 500', async () => {
    assert.deepEqual(await (await fetch(`${server.url}/users/42?q=x`)).json(), { id: '42', q: 'x' });
    const nf = await fetch(`${server.url}/nope`);
    assert.equal(nf.status, 404);
    assert.equal(nf.statusText, 'Not Found');
    const boom = await fetch(`${server.url}/boom`);
    assert.equal(boom.status, 500, "Hono's own error handler answers");
  });

  it('JSON and multipart bodies', async () => {
    const res = await fetch(`${server.url}/json`, { method: 'POST', body: JSON.stringify({ a: [1, 2] }), headers: { 'Content-Type': 'application/json' } });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { got: { a: [1, 2] } });
    const form = new FormData();
    form.set('name', 'tsgi');
    form.set('file', new File([new Uint8Array(5000)], 'data.bin'));
    assert.deepEqual(await (await fetch(`${server.url}/form`, { method: 'POST', body: form })).json(), { name: 'tsgi', file: 'data.bin', size: 5000 });
  });

  it('a 2 MiB upload, streamed in chunks, read through request.body', async () => {
    const piece = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);
    let sent = 0;
    const total = 2 * 1024 * 1024;
    const hash = createHash('sha256');
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= total) return c.close();
        sent += piece.length;
        hash.update(piece);
        c.enqueue(piece);
      },
    });
    const res = await fetch(`${server.url}/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    assert.equal(await res.text(), `${total} ${hash.digest('hex')}`);
  });

  it('streams a response chunk by chunk', async () => {
    const res = await fetch(`${server.url}/stream`);
    assert.equal(res.headers.get('content-length'), null);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked', "the door frames it (Hono's own TE field is dropped)");
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'chunk 0\n', 'the first chunk arrives before the rest exists');
    let rest = '';
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      rest += new TextDecoder().decode(r.value);
    }
    assert.equal(rest, 'chunk 1\nchunk 2\n');
  });

  it('a client that disconnects: the stream sees onAbort and request.signal fires', async () => {
    events.length = 0;
    const controller = new AbortController();
    const res = await fetch(`${server.url}/forever`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    for (let i = 0; i < 100 && events.length < 2; i++) await sleep(10);
    assert.deepEqual(events.sort(), ['onAbort', 'request.signal']);
  });

  it('repeated Set-Cookie fields, and 204 without a body', async () => {
    const res = await fetch(`${server.url}/cookies`);
    assert.equal(res.status, 204);
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
  });
});

describe('a Hono app through the test client', () => {
  const app = fromFetchHandler(honoApp());

  it('request(): the collected response', async () => {
    const res = await request(app, '/users/7', { query: { q: 'z' } });
    assert.equal(res.status, '200 OK');
    assert.deepEqual(JSON.parse(res.text), { id: '7', q: 'z' });
  });

  it('client(): Fetch Responses, JSON in and out, the disconnect', async () => {
    const c = client(app);
    const res = await c.post('/json', { json: { hello: 'world' } });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { got: { hello: 'world' } });

    events.length = 0;
    const s = await c.get('/forever');
    const reader = s.body!.getReader();
    await reader.read();
    await reader.cancel();
    for (let i = 0; i < 100 && events.length < 2; i++) await sleep(10);
    assert.deepEqual(events.sort(), ['onAbort', 'request.signal']);
  });
});

describe('the lazy Request', () => {
  it('routing and answering build no Headers and no Request', async () => {
    const RealHeaders = globalThis.Headers;
    const RealRequest = globalThis.Request;
    let headersMade = 0;
    let requestsMade = 0;
    let seen: Request | undefined;
    const app = fromFetchHandler((req) => {
      seen = req;
      return new Response(`${req.method} ${new URL(req.url).pathname}`);
    });
    try {
      globalThis.Headers = class extends RealHeaders {
        constructor(init?: ConstructorParameters<typeof Headers>[0]) {
          super(init);
          headersMade++;
        }
      };
      globalThis.Request = class extends RealRequest {
        constructor(input: ConstructorParameters<typeof Request>[0], init?: RequestInit) {
          super(input, init);
          requestsMade++;
        }
      } as typeof Request;
      const res = await request(app, '/lazy', { headers: { 'X-A': '1' } });
      assert.equal(res.text, 'GET /lazy');
      const before = headersMade;
      assert.equal(requestsMade, 0, 'no Request was made');
      assert.equal(seen!.headers.get('x-a'), '1');
      assert.equal(headersMade, before + 1, 'Headers made on first access');
      assert.ok(seen instanceof RealRequest);
    } finally {
      globalThis.Headers = RealHeaders;
      globalThis.Request = RealRequest;
    }
  });

  it('text(), json(), arrayBuffer() read wsgi.input directly; a second read is refused', async () => {
    const app = fromFetchHandler(async (req) => {
      const data = (await req.json()) as { n: number };
      assert.equal(req.bodyUsed, true);
      await assert.rejects(req.text(), /unusable/);
      return Response.json({ n: data.n + 1 });
    });
    const res = await request(app, '/', { json: { n: 1 } });
    assert.deepEqual(JSON.parse(res.text), { n: 2 });
  });

  it('clone(), formData() and the other members make the real Request', async () => {
    const app = fromFetchHandler(async (req) => {
      const copy = req.clone();
      const [a, b] = await Promise.all([req.text(), copy.text()]);
      return new Response(`${a}|${b}|${req.mode}|${req.redirect}`);
    });
    const res = await request(app, '/', { method: 'POST', body: 'payload' });
    assert.equal(res.text, 'payload|payload|cors|follow');
  });

  it('nativeRequest: a real Request for code that wraps it in new Request()', async () => {
    const app = fromFetchHandler(
      async (req) => {
        const wrapped = new Request(req, { headers: { 'X-Wrapped': '1' } });
        return new Response(`${await wrapped.text()} ${wrapped.headers.get('x-wrapped')}`);
      },
      { nativeRequest: true },
    );
    const res = await request(app, '/', { method: 'PUT', body: 'data' });
    assert.equal(res.text, 'data 1');
  });

  it('the URL keeps %2F and raw query bytes, and reflects a mount point', async () => {
    const urls: string[] = [];
    const app = fromFetchHandler((req) => {
      urls.push(req.url);
      return new Response(null, { status: 204 });
    });
    await request(app, '/a%2Fb/c d', { query: 'x=%41&y=\u00e9' });
    await request(app, '/inner', { scriptName: '/mount', headers: { Host: 'example.org:8080' } });
    assert.deepEqual(urls, ['http://localhost/a%2Fb/c%20d?x=%41&y=%C3%A9', 'http://example.org:8080/inner']);
  });
});
