// compose() (Rack's Builder order) and mount() (Werkzeug's DispatcherMiddleware), in-process and
// over a real tsgi server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compose, mount } from '../src/compose.js';
import type { Application, Middleware } from '../src/spec.js';
import { createEnviron, request, runApp } from '../src/testing/index.js';
import { httpRequest, withServer } from './middleware/support.js';

/** Answers with where it was mounted: SCRIPT_NAME|PATH_INFO. */
const where =
  (name = 'app'): Application =>
  (environ, start) => {
    start('200 OK', [['Content-Type', 'text/plain']]);
    return [`${name} ${environ.SCRIPT_NAME}|${environ.PATH_INFO}`];
  };

/** A middleware that records when it sees the request and the response. */
function tracer(name: string, trace: string[]): Middleware {
  return (app) => (environ, start) => {
    trace.push(`${name} in`);
    return app(environ, (status, headers, exc) => {
      trace.push(`${name} out`);
      return start(status, headers, exc);
    });
  };
}

describe('compose', () => {
  it('puts the first middleware outermost, like Rack::Builder use lines', async () => {
    const trace: string[] = [];
    const app = compose(where(), tracer('a', trace), tracer('b', trace), tracer('c', trace));
    const res = await request(app);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(trace, ['a in', 'b in', 'c in', 'c out', 'b out', 'a out']);
  });

  it('returns the application itself when there is no middleware', () => {
    const app = where();
    assert.equal(compose(app), app);
    assert.equal(compose(app, false, null, undefined), app);
  });

  it('skips false, null and undefined entries (conditional middleware)', async () => {
    const trace: string[] = [];
    const dev = false as boolean;
    const app = compose(where(), dev && tracer('dev', trace), tracer('always', trace), undefined);
    await request(app);
    assert.deepEqual(trace, ['always in', 'always out']);
  });

  it('refuses a non-function at composition time, naming its position', () => {
    assert.throws(() => compose(where(), tracer('a', []), 42 as unknown as Middleware), /middleware 2 is a number/);
    assert.throws(() => compose('app' as unknown as Application), /application must be a function/);
    assert.throws(() => compose(where(), (() => 'nope') as unknown as Middleware), /middleware 1 returned a string/);
  });

  it('keeps a synchronous stack synchronous', () => {
    const app = compose(where(), tracer('a', []));
    const out = app(createEnviron('/'), () => async () => {});
    assert.ok(Array.isArray(out), 'no Promise in between');
  });
});

describe('mount', () => {
  // werkzeug tests/middleware/test_dispatcher.py, test_dispatcher
  it('dispatches like DispatcherMiddleware (werkzeug test_dispatcher)', async () => {
    const nullApp: Application = (_e, start) => {
      start('404 NOT FOUND', [['Content-Type', 'text/plain']]);
      return ['NOT FOUND'];
    };
    const dummy: Application = (environ, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return [environ.SCRIPT_NAME];
    };
    const app = mount({ '/test1': dummy, '/test2/very': dummy }, nullApp);
    const cases: Record<string, string[]> = {
      '/test1': ['/test1', '/test1/asfd', '/test1/very'],
      '/test2/very': ['/test2/very', '/test2/very/long/path/after/script/name'],
    };
    for (const [name, urls] of Object.entries(cases)) {
      for (const url of urls) {
        const res = await request(app, url);
        assert.equal(res.status, '200 OK', url);
        assert.equal(res.text, name, url);
      }
    }
    const missing = await request(app, '/missing');
    assert.equal(missing.status, '404 NOT FOUND');
    assert.equal(missing.text, 'NOT FOUND');
  });

  it('moves the matched segments from PATH_INFO to SCRIPT_NAME', async () => {
    const app = mount({ '/api': where('api') });
    assert.equal((await request(app, '/api/users/7')).text, 'api /api|/users/7');
    assert.equal((await request(app, '/api/')).text, 'api /api|/');
    assert.equal((await request(app, '/api')).text, 'api /api|', '/api itself: empty PATH_INFO');
  });

  it('takes the longest prefix', async () => {
    const app = mount({ '/api': where('v1'), '/api/v2': where('v2') });
    assert.equal((await request(app, '/api/v2/x')).text, 'v2 /api/v2|/x');
    assert.equal((await request(app, '/api/v3/x')).text, 'v1 /api|/v3/x');
    assert.equal((await request(app, '/api/v2')).text, 'v2 /api/v2|');
  });

  it('matches whole segments only', async () => {
    const app = mount({ '/api': where('api') }, where('site'));
    assert.equal((await request(app, '/apix')).text, 'site |/apix');
    assert.equal((await request(app, '/ap')).text, 'site |/ap');
  });

  it('leaves the environ alone for the fallback, and 404s without one', async () => {
    const app = mount({ '/api': where('api') }, where('site'));
    assert.equal((await request(app, '/')).text, 'site |/');
    assert.equal((await request(app, '/x/y', { scriptName: '/root' })).text, 'site /root|/x/y');
    const bare = await request(mount({ '/api': where() }), '/nope');
    assert.equal(bare.statusCode, 404);
    assert.equal(bare.text, 'Not Found\n');
  });

  it('appends to an existing SCRIPT_NAME', async () => {
    const app = mount({ '/api': where('api') });
    assert.equal((await request(app, '/api/x', { scriptName: '/prefix' })).text, 'api /prefix/api|/x');
  });

  it('nests: an inner mount sees the outer one in SCRIPT_NAME', async () => {
    const app = mount({ '/a': mount({ '/b': where('inner') }) });
    assert.equal((await request(app, '/a/b/c')).text, 'inner /a/b|/c');
  });

  it('matches text prefixes against the UTF-8 bytes of the request', async () => {
    const app = mount({ '/café': where('cafe') }, where('site'));
    const res = await request(app, '/caf%C3%A9/menu');
    assert.equal(res.text, `cafe /caf\u00c3\u00a9|/menu`, 'SCRIPT_NAME stays a native string');
  });

  it('normalises and checks prefixes; accepts a Map or pairs', async () => {
    const viaMap = mount(new Map([['/m/', where('map')]]));
    assert.equal((await request(viaMap, '/m/x')).text, 'map /m|/x');
    const viaPairs = mount([['/p', where('pairs')]] as Array<[string, Application]>);
    assert.equal((await request(viaPairs, '/p')).text, 'pairs /p|');
    assert.throws(() => mount({ api: where() }), /must start with '\/'/);
    assert.throws(() => mount({ '/': where() }), /pass that application as the fallback/);
    assert.throws(() => mount({ '/a': where(), '/a/': where() }), /mounted twice/);
    assert.throws(() => mount({ '/a': 'x' as unknown as Application }), /not a function/);
  });

  it('passes the mounted app its body and startResponse untouched', async () => {
    let closes = 0;
    const app = mount({
      '/s': (_e, start) => {
        start('200 OK', [['Content-Type', 'text/plain']]);
        return Object.assign(
          (function* () {
            yield 'a';
            yield 'b';
          })(),
          { close: () => void closes++ },
        );
      },
    });
    const res = await runApp(app, createEnviron('/s/x'));
    assert.equal(res.text, 'ab');
    assert.equal(closes, 1);
  });
});

describe('compose and mount over a real server', () => {
  it('routes and wraps requests on the wire', async () => {
    const trace: string[] = [];
    const app = compose(mount({ '/api': where('api'), '/api/v2': where('v2') }, where('site')), tracer('outer', trace));
    await withServer(app, async (server) => {
      const a = await httpRequest(`${server.url}/api/v2/items?x=1`);
      assert.equal(a.status, 200);
      assert.equal(a.text, 'v2 /api/v2|/items');
      const b = await httpRequest(`${server.url}/api%2Fv2/items`);
      assert.equal(b.text, 'v2 /api/v2|/items', 'PATH_INFO is decoded before mount sees it, as in WSGI');
      const c = await httpRequest(`${server.url}/elsewhere`);
      assert.equal(c.text, 'site |/elsewhere');
    });
    assert.equal(trace.filter((t) => t === 'outer in').length, 3);
  });
});
