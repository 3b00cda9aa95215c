// errorPage(): the exception and its stack as HTML or text by Accept, only when enabled; in-process
// and over a real server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compose } from '../../src/compose.js';
import { errorPage, wantsHtml } from '../../src/middleware/error-page.js';
import type { Application, Body } from '../../src/spec.js';
import { createEnviron, request, runApp } from '../../src/testing/index.js';
import { httpRequest, withServer } from './support.js';

function failing(message = 'kaboom'): Application {
  return function failingApp() {
    throw new Error(message);
  };
}

const dev = errorPage({ enabled: true });

describe('errorPage in-process', () => {
  it('is the identity when not enabled (and by default outside NODE_ENV=development)', () => {
    const app = failing();
    assert.equal(errorPage({ enabled: false })(app), app);
    const saved = process.env.NODE_ENV;
    try {
      process.env.NODE_ENV = 'production';
      assert.equal(errorPage()(app), app);
      delete process.env.NODE_ENV;
      assert.equal(errorPage()(app), app);
      process.env.NODE_ENV = 'development';
      assert.notEqual(errorPage()(app), app);
    } finally {
      if (saved === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = saved;
    }
  });

  it('answers a thrown error with a text page: message, stack, request', async () => {
    const res = await request(compose(failing('kaboom'), dev), '/where?x=1', { headers: { 'User-Agent': 'curl/8' } });
    assert.equal(res.statusCode, 500);
    assert.equal(res.header('Content-Type'), 'text/plain; charset=utf-8');
    assert.equal(res.header('Cache-Control'), 'no-store');
    assert.equal(Number(res.header('Content-Length')), res.body.length);
    assert.match(res.text, /^500 Internal Server Error\n\nError: kaboom\n\s+at failingApp/);
    assert.match(res.text, /Request: GET \/where\?x=1 HTTP\/1\.1/);
    assert.match(res.text, /HTTP_USER_AGENT: curl\/8/);
    assert.deepEqual(res.log, [], 'handled: the server logs no error of its own');
  });

  it('answers with HTML when the client prefers it, escaping everything', async () => {
    const res = await request(compose(failing('<script>alert(1)</script>'), dev), '/', {
      headers: { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    assert.equal(res.header('Content-Type'), 'text/html; charset=utf-8');
    assert.match(res.text, /^<!doctype html>/);
    assert.match(res.text, /<h2>Error: &lt;script&gt;alert\(1\)&lt;\/script&gt;<\/h2>/);
    assert.doesNotMatch(res.text, /<script>/);
    assert.match(res.text, /<pre>\s*at failingApp/);
  });

  it('chooses by Accept quality', () => {
    assert.equal(wantsHtml('text/html'), true);
    assert.equal(wantsHtml('text/plain, text/html;q=0.5'), false);
    assert.equal(wantsHtml('*/*'), false);
    assert.equal(wantsHtml(''), false);
    assert.equal(wantsHtml('text/html;q=0'), false);
  });

  it('writes the error to wsgi.errors', async () => {
    const environ = createEnviron('/logged');
    await runApp(compose(failing('to the log'), dev), environ);
    assert.match((environ['wsgi.errors'] as unknown as { getvalue(): string }).getvalue(), /GET \/logged: Error: to the log/);
  });

  it('catches rejections and errors in the body before its first byte, replacing the status set', async () => {
    const rejected = await request(compose(async () => Promise.reject(new TypeError('async')), dev));
    assert.equal(rejected.statusCode, 500);
    assert.match(rejected.text, /TypeError: async/);

    let closes = 0;
    const started: Application = (_e, start) => {
      start('200 OK', [['Content-Type', 'application/json']]);
      return Object.assign(
        (function* () {
          yield '';
          throw new RangeError('in the body');
        })(),
        { close: () => void closes++ },
      );
    };
    const res = await request(compose(started, dev));
    assert.equal(res.statusCode, 500);
    assert.equal(res.header('Content-Type'), 'text/plain; charset=utf-8');
    assert.match(res.text, /RangeError: in the body/);
    assert.equal(closes, 1);

    const asyncBody: Application = (_e, start) =>
      (async function* () {
        start('200 OK', []);
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('async body');
      })();
    const res2 = await request(compose(asyncBody, dev));
    assert.equal(res2.statusCode, 500);
    assert.match(res2.text, /Error: async body/);
  });

  it('lets an error through once the response started: the server cuts it short', async () => {
    const partial: Application = (_e, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (function* () {
        yield 'half';
        throw new Error('too late');
      })();
    };
    const res = await request(compose(partial, dev));
    assert.equal(res.statusCode, 200);
    assert.equal(res.aborted, true);
    assert.equal(res.text, 'half');
    assert.match(res.log.join('\n'), /too late/);

    const wrote: Application = (_e, start) => {
      const write = start('200 OK', []);
      void write('');
      throw new Error('after write');
    };
    const res2 = await request(compose(wrote, dev));
    assert.equal(res2.statusCode, 200, 'write() sent the headers already');
    assert.match(res2.log.join('\n'), /after write/);
  });

  it('shows the cause chain, AggregateErrors and non-Error values', async () => {
    const chained = await request(
      compose(() => {
        throw new Error('outer', { cause: new SyntaxError('inner') });
      }, dev),
    );
    assert.match(chained.text, /Error: outer[\s\S]*Caused by SyntaxError: inner/);
    const many = await request(
      compose(() => {
        throw new AggregateError([new Error('one'), new Error('two')], 'several');
      }, dev),
    );
    assert.match(many.text, /AggregateError: several[\s\S]*Caused by Error: one[\s\S]*Caused by Error: two/);
    const odd = await request(
      compose(() => {
        throw { code: 42 };
      }, dev),
    );
    assert.match(odd.text, /thrown object: \{"code":42\}/);
  });

  it('hides credentials among the request headers', async () => {
    const res = await request(compose(failing(), dev), '/', { headers: { Authorization: 'Bearer secret', Cookie: 'sid=secret' } });
    assert.doesNotMatch(res.text, /secret/);
    assert.match(res.text, /HTTP_AUTHORIZATION: \(hidden\)/);
  });

  it('passes good responses through untouched', async () => {
    const body: Body = ['fine'];
    const app: Application = (_e, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return body;
    };
    const res = await request(compose(app, dev));
    assert.equal(res.text, 'fine');
    assert.equal(res.header('Content-Length'), '4');
  });
});

describe('errorPage over a real server', () => {
  it('sends the HTML page to a browser and the text page to curl', async () => {
    const app = compose((environ) => {
      if (environ.PATH_INFO === '/async') return Promise.reject(new Error('wire async'));
      throw new Error('wire error');
    }, dev);
    await withServer(app, async (server) => {
      const html = await httpRequest(server.url, { headers: { Accept: 'text/html' } });
      assert.equal(html.status, 500);
      assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(html.text, /<h2>Error: wire error<\/h2>/);
      const text = await httpRequest(`${server.url}/async`, { headers: { Accept: '*/*' } });
      assert.equal(text.status, 500);
      assert.match(text.text, /^500 Internal Server Error\n\nError: wire async/);
    });
  });
});
