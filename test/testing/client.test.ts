// tsgi/testing: createEnviron's options, runApp keeping write() and close(), and client(app) with
// Fetch Responses: streaming, cancelling as a disconnect, signals, logs, client.fetch().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Application, Body, Environ, EnvironRecord } from '../../src/spec.js';
import { CapturedErrors, client, createEnviron, request, runApp } from '../../src/testing/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Reads wsgi.input whole and answers with what the request looked like. */
const echo: Application = async (environ, start) => {
  const body = await environ['wsgi.input'].read();
  start('200 OK', [['Content-Type', 'application/json']]);
  return [
    JSON.stringify({
      method: environ.REQUEST_METHOD,
      path: environ.PATH_INFO,
      query: environ.QUERY_STRING,
      type: environ.CONTENT_TYPE ?? null,
      length: environ.CONTENT_LENGTH ?? null,
      te: environ.HTTP_TRANSFER_ENCODING ?? null,
      body: Buffer.from(body).toString('latin1'),
      headers: Object.fromEntries(Object.entries(environ).filter(([k]) => k.startsWith('HTTP_'))),
    }),
  ];
};

describe('createEnviron', () => {
  it('method, path, query (record, URLSearchParams, string) and headers (object, pairs with repeats)', () => {
    const e = createEnviron('/a b/%C3%A9?x=1', {
      query: { y: 2, z: true },
      headers: [
        ['X-A', '1'],
        ['X-A', '2'],
        ['Cookie', 'a=1'],
        ['Cookie', 'b=2'],
      ],
    });
    assert.equal(e.REQUEST_METHOD, 'GET');
    assert.equal(e.PATH_INFO, '/a b/\u00c3\u00a9');
    assert.equal(e.QUERY_STRING, 'x=1&y=2&z=true');
    assert.equal(e.REQUEST_URI, '/a%20b/%C3%A9?x=1&y=2&z=true');
    assert.equal(e.HTTP_X_A, '1,2');
    assert.equal(e.HTTP_COOKIE, 'a=1; b=2');
    assert.equal(e.HTTP_HOST, 'localhost');
    assert.equal(createEnviron('/', { query: new URLSearchParams({ q: 'a b' }) }).QUERY_STRING, 'q=a+b');
    assert.equal(createEnviron('/', { query: 'q=\u00e9' }).QUERY_STRING, 'q=%C3%A9', 'text is sent as UTF-8, as a browser would');
    assert.equal(createEnviron('/', { headers: { 'X-Name': 'caf\u00e9' } }).HTTP_X_NAME, 'caf\u00c3\u00a9');
  });

  it('json, form and body set the method, Content-Type and Content-Length', async () => {
    const j = createEnviron('/', { json: { a: 1 } });
    assert.equal(j.REQUEST_METHOD, 'POST');
    assert.equal(j.CONTENT_TYPE, 'application/json');
    assert.equal(j.CONTENT_LENGTH, '7');
    assert.equal(text(await j['wsgi.input'].read()), '{"a":1}');
    const f = createEnviron('/', { form: { a: '1', b: 'x y' }, method: 'PUT' });
    assert.equal(f.REQUEST_METHOD, 'PUT');
    assert.equal(f.CONTENT_TYPE, 'application/x-www-form-urlencoded');
    assert.equal(text(await f['wsgi.input'].read()), 'a=1&b=x+y');
    const b = createEnviron('/', { body: new Uint8Array([1, 2, 3]), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(b.CONTENT_LENGTH, '3');
    assert.equal(b.CONTENT_TYPE, 'application/octet-stream');
  });

  it('a FormData form is multipart, files included', async () => {
    const form = new FormData();
    form.set('name', 'tsgi');
    form.set('file', new File(['file contents'], 'a.txt', { type: 'text/plain' }));
    const e = createEnviron('/upload', { form });
    assert.match(e.CONTENT_TYPE!, /^multipart\/form-data; boundary=/);
    assert.equal(e.HTTP_TRANSFER_ENCODING, 'chunked');
    const body = text(await e['wsgi.input'].read());
    assert.match(body, /name="name"\r\n\r\ntsgi\r\n/);
    assert.match(body, /filename="a.txt"\r\nContent-Type: text\/plain\r\n\r\nfile contents\r\n/);
  });

  it('streamed bodies (async iterable, ReadableStream) are chunked; a Blob has its size', async () => {
    const gen = createEnviron('/', {
      body: (async function* () {
        yield 'ab';
        await sleep(1);
        yield new Uint8Array([99]);
      })(),
    });
    assert.equal(gen.CONTENT_LENGTH, undefined);
    assert.equal(gen.HTTP_TRANSFER_ENCODING, 'chunked');
    assert.equal(text(await gen['wsgi.input'].read(2)), 'ab');
    assert.equal(text(await gen['wsgi.input'].read()), 'c');
    const rs = createEnviron('/', { body: new Blob(['0123456789']).stream() as ReadableStream<Uint8Array> });
    assert.equal(text(await rs['wsgi.input'].read()), '0123456789');
    const blob = createEnviron('/', { body: new Blob(['hello'], { type: 'text/x-test' }) });
    assert.equal(blob.CONTENT_LENGTH, '5');
    assert.equal(blob.CONTENT_TYPE, 'text/x-test');
    assert.equal(text(await blob['wsgi.input'].readline()), 'hello');
  });

  it('server and client details, extra environ keys, the signal', () => {
    const ac = new AbortController();
    const e = createEnviron('/', {
      scheme: 'https',
      serverName: 'example.org',
      remoteAddr: '192.0.2.9',
      scriptName: '/app',
      protocol: 'HTTP/1.0',
      environ: { 'my.key': 1 },
      signal: ac.signal,
    });
    assert.equal(e['wsgi.url_scheme'], 'https');
    assert.equal(e.SERVER_PORT, '443');
    assert.equal(e.SERVER_NAME, 'example.org');
    assert.equal(e.REMOTE_ADDR, '192.0.2.9');
    assert.equal(e.SCRIPT_NAME, '/app');
    assert.equal(e.SERVER_PROTOCOL, 'HTTP/1.0');
    assert.equal((e as EnvironRecord)['my.key'], 1);
    assert.equal(e['tsgi.signal'], ac.signal);
    assert.ok(e['wsgi.errors'] instanceof CapturedErrors);
  });
});

describe('runApp keeps write() and close()', () => {
  it('write() chunks come before the iterable, close() runs once', async () => {
    let closes = 0;
    const app: Application = (_e, start) => {
      const write = start('200 OK', [['Content-Type', 'text/plain']]);
      void write('from write, ');
      const body: Body = {
        *[Symbol.iterator]() {
          yield 'from the body';
        },
        close() {
          closes++;
        },
      };
      return body;
    };
    const res = await runApp(app, createEnviron('/'));
    assert.equal(res.text, 'from write, from the body');
    assert.equal(res.chunks.length, 2);
    assert.equal(closes, 1);
    assert.equal(res.header('content-type'), 'text/plain');
  });

  it('wsgi.errors is captured', async () => {
    const environ = createEnviron('/');
    await runApp((env, start) => {
      env['wsgi.errors'].write('warned\n');
      start('204 No Content', []);
      return [];
    }, environ);
    assert.equal((environ['wsgi.errors'] as CapturedErrors).getvalue(), 'warned\n');
  });
});

describe('client(app)', () => {
  it('get/post/put/patch/delete/options/head answer with Fetch Responses', async () => {
    const c = client(echo);
    for (const m of ['get', 'post', 'put', 'patch', 'delete', 'options'] as const) {
      const res = await c[m]('/x');
      assert.ok(res instanceof Response);
      assert.equal(((await res.json()) as { method: string }).method, m.toUpperCase());
    }
    const head = await c.head('/x');
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    assert.ok(Number(head.headers.get('content-length')) > 0);
  });

  it('request options: json, form, query, headers merged with the defaults', async () => {
    const c = client(echo, { headers: { 'X-Default': 'd', 'X-Both': 'default' } });
    const res = await c.post('/submit', { json: { a: 1 }, query: { q: 'x' }, headers: { 'X-Both': 'request' } });
    const seen = (await res.json()) as { type: string; body: string; query: string; headers: Record<string, string> };
    assert.equal(seen.type, 'application/json');
    assert.equal(seen.body, '{"a":1}');
    assert.equal(seen.query, 'q=x');
    assert.equal(seen.headers.HTTP_X_DEFAULT, 'd');
    assert.equal(seen.headers.HTTP_X_BOTH, 'default,request');
  });

  it('a streamed upload reaches the app chunked', async () => {
    const res = await client(echo).put('/up', {
      body: (async function* () {
        for (let i = 0; i < 3; i++) yield `part${i};`;
      })(),
    });
    const seen = (await res.json()) as { body: string; te: string; length: string | null };
    assert.deepEqual([seen.body, seen.te, seen.length], ['part0;part1;part2;', 'chunked', null]);
  });

  it('the Response streams: chunks arrive as the app yields them', async () => {
    let release!: () => void;
    const app: Application = (_e, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'first;';
        await new Promise<void>((r) => (release = r));
        yield 'second';
      })();
    };
    const res = await client(app).get('/');
    const reader = res.body!.getReader();
    assert.equal(text((await reader.read()).value!), 'first;');
    release();
    assert.equal(text((await reader.read()).value!), 'second');
    assert.equal((await reader.read()).done, true);
  });

  it('cancelling the body is a client that went away: tsgi.signal fires, close() runs', async () => {
    const events: string[] = [];
    const app: Application = (environ, start) => {
      (environ['tsgi.signal'] as AbortSignal).addEventListener('abort', () => events.push('signal'));
      start('200 OK', []);
      return {
        async *[Symbol.asyncIterator]() {
          for (;;) {
            yield 'x';
            await sleep(5);
          }
        },
        close() {
          events.push('close');
        },
      };
    };
    const res = await client(app).get('/');
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await sleep(20);
    assert.deepEqual(events.sort(), ['close', 'signal']);
  });

  it('the signal option: aborting it mid-response is a disconnect', async () => {
    const events: string[] = [];
    const app: Application = (environ, start) => {
      (environ['tsgi.signal'] as AbortSignal).addEventListener('abort', () => events.push('signal'));
      start('200 OK', []);
      return {
        async *[Symbol.asyncIterator]() {
          for (;;) {
            yield 'x';
            await sleep(5);
          }
        },
        close() {
          events.push('close');
        },
      };
    };
    const ac = new AbortController();
    const res = await client(app).get('/', { signal: ac.signal });
    await res.body!.getReader().read();
    ac.abort();
    await sleep(30);
    assert.deepEqual(events.sort(), ['close', 'signal']);
  });

  it('client.log has the engine log, client.errors the wsgi.errors text', async () => {
    const c = client((environ, start) => {
      environ['wsgi.errors'].write('app says hi\n');
      start('200 OK', [['Content-Length', '10']]);
      return ['short'];
    });
    const res = await c.get('/');
    await assert.rejects(res.text());
    assert.match(c.log.join('\n'), /5 bytes of its Content-Length 10/);
    assert.equal(c.errors.getvalue(), 'app says hi\n');
    const failing = client(() => {
      throw new Error('kaput');
    });
    const r500 = await failing.get('/');
    assert.equal(r500.status, 500);
    assert.match(failing.log.join('\n'), /kaput/);
  });

  it('client.fetch() takes a Request', async () => {
    const res = await client(echo).fetch(new Request('http://example.com/f?x=1', { method: 'POST', body: 'hi' }));
    const seen = (await res.json()) as { path: string; query: string; body: string; headers: Record<string, string> };
    assert.deepEqual([seen.path, seen.query, seen.body, seen.headers.HTTP_HOST], ['/f', 'x=1', 'hi', 'example.com']);
  });

  it('request() still collects whole responses', async () => {
    const res = await request(echo, '/r', { method: 'DELETE' });
    assert.equal(res.statusCode, 200);
    assert.equal((JSON.parse(res.text) as Environ & { method: string }).method, 'DELETE');
  });
});
