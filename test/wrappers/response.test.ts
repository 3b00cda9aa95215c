// Response: a TSGI application itself (callable, and asApp()), status forms, bodies of every kind,
// Set-Cookie attributes, JSON and redirects, conditional responses (304/412) and ranges (206/416) for
// bytes and for files, and handler() turning HTTP exceptions into responses. Apps run under validate().
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NotFound } from '../../src/exceptions/index.js';
import type { Application } from '../../src/spec.js';
import { client, request as run } from '../../src/testing/index.js';
import { validate } from '../../src/validate.js';
import { handler, Response, serializeCookie, statusLine } from '../../src/wrappers/index.js';
import { rawRequest, tempDir, withServer } from './support.js';

let tmp: ReturnType<typeof tempDir>;
before(() => (tmp = tempDir()));
after(() => tmp.remove());

const get = (app: Application, path = '/', headers: Record<string, string> = {}, method = 'GET') => run(validate(app), path, { headers, method });

describe('Response as an application', () => {
  it('is callable as a TSGI application and has asApp()', async () => {
    const response = new Response('hello\n', { status: 201, headers: { 'X-One': '1' } });
    assert.equal(typeof response, 'function');
    assert.ok(response instanceof Response);
    for (const app of [response, response.asApp()]) {
      const res = await get(app);
      assert.equal(res.status, '201 Created');
      assert.equal(res.text, 'hello\n');
      assert.equal(res.header('Content-Type'), 'text/plain; charset=utf-8');
      assert.equal(res.header('Content-Length'), '6');
      assert.equal(res.header('X-One'), '1');
    }
    // Any number of times (R1): a string body is served again.
    assert.equal((await get(response)).text, 'hello\n');
  });

  it('takes a status number, a full line or digits, and refuses nonsense', () => {
    assert.equal(new Response(null, { status: 404 }).status, '404 Not Found');
    assert.equal(new Response(null, { status: '404 No Such User' }).status, '404 No Such User');
    assert.equal(new Response(null, { status: '418' }).statusCode, 418);
    assert.equal(statusLine(599), '599 Unknown');
    assert.throws(() => new Response(null, { status: 42 }), RangeError);
    assert.throws(() => new Response(null, { status: '200\r\nX: y' }), RangeError);
  });

  it('sends bytes, iterables and async iterables, and no Content-Type on 204', async () => {
    assert.deepEqual(Buffer.from((await get(new Response(new Uint8Array([1, 2, 3])))).body), Buffer.from([1, 2, 3]));
    const sync = await get(new Response(['a', 'b'], { contentType: 'text/csv' }));
    assert.equal(sync.text, 'ab');
    assert.equal(sync.header('Content-Type'), 'text/csv');
    const streamed = await get(
      new Response(
        (async function* () {
          yield 'x';
          yield new Uint8Array([0x79]);
        })(),
      ),
    );
    assert.equal(streamed.text, 'xy');
    const empty = await get(new Response(null, { status: 204 }));
    assert.equal(empty.statusCode, 204);
    assert.equal(empty.header('Content-Type'), undefined);
    assert.equal(empty.header('Content-Length'), undefined);
  });

  it('serves over a real socket, HEAD included', async () => {
    const response = new Response('over the wire\n');
    await withServer(response, async ({ url }) => {
      const res = await fetch(url);
      assert.equal(await res.text(), 'over the wire\n');
      const head = await rawRequest(url, 'HEAD / HTTP/1.1\r\nHost: x\r\n');
      assert.equal(head.status, 200);
      assert.match(head.head, /Content-Length: 14/);
      assert.equal(head.body, '');
    });
  });

  it('Response.json() and Response.redirect()', async () => {
    const json = await get(Response.json({ a: 'é' }, { status: 201 }));
    assert.equal(json.statusCode, 201);
    assert.equal(json.header('Content-Type'), 'application/json');
    assert.deepEqual(JSON.parse(json.text), { a: 'é' });
    assert.throws(() => Response.json(undefined), TypeError);
    const redirect = await get(Response.redirect('/ünï code?x=<1>'));
    assert.equal(redirect.status, '302 Found');
    assert.equal(redirect.header('Location'), '/%C3%BCn%C3%AF%20code?x=<1>');
    assert.match(redirect.text, /href="\/%C3%BCn%C3%AF%20code\?x=&#60;1&#62;"/);
    assert.equal((await get(Response.redirect('https://example.com/', 308))).status, '308 Permanent Redirect');
  });
});

describe('Response: cookies', () => {
  it('writes every RFC 6265bis attribute', () => {
    const expires = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
    const r = new Response('x')
      .setCookie('sid', 'a b;c', {
        maxAge: 3600,
        expires,
        domain: 'example.com',
        path: '/app',
        secure: true,
        httpOnly: true,
        sameSite: 'None',
        partitioned: true,
        priority: 'High',
      })
      .setCookie('plain', 'v');
    const [first, second] = r.headers.getAll('Set-Cookie');
    assert.equal(
      first,
      'sid=a%20b%3Bc; Max-Age=3600; Domain=example.com; Path=/app; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; Partitioned; Priority=High; SameSite=None',
    );
    assert.equal(second, 'plain=v; Path=/');
    assert.equal(serializeCookie('s', '1', { sameSite: 'lax' }), 's=1; Path=/; SameSite=Lax');
    assert.equal(serializeCookie('s', '1', { sameSite: 'Strict' }), 's=1; Path=/; SameSite=Strict');
  });

  it('refuses cookies a browser would drop', () => {
    assert.throws(() => serializeCookie('a', 'b', { sameSite: 'None' }), /SameSite=None needs secure/);
    assert.throws(() => serializeCookie('a', 'b', { partitioned: true }), /partitioned needs secure/);
    assert.throws(() => serializeCookie('__Secure-a', 'b'), /__Secure- prefix/);
    assert.throws(() => serializeCookie('__Host-a', 'b', { secure: true, domain: 'example.com' }), /__Host- prefix/);
    assert.throws(() => serializeCookie('__Host-a', 'b', { secure: true, path: '/x' }), /__Host- prefix/);
    assert.equal(serializeCookie('__Host-a', 'b', { secure: true }), '__Host-a=b; Path=/; Secure');
    assert.throws(() => serializeCookie('bad name', 'b'), TypeError);
    assert.throws(() => serializeCookie('a', 'b', { sameSite: 'sometimes' as 'Lax' }), /sameSite must be/);
  });

  it('deleteCookie() expires it with the same path and domain', async () => {
    const res = await get(new Response('bye').deleteCookie('sid', { path: '/app', domain: 'example.com' }));
    assert.equal(res.header('Set-Cookie'), 'sid=; Max-Age=0; Domain=example.com; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  });

  it('sends several Set-Cookie fields over a real socket', async () => {
    await withServer(new Response('x').setCookie('a', '1').setCookie('b', '2', { httpOnly: true }), async ({ url }) => {
      const res = await fetch(url);
      assert.deepEqual(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
    });
  });
});

describe('Response: conditional requests and ranges', () => {
  const body = 'abcdefghijklmnopqrstuvwxyz';
  const modified = new Date('2024-05-06T07:08:09Z');
  const make = () => new Response(body).setEtag('v1').setLastModified(modified).makeConditional();

  it('200 with Accept-Ranges when nothing matches; 304 for a matching If-None-Match or a fresh If-Modified-Since', async () => {
    const full = await get(make());
    assert.equal(full.statusCode, 200);
    assert.equal(full.header('Accept-Ranges'), 'bytes');
    assert.equal(full.header('ETag'), '"v1"');
    const etag = await get(make(), '/', { 'If-None-Match': 'W/"v1"' });
    assert.equal(etag.statusCode, 304);
    assert.equal(etag.header('ETag'), '"v1"');
    assert.equal(etag.header('Content-Type'), undefined);
    assert.equal(etag.text, '');
    const date = await get(make(), '/', { 'If-Modified-Since': modified.toUTCString() });
    assert.equal(date.statusCode, 304);
    const older = await get(make(), '/', { 'If-Modified-Since': new Date(modified.getTime() - 1000).toUTCString() });
    assert.equal(older.statusCode, 200);
    const other = await get(make(), '/', { 'If-None-Match': '"v0"' });
    assert.equal(other.statusCode, 200);
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    assert.equal((await get(make(), '/', { 'If-None-Match': '"v0"', 'If-Modified-Since': modified.toUTCString() })).statusCode, 200);
  });

  it('412 for a failed If-Match or If-Unmodified-Since, and for If-None-Match on an unsafe method', async () => {
    assert.equal((await get(make(), '/', { 'If-Match': '"v0"' })).statusCode, 412);
    assert.equal((await get(make(), '/', { 'If-Match': 'W/"v1"' })).statusCode, 412, 'If-Match compares strongly');
    assert.equal((await get(make(), '/', { 'If-Match': '"v1"' })).statusCode, 200);
    assert.equal((await get(make(), '/', { 'If-Unmodified-Since': new Date(modified.getTime() - 1000).toUTCString() })).statusCode, 412);
    assert.equal((await get(make(), '/', { 'If-None-Match': '*' }, 'PUT')).statusCode, 412);
  });

  it('206 for a satisfiable range, 416 for one past the end, the whole body for an If-Range of another version', async () => {
    const part = await get(make(), '/', { Range: 'bytes=2-5' });
    assert.equal(part.statusCode, 206);
    assert.equal(part.text, 'cdef');
    assert.equal(part.header('Content-Range'), 'bytes 2-5/26');
    assert.equal(part.header('Content-Length'), '4');
    assert.equal((await get(make(), '/', { Range: 'bytes=-3' })).text, 'xyz');
    const none = await get(make(), '/', { Range: 'bytes=30-' });
    assert.equal(none.statusCode, 416);
    assert.equal(none.header('Content-Range'), 'bytes */26');
    const stale = await get(make(), '/', { Range: 'bytes=0-1', 'If-Range': '"v0"' });
    assert.equal(stale.statusCode, 200);
    assert.equal(stale.text, body);
    assert.equal((await get(make(), '/', { Range: 'bytes=0-1', 'If-Range': '"v1"' })).statusCode, 206);
    assert.equal((await get(make(), '/', { Range: 'bytes=0-1,3-4' })).statusCode, 200, 'several ranges: the whole body');
    // Without makeConditional() the headers are ignored.
    assert.equal((await get(new Response(body).setEtag('v1'), '/', { 'If-None-Match': '"v1"' })).statusCode, 200);
  });

  it('addEtag() hashes the body', () => {
    const a = new Response('same').addEtag().headers.get('ETag');
    assert.equal(a, new Response('same').addEtag().headers.get('ETag'));
    assert.notEqual(a, new Response('other').addEtag().headers.get('ETag'));
    assert.match(a!, /^"[A-Za-z0-9_-]{27}"$/);
    assert.throws(() => new Response(['x']).addEtag(), TypeError);
  });

  it('Response.file(): validators, 304, ranges and downloads over a real socket', async () => {
    const file = path.join(tmp.dir, 'notes.txt');
    writeFileSync(file, body);
    utimesSync(file, modified, modified);
    const app = handler(async (request) => Response.file(file, { download: request.args.has('download') ? request.args.get('download') || true : undefined }));
    await withServer(app, async ({ url }) => {
      const full = await fetch(url);
      assert.equal(await full.text(), body);
      assert.equal(full.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(full.headers.get('last-modified'), modified.toUTCString());
      const etag = full.headers.get('etag')!;
      assert.match(etag, /^"1a-[0-9a-f]+"$/);
      assert.equal((await fetch(url, { headers: { 'If-None-Match': etag } })).status, 304);
      const part = await fetch(url, { headers: { Range: 'bytes=20-' } });
      assert.equal(part.status, 206);
      assert.equal(await part.text(), 'uvwxyz');
      assert.equal(part.headers.get('content-range'), 'bytes 20-25/26');
      assert.equal((await fetch(url, { headers: { Range: 'bytes=26-' } })).status, 416);
      const download = await fetch(`${url}/?download=r%C3%A9sum%C3%A9.txt`);
      assert.equal(download.headers.get('content-disposition'), `attachment; filename="r_sum_.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt`);
      await download.arrayBuffer();
      const own = await fetch(`${url}/?download`);
      assert.equal(own.headers.get('content-disposition'), 'attachment; filename="notes.txt"');
      await own.arrayBuffer();
    });
  });
});

describe('handler()', () => {
  it('turns thrown HTTP exceptions into their responses and lets other errors reach the server (500)', async () => {
    const app = handler((request) => {
      if (request.path === '/missing') throw new NotFound('no such page');
      if (request.path === '/boom') throw new Error('bug');
      return new NotFound('returned, not thrown').asApp();
    });
    const missing = await get(app, '/missing');
    assert.equal(missing.statusCode, 404);
    assert.match(missing.text, /no such page/);
    const boom = await get(app, '/boom');
    assert.equal(boom.statusCode, 500);
    assert.ok(boom.log.some((l) => l.includes('bug')));
    assert.match((await get(app, '/other')).text, /returned, not thrown/);
  });

  it('refuses a handler that returns no response', async () => {
    const res = await get(handler(() => undefined as unknown as Response));
    assert.equal(res.statusCode, 500);
    assert.ok(
      res.log.some((l) => l.includes('not a Response')),
      res.log.join('\n'),
    );
  });

  it('removes the temporary files when the client cancels the response, even while the body is stuck', async () => {
    const uploads = tempDir();
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    let closedBody = false;
    let spooled: string | null = null;
    const app = handler(
      async (request) => {
        spooled = (await request.files()).get('f')!.path;
        return new Response(
          (async function* () {
            try {
              yield 'first';
              await stuck; // the engine calls close() without waiting for this generator's return()
              yield 'never';
            } finally {
              closedBody = true;
            }
          })(),
        );
      },
      { tempDir: uploads.dir },
    );
    const form = new FormData();
    form.append('f', new Blob([new Uint8Array(600 * 1024)]), 'f.bin');
    const res = await client(validate(app)).post('/', { form });
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'first');
    assert.ok(spooled !== null && uploads.files().length === 1, 'spooled to disk');
    await reader.cancel();
    const gone = async (check: () => boolean) => {
      const deadline = Date.now() + 2000;
      while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return check();
    };
    assert.ok(await gone(() => uploads.files().length === 0), 'removed once the client went away');
    assert.equal(closedBody, false, 'the body is still waiting');
    release();
    assert.ok(await gone(() => closedBody), 'then the body is closed');
    uploads.remove();
  });
});
