// Request: the URL, headers, query string (bad UTF-8 included), cookies, JSON, text, urlencoded and
// multipart forms, negotiation, conditional headers, and the four body limits (413) and malformed
// bodies (400), in-process through the test client and over real sockets. Every app runs under validate().
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Environ } from '../../src/spec.js';
import { createEnviron, request as run, type RequestOptions as ClientRequestOptions } from '../../src/testing/index.js';
import { validate } from '../../src/validate.js';
import { handler, Request, Response, type RequestOptions } from '../../src/wrappers/index.js';
import { multipart, rawRequest, tempDir, withServer } from './support.js';

let tmp: ReturnType<typeof tempDir>;
before(() => (tmp = tempDir()));
after(() => tmp.remove());

/** Runs `fn` on a Request for this request (through the engine, under validate()) and returns what it returned, or the error response. */
async function inspect<T>(fn: (r: Request) => T | Promise<T>, path = '/', options: ClientRequestOptions = {}, limits: RequestOptions = {}) {
  let value: T | undefined;
  const app = validate(
    handler(
      async (request) => {
        value = await fn(request);
        return new Response('ok');
      },
      { tempDir: tmp.dir, ...limits },
    ),
  );
  const res = await run(app, path, options);
  return { value: value as T, res };
}

describe('Request: URL and headers', () => {
  it('reads method, path, scriptName, host, scheme and url from the environ', async () => {
    const { value } = await inspect(
      (r) => ({
        method: r.method,
        path: r.path,
        script: r.scriptName,
        host: r.host,
        scheme: r.scheme,
        url: r.url,
        base: r.baseUrl,
        root: r.rootUrl,
        full: r.fullPath,
        secure: r.isSecure,
      }),
      '/caf%C3%A9/x?a=1',
      { method: 'PUT', scriptName: '/app', scheme: 'https', headers: { Host: 'example.com:8443' }, body: 'x' },
    );
    assert.deepEqual(value, {
      method: 'PUT',
      path: '/café/x',
      script: '/app',
      host: 'example.com:8443',
      scheme: 'https',
      url: 'https://example.com:8443/app/caf%C3%A9/x?a=1',
      base: 'https://example.com:8443/app/caf%C3%A9/x',
      root: 'https://example.com:8443/app/',
      full: '/café/x?a=1',
      secure: true,
    });
  });

  it('falls back to SERVER_NAME and a non-default SERVER_PORT without Host, and never reads X-Forwarded-*', () => {
    const environ = createEnviron('/', {
      serverName: 'internal',
      serverPort: '8080',
      headers: { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' },
    });
    delete environ.HTTP_HOST;
    const r = new Request(environ);
    assert.equal(r.host, 'internal:8080');
    assert.equal(r.scheme, 'http');
    assert.equal(r.url, 'http://internal:8080/');
  });

  it('looks headers up case-insensitively and keeps repeated fields', () => {
    const environ = createEnviron('/', {
      headers: [
        ['X-Tag', 'a'],
        ['x-tag', 'b, "c,d"'],
        ['Content-Type', 'text/plain; charset=latin1'],
      ],
      body: 'x',
    });
    const r = new Request(environ);
    assert.equal(r.headers.get('X-TAG'), 'a,b, "c,d"');
    assert.deepEqual(r.headers.getList('x-tag'), ['a', 'b', '"c,d"']);
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=latin1');
    assert.equal(r.headers.get('X_Tag'), null, 'underscore names are never headers (R71)');
    assert.ok(r.headers.keys().includes('x-tag'));
    assert.equal(r.contentLength, 1);
    assert.equal(r.mimetype, 'text/plain');
    assert.deepEqual(r.mimetypeParams, { charset: 'latin1' });
  });

  it('Request.from() gives the same Request for the same environ', () => {
    const environ = createEnviron('/');
    const a = Request.from(environ);
    assert.equal(Request.from(environ), a);
    assert.notEqual(Request.from(createEnviron('/')), a);
  });
});

describe('Request: query string', () => {
  it('parses repeated keys, + and %XX as UTF-8, blank values, and skips empty pairs', async () => {
    const { value } = await inspect((r) => r.args.toLists(), '/?a=1&a=2&b=x+y&c=%C3%A9&d&e=&&f=%2B');
    assert.deepEqual(value, { a: ['1', '2'], b: ['x y'], c: ['é'], d: [''], e: [''], f: ['+'] });
  });

  it('turns bytes that are not UTF-8 into U+FFFD instead of failing', async () => {
    const { value } = await inspect((r) => [r.args.get('q'), r.args.get('r'), r.args.get('%zz')], '/?q=%FF%FEok&r=%C3&%zz=1');
    assert.deepEqual(value, ['\uFFFD\uFFFDok', '\uFFFD', '1']);
  });

  it('reads raw latin-1 bytes in a native QUERY_STRING as bytes, not as text', () => {
    const environ = createEnviron('/');
    environ.QUERY_STRING = 'q=caf\xC3\xA9&bad=\xFF'; // a CGI door can pass raw bytes
    const r = new Request(environ);
    assert.equal(r.args.get('q'), 'café');
    assert.equal(r.args.get('bad'), '\uFFFD');
  });

  it('works over a real socket with a bad-UTF-8 query', async () => {
    const app = handler((r) => Response.json(r.args.toLists()));
    await withServer(app, async ({ url }) => {
      const res = await fetch(`${url}/?name=%E2%9C%93&bad=%80&name=x`);
      assert.deepEqual(await res.json(), { name: ['✓', 'x'], bad: ['\uFFFD'] });
    });
  });
});

describe('Request: cookies', () => {
  it('parses cookies, quoted and percent-encoded values, UTF-8, and keeps duplicates in order', async () => {
    const { value } = await inspect((r) => [r.cookies.toLists(), r.cookies.get('dup')], '/', {
      headers: [['Cookie', 'a=1; b="quoted"; c=%C3%A9t%C3%A9; dup=first; dup=second; empty=; novalue; d=100%']],
    });
    assert.deepEqual(value[0], { a: ['1'], b: ['quoted'], c: ['été'], dup: ['first', 'second'], empty: [''], d: ['100%'] });
    assert.equal(value[1], 'first');
  });

  it('round-trips a value set with setCookie through a real client', async () => {
    const app = handler((r) => {
      if (r.path === '/set') return new Response('set').setCookie('greeting', 'héllo; wörld', { httpOnly: true });
      return new Response(r.cookies.get('greeting') ?? 'none');
    });
    await withServer(app, async ({ url }) => {
      const set = await fetch(`${url}/set`);
      const cookie = set.headers.getSetCookie()[0]!.split(';')[0]!;
      assert.equal(cookie, 'greeting=h%C3%A9llo%3B%20w%C3%B6rld');
      assert.equal(await (await fetch(`${url}/get`, { headers: { Cookie: cookie } })).text(), 'héllo; wörld');
    });
  });
});

describe('Request: bodies', () => {
  it('reads JSON, and answers 415 for another type and 400 for bad JSON', async () => {
    const ok = await inspect((r) => r.json(), '/', { json: { a: [1, 'é'] } });
    assert.deepEqual(ok.value, { a: [1, 'é'] });
    const wrongType = await inspect((r) => r.json(), '/', { body: '{}', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(wrongType.res.statusCode, 415);
    const forced = await inspect((r) => r.json({ force: true }), '/', { body: '{"x":1}', headers: { 'Content-Type': 'text/plain' } });
    assert.deepEqual(forced.value, { x: 1 });
    const vendor = await inspect((r) => r.json(), '/', { body: '[1]', headers: { 'Content-Type': 'application/vnd.api+json' } });
    assert.deepEqual(vendor.value, [1]);
    const bad = await inspect((r) => r.json(), '/', { body: '{"a":', headers: { 'Content-Type': 'application/json' } });
    assert.equal(bad.res.statusCode, 400);
    assert.match(bad.res.text, /Failed to decode JSON/);
  });

  it('decodes text in the declared charset', async () => {
    const { value } = await inspect((r) => r.text(), '/', {
      body: Buffer.from('caf\xe9', 'latin1'),
      headers: { 'Content-Type': 'text/plain; charset=iso-8859-1' },
    });
    assert.equal(value, 'café');
    const utf8 = await inspect((r) => r.text(), '/', { body: Buffer.from([0x61, 0xff]), headers: { 'Content-Type': 'text/plain' } });
    assert.equal(utf8.value, 'a\uFFFD');
  });

  it('parses an urlencoded form, bad UTF-8 included', async () => {
    const { value } = await inspect(async (r) => (await r.form()).toLists(), '/', {
      body: 'name=Ann+Lee&tag=a&tag=b&x=%FF',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.deepEqual(value, { name: ['Ann Lee'], tag: ['a', 'b'], x: ['\uFFFD'] });
  });

  it('parses a multipart form with several fields and files in order', async () => {
    const { body, contentType } = multipart([
      { name: 'title', value: 'Holiday' },
      { name: 'photo', value: 'JPEGDATA', filename: 'beach.jpg', contentType: 'image/jpeg' },
      { name: 'title', value: 'Ünïcode' },
      { name: 'photo', value: Buffer.alloc(600 * 1024, 1), filename: 'big.raw' },
      { name: 'doc', value: '', filename: '' },
      { name: 'note', value: 'binary-looking', contentType: 'application/octet-stream' },
    ]);
    const { value, res } = await inspect(
      async (r) => {
        const form = await r.form();
        const files = await r.files();
        return {
          form: form.toLists(),
          files: await Promise.all(
            [...files].map(async ([k, f]) => [k, f.name, f.filename, f.contentType, f.size, f.path === null ? 'memory' : 'disk', (await f.bytes()).length]),
          ),
          first: await files.get('photo')!.text(),
        };
      },
      '/',
      { body, headers: { 'Content-Type': contentType } },
    );
    assert.equal(res.statusCode, 200, res.text);
    assert.deepEqual(value.form, { title: ['Holiday', 'Ünïcode'], note: ['binary-looking'] });
    assert.deepEqual(value.files, [
      ['photo', 'photo', 'beach.jpg', 'image/jpeg', 8, 'memory', 8],
      ['photo', 'photo', 'big.raw', 'text/plain', 600 * 1024, 'disk', 600 * 1024],
      ['doc', 'doc', '', 'text/plain', 0, 'memory', 0],
    ]);
    assert.equal(value.first, 'JPEGDATA');
  });

  it('parses what the runtime FormData encoder sends (fetch over a real socket), and saveTo() writes the file', async () => {
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const saved = tempDir();
    const app = handler(
      async (r) => {
        const files = await r.files();
        const f = files.get('upload')!;
        const dest = path.join(saved.dir, f.filename);
        await f.saveTo(dest);
        return Response.json({ fields: (await r.form()).toLists(), filename: f.filename, size: f.size, saved: readFileSync(dest, 'utf8') });
      },
      { tempDir: tmp.dir },
    );
    await withServer(app, async ({ url }) => {
      const fd = new FormData();
      fd.append('a', '1');
      fd.append('a', 'zwei');
      fd.append('upload', new Blob(['file content\n'], { type: 'text/plain' }), 'résumé.txt');
      const res = await fetch(url, { method: 'POST', body: fd });
      assert.deepEqual(await res.json(), { fields: { a: ['1', 'zwei'] }, filename: 'résumé.txt', size: 13, saved: 'file content\n' });
    });
    saved.remove();
  });

  it('gives the raw body as a stream, once', async () => {
    const { value } = await inspect(
      async (r) => {
        const parts: number[] = [];
        for await (const c of r.stream) parts.push(c.length);
        let second = '';
        try {
          await r.bytes();
        } catch (e) {
          second = (e as Error).message;
        }
        return { total: parts.reduce((a, b) => a + b, 0), second };
      },
      '/',
      { body: Buffer.alloc(200_000, 3) },
    );
    assert.equal(value.total, 200_000);
    assert.match(value.second, /already consumed through request.stream/);
  });

  it('parses a form from the cached body after bytes()', async () => {
    const { value } = await inspect(async (r) => [(await r.bytes()).length, (await r.form()).get('k')], '/', {
      body: 'k=v',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.deepEqual(value, [3, 'v']);
  });

  it('returns an empty form for other content types and for no body', async () => {
    const { value } = await inspect(async (r) => [(await r.form()).size, (await r.files()).size], '/', {
      body: 'x',
      headers: { 'Content-Type': 'text/plain' },
    });
    assert.deepEqual(value, [0, 0]);
    const none = await inspect(async (r) => [(await r.form()).size, (await r.bytes()).length]);
    assert.deepEqual(none.value, [0, 0]);
  });
});

describe('Request: limits answer 413, malformed bodies 400', () => {
  const form = (fields: Record<string, string>) => ({
    body: new URLSearchParams(fields).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });

  it('maxContentLength: 413 from the declared length, before reading, and from a chunked body', async () => {
    let read = false;
    const declared = await inspect(async (r) => ((read = true), await r.bytes()), '/', { body: Buffer.alloc(2000) }, { maxContentLength: 1000 });
    assert.equal(declared.res.statusCode, 413);
    assert.ok(read);
    const chunked = await inspect(
      (r) => r.bytes(),
      '/',
      {
        body: (function* () {
          for (let i = 0; i < 10; i++) yield Buffer.alloc(300);
        })(),
      },
      { maxContentLength: 1000 },
    );
    assert.equal(chunked.res.statusCode, 413);
    const under = await inspect(async (r) => (await r.bytes()).length, '/', { body: Buffer.alloc(1000) }, { maxContentLength: 1000 });
    assert.equal(under.value, 1000);
    // A class-wide default, Werkzeug's class attribute style.
    class Small extends Request {
      static override maxContentLength = 10;
    }
    const res = await run(validate(handler(async (r) => new Response(String((await r.bytes()).length)), { requestClass: Small })), '/', {
      body: 'more than ten bytes',
    });
    assert.equal(res.statusCode, 413);
  });

  it('maxFormMemorySize: 413 for an urlencoded body and for one multipart field over it', async () => {
    const urlencoded = await inspect((r) => r.form(), '/', form({ a: 'x'.repeat(2000) }), { maxFormMemorySize: 1000 });
    assert.equal(urlencoded.res.statusCode, 413);
    const mp = multipart([
      { name: 'small', value: 'ok' },
      { name: 'big', value: 'y'.repeat(2000) },
    ]);
    const field = await inspect((r) => r.form(), '/', { body: mp.body, headers: { 'Content-Type': mp.contentType } }, { maxFormMemorySize: 1000 });
    assert.equal(field.res.statusCode, 413);
    assert.match(field.res.text, /big/);
    // Files do not count against it.
    const file = multipart([{ name: 'f', value: 'z'.repeat(5000), filename: 'f.txt' }]);
    const fine = await inspect(
      async (r) => (await r.files()).get('f')!.size,
      '/',
      { body: file.body, headers: { 'Content-Type': file.contentType } },
      { maxFormMemorySize: 1000 },
    );
    assert.equal(fine.value, 5000);
  });

  it('maxFormParts: 413 for too many urlencoded fields or multipart parts', async () => {
    const fields = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']));
    const urlencoded = await inspect((r) => r.form(), '/', form(fields), { maxFormParts: 10 });
    assert.equal(urlencoded.res.statusCode, 413);
    const mp = multipart(Array.from({ length: 11 }, (_, i) => ({ name: `k${i}`, value: 'v' })));
    const parts = await inspect((r) => r.form(), '/', { body: mp.body, headers: { 'Content-Type': mp.contentType } }, { maxFormParts: 10 });
    assert.equal(parts.res.statusCode, 413);
    const ten = multipart(Array.from({ length: 10 }, (_, i) => ({ name: `k${i}`, value: 'v' })));
    const ok = await inspect(async (r) => (await r.form()).size, '/', { body: ten.body, headers: { 'Content-Type': ten.contentType } }, { maxFormParts: 10 });
    assert.equal(ok.value, 10);
  });

  it('maxFileSize: 413 for a file over it, and its partial temporary file is removed', async () => {
    const mp = multipart([{ name: 'f', value: Buffer.alloc(800 * 1024, 5), filename: 'f.bin' }]);
    const res = await inspect((r) => r.files(), '/', { body: mp.body, headers: { 'Content-Type': mp.contentType } }, { maxFileSize: 700 * 1024 });
    assert.equal(res.res.statusCode, 413);
    assert.match(res.res.text, /f\.bin/);
    assert.deepEqual(tmp.files(), []);
  });

  it('400 for a missing or invalid boundary, a body cut before its closing boundary, and garbage', async () => {
    const good = multipart([{ name: 'a', value: '1' }], 'B0undary');
    const cases: Array<[string, ClientRequestOptions, RegExp]> = [
      ['missing boundary', { body: good.body, headers: { 'Content-Type': 'multipart/form-data' } }, /no boundary/],
      ['invalid boundary', { body: good.body, headers: { 'Content-Type': 'multipart/form-data; boundary="bad\\"quote"' } }, /not valid/],
      ['too long boundary', { body: good.body, headers: { 'Content-Type': `multipart/form-data; boundary=${'b'.repeat(71)}` } }, /not valid/],
      ['truncated', { body: good.body.subarray(0, good.body.length - 12), headers: { 'Content-Type': good.contentType } }, /ended before its closing boundary/],
      ['no delimiter at all', { body: 'just some text', headers: { 'Content-Type': good.contentType } }, /ended before its closing boundary/],
    ];
    for (const [name, options, message] of cases) {
      const { res } = await inspect((r) => r.form(), '/', options);
      assert.equal(res.statusCode, 400, name);
      assert.match(res.text, message, name);
    }
  });

  it('400 when the input ends before its Content-Length (a partly read body is never taken as whole)', async () => {
    const environ: Environ = createEnviron('/', { body: 'k=v&k2=v2', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    environ.CONTENT_LENGTH = '50'; // the input holds 9 bytes
    environ['wsgi.input_terminated'] = true;
    let error: unknown;
    try {
      await new Request(environ).form();
    } catch (e) {
      error = e;
    }
    assert.equal((error as { code?: number }).code, 400);
  });

  it('each limit over a real socket: 413 and the server keeps serving', async () => {
    const app = handler(
      async (r) => {
        const form = await r.form();
        const files = await r.files();
        return new Response(`${form.size} fields, ${files.size} files\n`);
      },
      { tempDir: tmp.dir, maxContentLength: 1 << 20, maxFormMemorySize: 1000, maxFormParts: 5, maxFileSize: 4096 },
    );
    await withServer(app, async ({ url }) => {
      const post = (body: Uint8Array | string, type: string) => fetch(url, { method: 'POST', body, headers: { 'Content-Type': type } });
      const tooLong = multipart([{ name: 'f', value: Buffer.alloc(2 << 20), filename: 'x' }]);
      assert.equal((await post(tooLong.body, tooLong.contentType)).status, 413, 'maxContentLength');
      const bigField = multipart([{ name: 'f', value: 'x'.repeat(1001) }]);
      assert.equal((await post(bigField.body, bigField.contentType)).status, 413, 'maxFormMemorySize');
      const manyParts = multipart(Array.from({ length: 6 }, (_, i) => ({ name: `p${i}`, value: 'v' })));
      assert.equal((await post(manyParts.body, manyParts.contentType)).status, 413, 'maxFormParts');
      const bigFile = multipart([{ name: 'f', value: Buffer.alloc(4097), filename: 'x' }]);
      assert.equal((await post(bigFile.body, bigFile.contentType)).status, 413, 'maxFileSize');
      const fine = multipart([
        { name: 'a', value: 'b' },
        { name: 'f', value: Buffer.alloc(4096), filename: 'x' },
      ]);
      const ok = await post(fine.body, fine.contentType);
      assert.equal(await ok.text(), '1 fields, 1 files\n');
      // A body cut short on the wire: Content-Length promises more than the client sends before closing its side.
      const cut = await rawRequest(
        url,
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: ${fine.contentType}\r\nContent-Length: ${fine.body.length + 10}\r\n`,
        fine.body,
      );
      assert.equal(cut.status, 400);
      assert.deepEqual(tmp.files(), []);
    });
  });
});

describe('Request: negotiation and conditions', () => {
  it('orders Accept by quality and picks the best offer by quality, then specificity, then offer order', () => {
    const environ = createEnviron('/', {
      headers: {
        Accept: 'text/html;q=0.9, application/json, text/*;q=0.5, */*;q=0.1, image/png;q=0',
        'Accept-Language': 'fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5',
        'Accept-Encoding': 'br;q=1.0, gzip;q=0.8, *;q=0.1',
        'Accept-Charset': 'utf-8, iso-8859-1;q=0.5',
      },
    });
    const r = new Request(environ);
    assert.deepEqual(
      [...r.acceptMimetypes].map((i) => [i.value, i.quality]),
      [
        ['application/json', 1],
        ['text/html', 0.9],
        ['text/*', 0.5],
        ['*/*', 0.1],
        ['image/png', 0],
      ],
    );
    assert.equal(r.acceptMimetypes.best, 'application/json');
    assert.equal(r.acceptMimetypes.bestMatch(['text/html', 'application/json']), 'application/json');
    assert.equal(r.acceptMimetypes.bestMatch(['text/plain', 'text/html']), 'text/html');
    assert.equal(r.acceptMimetypes.quality('text/plain'), 0.5);
    assert.equal(r.acceptMimetypes.quality('image/png'), 0, 'the most specific entry decides, not */*');
    assert.equal(r.acceptMimetypes.bestMatch(['image/png']), null);
    assert.equal(r.acceptMimetypes.bestMatch(['image/png'], 'fallback'), 'fallback');
    assert.equal(r.acceptLanguages.bestMatch(['en', 'fr']), 'fr');
    assert.equal(r.acceptLanguages.bestMatch(['de', 'en-US']), 'en-US', 'en matches en-US');
    assert.equal(r.acceptLanguages.quality('fr-CH'), 1);
    assert.equal(r.acceptLanguages.quality('de'), 0.5);
    assert.equal(r.acceptEncodings.bestMatch(['gzip', 'br']), 'br');
    assert.equal(r.acceptEncodings.quality('identity'), 0.1, '* covers identity');
    assert.equal(r.acceptCharsets.bestMatch(['iso-8859-1', 'utf-8']), 'utf-8');
  });

  it('treats a missing header as accepting everything, and identity as acceptable unless refused', () => {
    const r = new Request(createEnviron('/', { headers: { 'Accept-Encoding': 'gzip' } }));
    assert.equal(r.acceptMimetypes.provided, false);
    assert.equal(r.acceptMimetypes.bestMatch(['application/xml', 'text/html']), 'application/xml');
    assert.equal(r.acceptEncodings.quality('identity'), 1);
    assert.equal(r.acceptEncodings.quality('br'), 0);
    const refuse = new Request(createEnviron('/', { headers: { 'Accept-Encoding': 'gzip, identity;q=0' } }));
    assert.equal(refuse.acceptEncodings.quality('identity'), 0);
    const lookup = new Request(createEnviron('/', { headers: { 'Accept-Language': 'fr-CA, de;q=0.5' } }));
    assert.equal(lookup.acceptLanguages.bestMatch(['en', 'de', 'fr']), 'fr', 'fr-CA takes fr (RFC 4647 lookup)');
    const precise = new Request(createEnviron('/', { headers: { 'Accept-Language': 'en-US, en;q=0.5' } }));
    assert.equal(precise.acceptLanguages.quality('en'), 0.5, 'the entry naming en decides');
    const fallbackLang = new Request(createEnviron('/', { headers: { 'Accept-Language': 'en-GB' } }));
    assert.equal(fallbackLang.acceptLanguages.bestMatch(['de', 'en-US']), 'en-US', "Werkzeug's primary-tag fallback");
  });

  it('parses If-None-Match, If-Match, If-Modified-Since and Range', () => {
    const r = new Request(
      createEnviron('/', {
        headers: {
          'If-None-Match': 'W/"weak", "strong", "with,comma"',
          'If-Match': '*',
          'If-Modified-Since': 'Sun, 06 Nov 1994 08:49:37 GMT',
          'If-Unmodified-Since': 'not a date',
          Range: 'bytes=10-19',
        },
      }),
    );
    assert.deepEqual(r.ifNoneMatch.tags, ['W/"weak"', '"strong"', '"with,comma"']);
    assert.ok(r.ifNoneMatch.containsWeak('weak'));
    assert.ok(!r.ifNoneMatch.contains('weak'), 'strong comparison refuses a weak tag');
    assert.ok(r.ifNoneMatch.contains('"strong"'));
    assert.ok(r.ifNoneMatch.contains('with,comma'));
    assert.ok(r.ifMatch.star && r.ifMatch.contains('anything'));
    assert.equal(r.ifModifiedSince?.toISOString(), '1994-11-06T08:49:37.000Z');
    assert.equal(r.ifUnmodifiedSince, null);
    assert.equal(r.range?.unit, 'bytes');
    assert.deepEqual(r.range?.rangeFor(100), [10, 19]);
    assert.equal(r.range?.rangeFor(5), 'unsatisfiable');
    assert.equal(new Request(createEnviron('/')).range, null);
    assert.ok(new Request(createEnviron('/')).ifNoneMatch.empty);
  });
});

describe('Request: the end of the request', () => {
  it('removes its temporary files when tsgi.signal fires, without waiting for the response', async () => {
    const uploads = tempDir();
    const controller = new AbortController();
    const mp = multipart([{ name: 'f', value: Buffer.alloc(600 * 1024), filename: 'f.bin' }]);
    const environ = createEnviron('/', { body: mp.body, headers: { 'Content-Type': mp.contentType }, signal: controller.signal });
    const r = new Request(environ, { tempDir: uploads.dir });
    const file = (await r.files()).get('f')!;
    assert.ok(file.path !== null && uploads.files().length === 1);
    controller.abort();
    const deadline = Date.now() + 2000;
    while (uploads.files().length > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.deepEqual(uploads.files(), []);
    uploads.remove();
  });

  it('close() removes them too, and a parse after close() fails instead of leaving files', async () => {
    const uploads = tempDir();
    const mp = multipart([{ name: 'f', value: Buffer.alloc(600 * 1024), filename: 'f.bin' }]);
    const first = new Request(createEnviron('/', { body: mp.body, headers: { 'Content-Type': mp.contentType } }), { tempDir: uploads.dir });
    await first.files();
    assert.equal(uploads.files().length, 1);
    await first.close();
    assert.deepEqual(uploads.files(), []);
    const late = new Request(createEnviron('/', { body: mp.body, headers: { 'Content-Type': mp.contentType } }), { tempDir: uploads.dir });
    await late.close();
    await assert.rejects(late.files(), /request ended/);
    assert.deepEqual(uploads.files(), []);
    uploads.remove();
  });
});
