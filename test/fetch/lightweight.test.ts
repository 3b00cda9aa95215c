// LightweightResponse and fromFetchHandler's `lightweightResponse` option (it replaces the global
// Response for the process, hence a file of its own): the fast path, and that everything else
// still behaves as the runtime's Response.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { LightweightResponse, fromFetchHandler, useLightweightResponse } from '../../src/fetch/index.js';
import { client, request } from '../../src/testing/index.js';

const NativeResponse = globalThis.Response;

describe('LightweightResponse', () => {
  const restore = useLightweightResponse();
  after(restore);

  it('replaces the global and passes instanceof both ways', () => {
    assert.equal(globalThis.Response as unknown, LightweightResponse);
    const light = new Response('x');
    assert.ok(light instanceof NativeResponse);
    assert.ok(light instanceof Response);
    assert.ok(NativeResponse.error() instanceof Response);
  });

  it('answers status, headers and ok from what it was given, and reads like a Response', async () => {
    const r = new Response('hello', { status: 201, headers: { 'X-A': '1' } });
    assert.equal(r.status, 201);
    assert.equal(r.ok, true);
    assert.equal(r.headers.get('x-a'), '1');
    assert.equal(r.headers.get('content-type'), 'text/plain;charset=UTF-8');
    assert.equal(await r.text(), 'hello');
    assert.equal(r.bodyUsed, true);
    const j = Response.json({ a: 1 }, { status: 202 });
    assert.equal(j.headers.get('content-type'), 'application/json');
    assert.deepEqual(await j.json(), { a: 1 });
  });

  it('a stream body, a bad status or a body on 204 go to the real Response', async () => {
    const s = new Response(new Blob(['blob']).stream());
    assert.equal(await s.text(), 'blob');
    assert.throws(() => new Response('x', { status: 99 }), RangeError);
    assert.throws(() => new Response('x', { status: 204 }), TypeError);
  });
});

describe('fromFetchHandler({ lightweightResponse: true }) with Hono', () => {
  const hono = new Hono();
  hono.use('/after/*', async (c, next) => {
    await next();
    c.res.headers.set('X-After', 'set by middleware');
  });
  hono.get('/', (c) => c.text('Hello, World!\n'));
  hono.get('/json', (c) => c.json({ ok: true }, 201));
  hono.get('/after/x', (c) => c.text('after'));
  hono.get('/bytes', () => new Response(new Uint8Array([1, 2, 3]), { headers: [['Content-Type', 'application/octet-stream']] }));
  hono.get('/empty', (c) => c.body(null, 204));
  hono.get('/stream', (c) =>
    stream(c, async (s) => {
      await s.write('a');
      await s.write('b');
    }),
  );
  const app = fromFetchHandler(hono, { lightweightResponse: true });
  after(() => {
    // the option installed it for the process: put the runtime's own back for other tests in this file
    Object.defineProperty(globalThis, 'Response', { value: NativeResponse, writable: true, configurable: true });
  });

  it('text and JSON leave whole, with Content-Length', async () => {
    const t = await request(app, '/');
    assert.deepEqual([t.status, t.text, t.header('content-length'), t.header('content-type')], ['200 OK', 'Hello, World!\n', '14', 'text/plain;charset=UTF-8']);
    assert.equal(t.chunks.length, 1);
    const j = await request(app, '/json');
    assert.deepEqual([j.status, j.text, j.header('content-type')], ['201 Created', '{"ok":true}', 'application/json']);
  });

  it('fields a middleware sets after the handler are kept', async () => {
    const r = await request(app, '/after/x');
    assert.equal(r.header('x-after'), 'set by middleware');
    assert.equal(r.text, 'after');
  });

  it('bytes, 204 and streams', async () => {
    const b = await request(app, '/bytes');
    assert.deepEqual([...b.body], [1, 2, 3]);
    assert.equal(b.header('content-type'), 'application/octet-stream');
    const e = await request(app, '/empty');
    assert.equal(e.statusCode, 204);
    const s = await client(app).get('/stream');
    assert.equal(await s.text(), 'ab');
  });
});
