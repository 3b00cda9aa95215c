// dispatch() and routes() as applications: endpoints get their arguments, HTTPExceptions become
// responses (thrown, rejected, after startResponse), automatic HEAD and OPTIONS, mounting under
// SCRIPT_NAME with compose's mount(), everything wrapped in validate(); then over a real socket.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mount } from '../../src/compose.js';
import { NotFound, abort } from '../../src/exceptions/index.js';
import { serve } from '../../src/http/serve.js';
import { RouteMap, Rule, dispatch, routeArgs, routes, urlFor, withArgs } from '../../src/routing/index.js';
import type { Application, Environ } from '../../src/spec.js';
import { client, request } from '../../src/testing/index.js';
import { validate } from '../../src/validate.js';

/** An endpoint answering JSON of what it saw. */
const show =
  (name: string): Application =>
  (environ, start) => {
    start('200 OK', [['Content-Type', 'application/json']]);
    return [JSON.stringify({ name, args: routeArgs(environ), script: environ.SCRIPT_NAME, path: environ.PATH_INFO })];
  };

const users: Record<number, string> = { 1: 'ann', 2: 'bob' };

const app = routes({
  'GET /': validate(show('index')),
  'GET /users/<int:id>': {
    endpoint: 'user',
    app: validate(
      withArgs<{ id: number }>((environ, start, { id }) => {
        const name = users[id];
        if (name === undefined) abort(404, `no user ${id}`);
        start('200 OK', [['Content-Type', 'text/plain']]);
        return [`${name} at ${urlFor(environ, 'user', { id })}`];
      }),
    ),
  },
  'POST /users/': { endpoint: 'create', app: validate(show('create')) },
  'GET /async/<int:id>': validate(async (environ, start) => {
    await new Promise((r) => setTimeout(r, 1));
    if (routeArgs<{ id: number }>(environ).id === 0) throw new NotFound('nothing at zero');
    start('200 OK', [['Content-Type', 'text/plain']]);
    return ['async ok'];
  }),
  'GET /late': validate((_environ, start) => {
    // startResponse first, then the error: its status replaces the one given (PEP 3333 excInfo).
    start('200 OK', [['Content-Type', 'text/plain']]);
    abort(403, 'changed my mind');
  }),
  'GET /boom': validate(() => {
    throw new Error('a bug');
  }),
  'GET,POST /docs/': validate(show('docs')),
  '/anything': validate(show('anything')),
});
const server = validate(app);

describe('routes()', () => {
  it('calls the endpoint with its arguments in tsgi.route_args and wsgiorg.routing_args', async () => {
    let seen: Environ | undefined;
    const spy = routes({ 'GET /x/<a>/<int:b>': (environ, start) => ((seen = environ), start('204 No Content', []), []) });
    assert.equal((await request(validate(spy), '/x/hi/3')).statusCode, 204);
    assert.deepEqual(seen!['tsgi.route_args'], { a: 'hi', b: 3 });
    assert.deepEqual(seen!['wsgiorg.routing_args'], [[], { a: 'hi', b: 3 }]);
    assert.equal(seen!['tsgi.endpoint'], 'GET /x/<a>/<int:b>');
  });

  it('answers through withArgs() and builds URLs with urlFor()', async () => {
    const res = await request(server, '/users/2');
    assert.equal(res.text, 'bob at /users/2');
  });

  it('turns a thrown HTTPException into its response, JSON when asked', async () => {
    const res = await request(server, '/users/9', { headers: { Accept: 'application/json' } });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(JSON.parse(res.text), { code: 404, name: 'Not Found', description: 'no user 9' });
  });

  it('turns a rejected Promise with an HTTPException into its response', async () => {
    assert.equal((await request(server, '/async/1')).text, 'async ok');
    const res = await request(server, '/async/0');
    assert.equal(res.statusCode, 404);
    assert.match(res.text, /nothing at zero/);
  });

  it('replaces a status already given to startResponse', async () => {
    const res = await request(server, '/late');
    assert.equal(res.status, '403 Forbidden');
    assert.match(res.text, /changed my mind/);
    assert.deepEqual(res.log, []);
  });

  it('leaves other errors to the server (a logged 500)', async () => {
    const res = await request(server, '/boom');
    assert.equal(res.statusCode, 500);
    assert.match(res.log.join('\n'), /a bug/);
  });

  it('answers 404 and 405 with Allow for what no rule takes', async () => {
    const missing = await request(server, '/nope');
    assert.equal(missing.statusCode, 404);
    assert.match(missing.header('content-type')!, /text\/html/);
    const wrong = await request(server, '/users/1', { method: 'DELETE' });
    assert.equal(wrong.statusCode, 405);
    assert.equal(wrong.header('allow'), 'GET, HEAD, OPTIONS');
  });

  it('answers HEAD with the GET endpoint and no body', async () => {
    const res = await request(server, '/users/1', { method: 'HEAD' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.length, 0);
  });

  it('answers OPTIONS itself: 200, Allow, empty body', async () => {
    const res = await request(server, '/docs/', { method: 'OPTIONS' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.header('allow'), 'GET, HEAD, OPTIONS, POST');
    assert.equal(res.body.length, 0);
    // A rule without methods takes OPTIONS like any other method: its endpoint answers.
    assert.equal(JSON.parse((await request(server, '/anything', { method: 'OPTIONS' })).text).name, 'anything');
  });

  it('redirects /docs to /docs/ with 308, keeping the query string and the method', async () => {
    const res = await request(server, '/docs', { method: 'POST', query: 'a=1&b=two words', body: 'x' });
    assert.equal(res.statusCode, 308);
    assert.equal(res.header('location'), '/docs/?a=1&b=two%20words');
  });

  it('refuses a malformed table at startup', () => {
    assert.throws(() => routes({ 'GET users': show('x') }), /not "METHOD \/rule"/);
    assert.throws(
      () => routes({ 'GET /a': { app: show('a'), endpoint: 'same' }, 'GET /b': { app: show('b'), endpoint: 'same' } }),
      /two different applications/,
    );
    assert.throws(() => routes({ 'GET /a': 'nope' as unknown as Application }), /not an application/);
  });
});

describe('dispatch()', () => {
  const map = new RouteMap([new Rule('/', { endpoint: 'index' }), new Rule('/item/<int:n>', { endpoint: 'item', methods: ['GET'] })]);

  it('needs an application for every endpoint when given an object', () => {
    assert.throws(() => dispatch(map, { index: show('index') }), /no application for endpoint "item"/);
  });

  it('looks endpoints up through a function', async () => {
    const app = validate(dispatch(map, (endpoint) => show(endpoint)));
    assert.deepEqual(JSON.parse((await request(app, '/item/5')).text).args, { n: 5 });
  });

  it('matches subdomains under a server name', async () => {
    const sub = new RouteMap([new Rule('/', { endpoint: 'home' }), new Rule('/', { endpoint: 'user', subdomain: '<user>' })]);
    const app = validate(dispatch(sub, { home: show('home'), user: show('user') }, { serverName: 'example.com' }));
    const res = await request(app, '/', { headers: { Host: 'ann.example.com' } });
    assert.deepEqual(JSON.parse(res.text), { name: 'user', args: { user: 'ann' }, script: '', path: '/' });
    assert.equal((await request(app, '/', { headers: { Host: 'elsewhere.org' } })).statusCode, 404);
  });
});

describe('mounted under SCRIPT_NAME with mount()', () => {
  const api = routes({
    'GET /': validate(show('root')),
    'GET /items/<int:n>': {
      endpoint: 'item',
      app: validate((environ, start) => {
        start('200 OK', [['Content-Type', 'text/plain']]);
        return [urlFor(environ, 'item', { n: 7, q: 'a b' })];
      }),
    },
    'GET /list/': validate(show('list')),
  });
  const site = validate(mount({ '/api/v1': api }));

  it('matches PATH_INFO below the mount point', async () => {
    const res = JSON.parse((await request(site, '/api/v1/')).text);
    assert.deepEqual(res, { name: 'root', args: {}, script: '/api/v1', path: '/' });
  });

  it('builds URLs with SCRIPT_NAME in front', async () => {
    assert.equal((await request(site, '/api/v1/items/3')).text, '/api/v1/items/7?q=a+b');
  });

  it('redirects to the slashed path under the mount point', async () => {
    const res = await request(site, '/api/v1/list', { query: 'x=1' });
    assert.equal(res.statusCode, 308);
    assert.equal(res.header('location'), '/api/v1/list/?x=1');
  });

  it('sends the mount point itself (empty PATH_INFO) to /', async () => {
    const res = JSON.parse((await request(site, '/api/v1')).text);
    assert.equal(res.name, 'root');
  });

  it('leaves other prefixes to the fallback', async () => {
    assert.equal((await request(site, '/api/v2/items/3')).statusCode, 404);
  });
});

describe('over a real socket', () => {
  it('serves routes, errors and redirects to a keep-alive client', async () => {
    const handle = await serve(server, { host: '127.0.0.1', port: 0, log: { error() {}, warn() {}, info() {} } });
    try {
      const base = handle.url;
      const ok = await fetch(`${base}/users/1`);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'ann at /users/1');
      const json = await fetch(`${base}/users/3`, { headers: { Accept: 'application/json' } });
      assert.equal(json.status, 404);
      assert.equal(json.headers.get('content-type'), 'application/json');
      assert.equal(((await json.json()) as { description: string }).description, 'no user 3');
      const notAllowed = await fetch(`${base}/users/1`, { method: 'PUT', body: 'x' });
      assert.equal(notAllowed.status, 405);
      assert.equal(notAllowed.headers.get('allow'), 'GET, HEAD, OPTIONS');
      await notAllowed.arrayBuffer();
      const redirect = await fetch(`${base}/docs?a=1`, { redirect: 'manual' });
      assert.equal(redirect.status, 308);
      assert.equal(redirect.headers.get('location'), '/docs/?a=1');
      await redirect.arrayBuffer();
      // fetch follows the 308 itself, keeping the method and body.
      const followed = await fetch(`${base}/docs?a=1`, { method: 'POST', body: 'hello' });
      assert.equal(followed.status, 200);
      assert.equal(followed.url, `${base}/docs/?a=1`);
      assert.deepEqual(JSON.parse(await followed.text()).name, 'docs');
      const unicode = await fetch(`${base}/users/%C3%A9`);
      assert.equal(unicode.status, 404);
      await unicode.arrayBuffer();
    } finally {
      await handle.close();
    }
  });

  it('matches the same through the test client', async () => {
    const c = client(server);
    const res = await c.options('/users/1');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('allow'), 'GET, HEAD, OPTIONS');
  });
});
