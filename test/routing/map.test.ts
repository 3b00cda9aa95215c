// RouteMap and MapAdapter: matching order, methods (405 + Allow, automatic HEAD and OPTIONS),
// strict slashes, defaults, host and subdomain matching, binding to an environ (SCRIPT_NAME,
// PATH_INFO as native strings), URL building and its errors, and a build → match round trip.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MethodNotAllowed, NotFound, RequestRedirect } from '../../src/exceptions/index.js';
import { BuildError, RouteMap, Rule } from '../../src/routing/index.js';
import { createEnviron } from '../../src/testing/index.js';

function thrown<T extends Error>(fn: () => unknown, cls: new (...a: never[]) => T): T {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${cls.name}`);
}

describe('matching', () => {
  const map = new RouteMap([
    new Rule('/', { endpoint: 'index' }),
    new Rule('/users/', { endpoint: 'users', methods: ['GET', 'POST'] }),
    new Rule('/users/new', { endpoint: 'newUser', methods: ['GET'] }),
    new Rule('/users/<int:id>', { endpoint: 'user', methods: ['GET', 'PUT'] }),
    new Rule('/users/<int:id>', { endpoint: 'deleteUser', methods: ['DELETE'] }),
    new Rule('/users/<name>', { endpoint: 'userByName', methods: ['GET'] }),
    new Rule('/<path:page>', { endpoint: 'page', methods: ['GET'] }),
    new Rule('/any', { endpoint: 'any' }),
  ]);
  const a = map.bind('example.com');

  it('prefers static rules, then converters by weight (int before string before path)', () => {
    assert.equal(a.match('/').endpoint, 'index');
    assert.equal(a.match('/users/new').endpoint, 'newUser');
    assert.deepEqual(a.match('/users/7'), { endpoint: 'user', args: { id: 7 }, rule: map.rules[3] });
    assert.deepEqual(a.match('/users/bob').args, { name: 'bob' });
    assert.deepEqual(a.match('/about/team').args, { page: 'about/team' });
  });

  it('picks the rule for the method among rules with the same URL', () => {
    assert.equal(a.match('/users/7', 'DELETE').endpoint, 'deleteUser');
    assert.equal(a.match('/users/7', 'put').endpoint, 'user');
  });

  it('answers 405 with Allow listing every method the URL answers', () => {
    const e = thrown(() => a.match('/users/7', 'POST'), MethodNotAllowed);
    assert.deepEqual(e.validMethods, ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT']);
    assert.deepEqual(e.headers, [['Allow', 'DELETE, GET, HEAD, OPTIONS, PUT']]);
    // The GET-only catch-all matches /users/ too, but POST is allowed there: no 405.
    assert.equal(a.match('/users/', 'POST').endpoint, 'users');
  });

  it('matches HEAD wherever GET matches', () => {
    assert.equal(a.match('/users/7', 'HEAD').endpoint, 'user');
    assert.equal(a.match('/users/new', 'HEAD').endpoint, 'newUser');
  });

  it('lets a rule without methods take any method, even unknown ones', () => {
    assert.equal(a.match('/any', 'BREW').endpoint, 'any');
    thrown(() => a.match('/users/new', 'BREW'), MethodNotAllowed);
  });

  it('answers 404 when no rule matches the path', () => {
    // The path catch-all takes anything not starting with a second slash.
    assert.equal(a.match('/users/7/x/').endpoint, 'page');
    thrown(() => a.match('//x'), NotFound);
    const m = new RouteMap([new Rule('/a', { endpoint: 'a' })]).bind('x');
    thrown(() => m.match('/b'), NotFound);
    thrown(() => m.match('/a/'), NotFound); // no slash in the rule: strict
    thrown(() => m.match('/A'), NotFound); // paths are case-sensitive
  });

  it('lists the allowed methods of a path', () => {
    assert.deepEqual(a.allowedMethods('/users/7'), ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT']);
    assert.deepEqual(a.allowedMethods('/nowhere/x/y'), ['GET', 'HEAD', 'OPTIONS']); // the path catch-all
  });

  it('adds OPTIONS to rules with methods unless told not to', () => {
    assert.ok(new Rule('/x', { endpoint: 'x', methods: ['GET'] }).automaticOptions);
    const off = new Rule('/x', { endpoint: 'x', methods: ['GET'], provideAutomaticOptions: false });
    assert.ok(!off.automaticOptions && !off.methods!.has('OPTIONS'));
    const own = new Rule('/x', { endpoint: 'x', methods: ['GET', 'OPTIONS'] });
    assert.ok(!own.automaticOptions && own.methods!.has('OPTIONS'));
  });

  it('does not match build-only rules', () => {
    const m = new RouteMap([new Rule('/ext/<x>', { endpoint: 'ext', buildOnly: true })]).bind('x');
    thrown(() => m.match('/ext/1'), NotFound);
    assert.equal(m.build('ext', { x: 1 }), '/ext/1');
  });

  it('keeps the priority order across first-segment buckets', () => {
    const m = new RouteMap([
      new Rule('/users/<int:id>', { endpoint: 'user' }),
      new Rule('/<lang>/about', { endpoint: 'about' }),
      new Rule('/users/<name>/about', { endpoint: 'userAbout' }),
      new Rule('/<a>/<b>/<c>', { endpoint: 'three' }),
    ]).bind('x');
    assert.equal(m.match('/users/5').endpoint, 'user');
    // The int rule of the `users` bucket does not match: a rule with a variable first segment still can.
    assert.equal(m.match('/users/about').endpoint, 'about');
    assert.equal(m.match('/fr/about').endpoint, 'about');
    // Literal parts outrank variables, whichever bucket the rule sits in.
    assert.equal(m.match('/users/ann/about').endpoint, 'userAbout');
    assert.deepEqual(m.match('/x/y/z').args, { a: 'x', b: 'y', c: 'z' });
    assert.equal(m.match('/users/y/z').endpoint, 'three');
  });

  it('accepts rules added after the first match', () => {
    const m = new RouteMap([new Rule('/a', { endpoint: 'a' })]);
    assert.equal(m.bind('x').match('/a').endpoint, 'a');
    m.add(new Rule('/b/<int:n>', { endpoint: 'b' }));
    assert.deepEqual(m.bind('x').match('/b/2').args, { n: 2 });
  });

  it('matches non-ASCII rules against the UTF-8 PATH_INFO a door produces', () => {
    const m = new RouteMap([new Rule('/caf\u00e9/<name>', { endpoint: 'cafe' })]);
    const environ = createEnviron('/caf%C3%A9/cr%C3%A8me%20br%C3%BBl%C3%A9e');
    assert.equal(environ.PATH_INFO, '/caf\u00c3\u00a9/cr\u00c3\u00a8me br\u00c3\u00bbl\u00c3\u00a9e'); // native: bytes as chars
    assert.deepEqual(m.bindToEnviron(environ).match(), { endpoint: 'cafe', args: { name: 'cr\u00e8me br\u00fbl\u00e9e' }, rule: m.rules[0] });
  });
});

describe('strict slashes', () => {
  const map = new RouteMap([
    new Rule('/docs/', { endpoint: 'docs', methods: ['GET'] }),
    new Rule('/docs/<int:n>/', { endpoint: 'doc' }),
    new Rule('/loose/', { endpoint: 'loose', strictSlashes: false }),
    new Rule('/bare', { endpoint: 'bare', strictSlashes: false }),
  ]);

  it('redirects a rule ending in / requested without it, 308, query string kept', () => {
    const environ = createEnviron('/docs', { query: 'a=1&b=%20' });
    const e = thrown(() => map.bindToEnviron(environ).match(), RequestRedirect);
    assert.equal(e.code, 308);
    assert.equal(e.newUrl, '/docs/?a=1&b=%20');
    const e2 = thrown(() => map.bindToEnviron(createEnviron('/docs/12')).match(), RequestRedirect);
    assert.equal(e2.newUrl, '/docs/12/');
  });

  it('keeps the mount point and the original bytes of the path in the redirect', () => {
    const m = new RouteMap([new Rule('/caf\u00e9 x/', { endpoint: 'c' })]);
    const environ = createEnviron('/caf%C3%A9%20x', { scriptName: '/my app' });
    assert.equal(thrown(() => m.bindToEnviron(environ).match(), RequestRedirect).newUrl, '/my%20app/caf%C3%A9%20x/');
  });

  it('takes the redirect code from the map', () => {
    const m = new RouteMap([new Rule('/d/', { endpoint: 'd' })], { redirectCode: 301 });
    assert.equal(thrown(() => m.bind('x').match('/d'), RequestRedirect).code, 301);
  });

  it('does not redirect to a rule whose converter refuses the value', () => {
    thrown(() => map.bind('x').match('/docs/x'), NotFound);
  });

  it('without strict slashes matches both forms and redirects neither', () => {
    const a = map.bind('x');
    assert.equal(a.match('/loose/').endpoint, 'loose');
    assert.equal(a.match('/loose').endpoint, 'loose');
    assert.equal(a.match('/bare/').endpoint, 'bare');
    assert.equal(a.match('/bare').endpoint, 'bare');
    const off = new RouteMap([new Rule('/d/', { endpoint: 'd' })], { strictSlashes: false }).bind('x');
    assert.equal(off.match('/d').endpoint, 'd');
  });
});

describe('defaults', () => {
  const map = new RouteMap([new Rule('/page/', { endpoint: 'page', defaults: { n: 1 } }), new Rule('/page/<int:n>', { endpoint: 'page' })]);
  const a = map.bind('x');
  it('fills arguments the URL does not carry', () => {
    assert.deepEqual(a.match('/page/').args, { n: 1 });
    assert.deepEqual(a.match('/page/3').args, { n: 3 });
  });
  it('builds the rule whose defaults match the values', () => {
    assert.equal(a.build('page', { n: 1 }), '/page/');
    assert.equal(a.build('page', {}), '/page/');
    assert.equal(a.build('page', { n: 3 }), '/page/3');
  });
});

describe('subdomains', () => {
  const map = new RouteMap([
    new Rule('/', { endpoint: 'home' }),
    new Rule('/', { endpoint: 'userHome', subdomain: '<user>' }),
    new Rule('/admin', { endpoint: 'admin', subdomain: 'admin' }),
  ]);
  const bound = (host: string) => map.bindToEnviron(createEnviron('/', { headers: { Host: host } }), { serverName: 'example.com' });

  it('matches the subdomain of the Host under the server name', () => {
    assert.equal(bound('example.com').match().endpoint, 'home');
    assert.deepEqual(bound('alice.example.com').match().args, { user: 'alice' });
    assert.equal(bound('ADMIN.Example.com').match('/admin').endpoint, 'admin');
    thrown(() => bound('alice.example.com').match('/admin'), NotFound);
  });

  it('ignores the default port and matches nothing for a Host outside the server name', () => {
    assert.equal(bound('example.com:80').match().endpoint, 'home');
    assert.equal(bound('evil.org').subdomain, '<invalid>');
    thrown(() => bound('evil.org').match(), NotFound);
  });

  it('builds across subdomains as absolute URLs', () => {
    const a = bound('alice.example.com');
    assert.equal(a.build('userHome', { user: 'alice' }), '/');
    assert.equal(a.build('userHome', { user: 'bob' }), 'http://bob.example.com/');
    assert.equal(a.build('home'), 'http://example.com/');
    assert.equal(a.build('userHome', { user: 'alice', _external: true }), 'http://alice.example.com/');
    assert.equal(a.build('admin', {}, { scheme: 'https' }), 'https://admin.example.com/admin');
  });

  it('without a server name every request is on the default subdomain', () => {
    const a = map.bindToEnviron(createEnviron('/', { headers: { Host: 'alice.example.com' } }));
    assert.equal(a.match().endpoint, 'home');
  });
});

describe('host matching', () => {
  const map = new RouteMap(
    [
      new Rule('/', { endpoint: 'main', host: 'example.com' }),
      new Rule('/', { endpoint: 'user', host: '<user>.users.example.com' }),
      new Rule('/api', { endpoint: 'api', host: 'api.example.com:8080' }),
    ],
    { hostMatching: true },
  );
  const bound = (host: string, path = '/') => map.bindToEnviron(createEnviron(path, { headers: { Host: host } }));

  it('matches the whole Host, ports included', () => {
    assert.equal(bound('example.com').match().endpoint, 'main');
    assert.deepEqual(bound('Ann.users.example.com').match().args, { user: 'ann' });
    assert.equal(bound('api.example.com:8080', '/api').match().endpoint, 'api');
    thrown(() => bound('api.example.com', '/api').match(), NotFound);
    thrown(() => bound('other.com').match(), NotFound);
  });

  it('builds URLs to other hosts as absolute URLs', () => {
    const a = bound('example.com');
    assert.equal(a.build('main'), '/');
    assert.equal(a.build('user', { user: 'ann' }), 'http://ann.users.example.com/');
    assert.equal(a.build('api'), 'http://api.example.com:8080/api');
  });
});

describe('building', () => {
  const map = new RouteMap([
    new Rule('/', { endpoint: 'index' }),
    new Rule('/users/<int:id>', { endpoint: 'user', methods: ['GET'] }),
    new Rule('/users/<int:id>', { endpoint: 'user', methods: ['POST'] }),
    new Rule('/files/<path:name>', { endpoint: 'file' }),
    new Rule('/tag/<name>', { endpoint: 'tag' }),
    new Rule('/search', { endpoint: 'search' }),
    new Rule('/s\u00e9 l/<x>', { endpoint: 'odd' }),
  ]);
  const a = map.bind('example.com', { scriptName: '/my app' });

  it('prefixes the mount point and escapes values', () => {
    assert.equal(a.build('index'), '/my%20app/');
    assert.equal(a.build('tag', { name: 'hello world' }), '/my%20app/tag/hello%20world');
    assert.equal(a.build('tag', { name: '\u65e5\u672c' }), '/my%20app/tag/%E6%97%A5%E6%9C%AC');
    assert.equal(a.build('tag', { name: 'a/b' }), '/my%20app/tag/a%2Fb');
    assert.equal(a.build('file', { name: 'a b/c.txt' }), '/my%20app/files/a%20b/c.txt');
    assert.equal(a.build('odd', { x: 1 }), '/my%20app/s%C3%A9%20l/1');
  });

  it('puts unused values in the query string, repeating arrays, skipping null and undefined', () => {
    assert.equal(a.build('search', { q: 'a b&c', page: 2, tags: ['x', 'y'], none: null, gone: undefined }), '/my%20app/search?q=a+b%26c&page=2&tags=x&tags=y');
    assert.equal(a.build('user', { id: 3, next: '/x?y' }), '/my%20app/users/3?next=%2Fx%3Fy');
  });

  it('builds absolute URLs with _external, fragments with _anchor', () => {
    assert.equal(a.build('user', { id: 3, _external: true }), 'http://example.com/my%20app/users/3');
    assert.equal(a.build('user', { id: 3, _external: true, _scheme: 'https' }), 'https://example.com/my%20app/users/3');
    assert.equal(a.build('user', { id: 3, _anchor: 'top part' }), '/my%20app/users/3#top%20part');
    assert.equal(a.build('index', {}, { external: true }), 'http://example.com/my%20app/');
  });

  it('picks the rule for _method', () => {
    assert.equal(a.build('user', { id: 1, _method: 'POST' }), '/my%20app/users/1');
    assert.throws(() => a.build('user', { id: 1, _method: 'DELETE' }), /method DELETE/);
  });

  it('throws BuildError for an unknown endpoint, a missing value or a value the converter refuses', () => {
    const unknown = thrown(() => a.build('nope'), BuildError);
    assert.equal(unknown.endpoint, 'nope');
    assert.match(unknown.message, /no rule has this endpoint/);
    assert.match(thrown(() => a.build('user', {}), BuildError).message, /Did you forget to specify values \["id"\]/);
    assert.match(thrown(() => a.build('user', { id: null }), BuildError).message, /\["id"\]/);
    assert.match(thrown(() => a.build('user', { id: 'seven' }), BuildError).message, /No rule accepts these values/);
  });

  it('prefixes SCRIPT_NAME when bound to an environ, re-encoding its bytes', () => {
    const environ = createEnviron('/users/3', { scriptName: '/caf\u00c3\u00a9' });
    const b = map.bindToEnviron(environ);
    assert.equal(b.match().endpoint, 'user');
    assert.equal(b.build('user', { id: 4 }), '/caf%C3%A9/users/4');
    assert.equal(b.build('user', { id: 4, _external: true }), 'http://localhost/caf%C3%A9/users/4');
  });

  it('uses the Host with its port for external URLs', () => {
    const b = map.bindToEnviron(createEnviron('/', { headers: { Host: 'Example.com:8443' }, scheme: 'https' }));
    assert.equal(b.build('index', { _external: true }), 'https://example.com:8443/');
  });
});

describe('build then match gives the same arguments', () => {
  const map = new RouteMap([
    new Rule('/s/<name>', { endpoint: 'str' }),
    new Rule('/i/<int(signed=True):n>/<float(signed=True):f>', { endpoint: 'num' }),
    new Rule('/p/<path:rest>', { endpoint: 'path' }),
    new Rule('/u/<uuid:id>/<any(a, b, "c d"):which>', { endpoint: 'uuid' }),
    new Rule('/x/<name>/<path:rest>/end', { endpoint: 'mixed' }),
  ]);
  const a = map.bind('example.com', { scriptName: '/mnt' });
  // What a door does to a built path: percent-decode it to bytes, shown as a native string.
  const environOf = (url: string) => {
    const [path, query] = url.split('?') as [string, string | undefined];
    const environ = createEnviron(path!);
    assert.ok(path!.startsWith('/mnt/'));
    environ.SCRIPT_NAME = '/mnt';
    environ.PATH_INFO = environ.PATH_INFO.slice('/mnt'.length);
    environ.QUERY_STRING = query ?? '';
    return environ;
  };
  const roundTrip = (endpoint: string, args: Record<string, unknown>) => {
    const url = a.build(endpoint, args);
    assert.match(url, /^[\x21-\x7e]+$/, 'a built URL is ASCII');
    const m = map.bindToEnviron(environOf(url)).match();
    assert.equal(m.endpoint, endpoint);
    assert.deepEqual(m.args, args);
  };
  // Any text without '/' (a WSGI server decodes %2F: it cannot come back) and without lone surrogates.
  const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => !s.includes('/'));
  const pathText = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));

  it('for strings', () =>
    fc.assert(
      fc.property(segment, (name) => roundTrip('str', { name })),
      { numRuns: 300 },
    ));
  it('for numbers', () =>
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e20, max: 1e20 }), (n, f) =>
        roundTrip('num', { n: n === 0 ? 0 : n, f: f === 0 ? 0 : f }),
      ),
      { numRuns: 300 },
    ));
  it('for paths', () =>
    fc.assert(
      fc.property(pathText, (rest) => roundTrip('path', { rest })),
      { numRuns: 300 },
    ));
  it('for uuids and any', () =>
    fc.assert(
      fc.property(fc.uuid(), fc.constantFrom('a', 'b', 'c d'), (id, which) => roundTrip('uuid', { id, which })),
      { numRuns: 100 },
    ));
  it('for a path between other parts', () =>
    fc.assert(
      fc.property(segment, pathText, (name, rest) => roundTrip('mixed', { name, rest })),
      { numRuns: 300 },
    ));
});
