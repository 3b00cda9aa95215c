// src/protocol/environ.ts on its own: environFromHead (an HTTP/1 head), environFromCgi (CGI variables),
// and the rules they share (the join, the ::ffff: rule, the PATH_INFO derivation, the empty-vs-missing
// table). The doors' own tests and test/protocol/cgi-environ.test.ts show the same through sockets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientError } from '../../src/errors.js';
import {
  environFromCgi,
  environFromHead,
  joinField,
  mergeVars,
  protocolName,
  unmapIPv4,
  type CgiRules,
  type Endpoints,
  type EnvironBase,
  type HeadBase,
  type HeadFacts,
} from '../../src/protocol/environ.js';
import { splitTarget } from '../../src/protocol/target.js';
import { EMPTY_INPUT } from '../../src/runner/input.js';
import { LogErrors, silentLogger } from '../../src/runner/log.js';
import type { Environ, EnvironRecord } from '../../src/spec.js';
import { FileWrapper } from '../../src/util.js';

const common: EnvironBase = { software: 'tsgi/test', errors: new LogErrors(silentLogger), multiprocess: false, fileWrapper: FileWrapper, input: EMPTY_INPUT };
const headBase: HeadBase = { ...common, serverName: '127.0.0.1', serverPort: '8000', scriptName: '' };

function head(target: string, rawHeaders: string[] = [], more: Partial<HeadFacts> = {}, base: HeadBase = headBase): Environ {
  const [path, query] = splitTarget(target);
  const peer: Endpoints = { remoteAddress: '10.0.0.9', remotePort: 51000, localAddress: '10.0.0.1', localPort: 9000 };
  return environFromHead({ method: 'GET', target, path, query, protocol: 'HTTP/1.1', rawHeaders, scheme: 'http', peer, ...more }, base);
}

function refusal(f: () => unknown): ClientError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof ClientError, String(err));
    return err;
  }
  assert.fail('accepted');
}

describe('environFromHead', () => {
  test("the HTTP door's keys, from the head and the base", () => {
    const e = head('/a%20b/c?x=1#frag', ['Host', 'example.test', 'X-Thing', ' v ']);
    assert.deepEqual(
      [e.REQUEST_METHOD, e.SCRIPT_NAME, e.PATH_INFO, e.QUERY_STRING, e.SERVER_NAME, e.SERVER_PORT, e.SERVER_PROTOCOL, e.SERVER_SOFTWARE],
      ['GET', '', '/a b/c', 'x=1', '127.0.0.1', '8000', 'HTTP/1.1', 'tsgi/test'],
    );
    assert.equal(e.REQUEST_URI, '/a%20b/c?x=1#frag');
    assert.equal(e.RAW_URI, '/a%20b/c?x=1#frag');
    assert.equal(e.HTTP_HOST, 'example.test');
    assert.equal(e.HTTP_X_THING, ' v ', 'values as the head gives them');
    assert.equal(e.REMOTE_ADDR, '10.0.0.9');
    assert.equal(e.REMOTE_PORT, '51000');
    assert.deepEqual(e['wsgi.version'], [1, 0]);
    assert.equal(e['wsgi.input'], EMPTY_INPUT);
    assert.equal(e['wsgi.errors'], common.errors);
    assert.equal(e['wsgi.file_wrapper'], FileWrapper);
    assert.deepEqual(
      [e['wsgi.url_scheme'], e['wsgi.multithread'], e['wsgi.multiprocess'], e['wsgi.run_once'], e['wsgi.input_terminated']],
      ['http', false, false, false, true],
    );
    assert.equal(Object.hasOwn(e, 'CONTENT_TYPE'), false);
    assert.equal(Object.hasOwn(e, 'CONTENT_LENGTH'), false);
    assert.equal(Object.getPrototypeOf(e), Object.prototype);
  });

  test('repeated fields: joined with ",", Cookie with "; "; Content-Type and Content-Length as CGI keys; names with _ dropped', () => {
    const e = head('/', [
      'Accept',
      'a',
      'Cookie',
      'c=1',
      'accept',
      'b',
      'Cookie',
      'd=2',
      'Content-Type',
      'text/plain',
      'Content-Length',
      '3',
      'X_Forwarded_For',
      'evil',
    ]);
    assert.equal(e.HTTP_ACCEPT, 'a,b');
    assert.equal(e.HTTP_COOKIE, 'c=1; d=2');
    assert.equal(e.CONTENT_TYPE, 'text/plain');
    assert.equal(e.CONTENT_LENGTH, '3');
    assert.equal(Object.hasOwn(e, 'HTTP_CONTENT_TYPE'), false);
    assert.equal(Object.hasOwn(e, 'HTTP_X_FORWARDED_FOR'), false);
  });

  test('two Host or two Content-Length fields: ClientError(400), even with equal values', () => {
    for (const name of ['Host', 'Content-Length']) {
      const err = refusal(() => head('/', [name, '1', name.toLowerCase(), '1']));
      assert.equal(err.status, 400);
      assert.equal(err.code, 'TSGI_ERR_ENVIRON_DUPLICATE');
      assert.match(err.message, new RegExp(`more than one ${name} header`));
    }
  });

  test("SERVER_NAME / SERVER_PORT: the base's, else the local end's (::ffff: off), else localhost and the scheme's port", () => {
    const bare = { ...headBase, serverName: '', serverPort: '' };
    let e = head('/', [], { peer: { localAddress: '::ffff:192.0.2.1', localPort: 8443 } }, bare);
    assert.deepEqual([e.SERVER_NAME, e.SERVER_PORT], ['192.0.2.1', '8443']);
    e = head('/', [], { peer: {}, scheme: 'https' }, bare);
    assert.deepEqual([e.SERVER_NAME, e.SERVER_PORT, e['wsgi.url_scheme']], ['localhost', '443', 'https']);
    e = head('/', [], { peer: { localPort: '' } }, bare);
    assert.equal(e.SERVER_PORT, '80', 'an empty port is no port');
  });

  test("REMOTE_ADDR: the peer's, IPv4-mapped unmapped; left out with REMOTE_PORT when there is none (a Unix socket)", () => {
    assert.equal(head('/', [], { peer: { remoteAddress: '::ffff:127.0.0.1', remotePort: 1 } }).REMOTE_ADDR, '127.0.0.1');
    assert.equal(head('/', [], { peer: { remoteAddress: '::1', remotePort: 1 } }).REMOTE_ADDR, '::1');
    for (const peer of [{}, { remoteAddress: '' }, { remoteAddress: undefined, remotePort: 5 }]) {
      const e = head('/', [], { peer });
      assert.equal(Object.hasOwn(e, 'REMOTE_ADDR'), false, JSON.stringify(peer));
      assert.equal(Object.hasOwn(e, 'REMOTE_PORT'), false, JSON.stringify(peer));
    }
    const noPort = head('/', [], { peer: { remoteAddress: '10.1.1.1' } });
    assert.equal(noPort.REMOTE_ADDR, '10.1.1.1');
    assert.equal(Object.hasOwn(noPort, 'REMOTE_PORT'), false);
  });

  test('a socket is an Endpoints as it is: its local address is read only when the base names no server', () => {
    let reads = 0;
    const socket = {
      remoteAddress: '10.0.0.2',
      remotePort: 4000,
      get localAddress() {
        reads++;
        return '10.0.0.1';
      },
      localPort: 80,
    };
    head('/', [], { peer: socket });
    assert.equal(reads, 0);
    assert.equal(head('/', [], { peer: socket }, { ...headBase, serverName: '' }).SERVER_NAME, '10.0.0.1');
    assert.equal(reads, 1);
  });

  test("protocolName: node's httpVersion as SERVER_PROTOCOL", () => {
    assert.deepEqual(['1.1', '1.0', '2.0'].map(protocolName), ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0']);
  });
});

describe('the shared rules', () => {
  test('unmapIPv4 takes ::ffff: off IPv4-mapped addresses only', () => {
    const cases: Array<[string | undefined, string | undefined]> = [
      ['::ffff:127.0.0.1', '127.0.0.1'],
      ['::FFFF:10.0.0.1', '10.0.0.1'],
      ['::ffff:255.255.255.255', '255.255.255.255'],
      ['127.0.0.1', '127.0.0.1'],
      ['::1', '::1'],
      ['::ffff:7f00:1', '::ffff:7f00:1'], // the same address spelled as IPv6: left as it is
      ['::ffff:0:1.2.3.4', '::ffff:0:1.2.3.4'], // IPv4-translated (RFC 2765), not mapped
      ['::ffff:1234:5678', '::ffff:1234:5678'],
      ['::ffff:', '::ffff:'],
      ['fe80::1', 'fe80::1'],
      ['', ''],
      [undefined, undefined],
    ];
    // Twice: the second round is answered from the one-entry memo for the same string.
    for (let round = 0; round < 2; round++) for (const [a, want] of cases) assert.equal(unmapIPv4(a), want, String(a));
  });

  test('joinField: "," between values, "; " between cookies', () => {
    assert.equal(joinField('HTTP_ACCEPT', 'a', 'b'), 'a,b');
    assert.equal(joinField('HTTP_COOKIE', 'a=1', 'b=2'), 'a=1; b=2');
    assert.equal(joinField('HTTP_X', '', ''), ',');
  });

  test('mergeVars: the duplicate-key rule, the keys never taken from a front end', () => {
    const m = mergeVars([
      ['HTTP_X', 'a'],
      ['HTTP_X', 'b'],
      ['HTTP_COOKIE', 'c=1'],
      ['HTTP_COOKIE', 'd=2'],
      ['PATH_INFO', '/a'],
      ['PATH_INFO', '/b'],
      ['HTTP_HOST', 'h'],
      ['HTTP_HOST', 'h'],
      ['CONTENT_LENGTH', '5'],
      ['CONTENT_LENGTH', '5'],
      ['HTTP_CONTENT_TYPE', 'x'],
      ['HTTP_CONTENT_LENGTH', '1'],
      ['__proto__', 'p'],
      ['wsgi.input', 'x'],
      ['tsgi.y', 'y'],
      ['uwsgi.z', 'z'],
    ]);
    assert.deepEqual(Object.fromEntries(m), { HTTP_X: 'a,b', HTTP_COOKIE: 'c=1; d=2', PATH_INFO: '/b', HTTP_HOST: 'h', CONTENT_LENGTH: '5' });
    for (const key of ['HTTP_HOST', 'CONTENT_LENGTH']) {
      const err = refusal(() =>
        mergeVars([
          [key, '1'],
          [key, '2'],
        ]),
      );
      assert.equal(err.code, 'TSGI_ERR_ENVIRON_DUPLICATE');
      assert.match(err.message, new RegExp(`two different ${key} values, "1" and "2"`));
    }
  });
});

describe('environFromCgi', () => {
  const MOUNT: CgiRules = { scriptNameAlone: 'mount', frontEndSoftware: false, runOnce: false, rawUri: true };
  const PATH: CgiRules = { ...MOUNT, scriptNameAlone: 'path' };
  const CGI: CgiRules = { scriptNameAlone: 'mount', defaultMethod: 'GET', frontEndSoftware: true, runOnce: true, rawUri: false };
  const cgi = (vars: Array<[string, string]>, rules = MOUNT, peer?: Endpoints) => environFromCgi(vars, common, rules, peer);
  const GET: Array<[string, string]> = [['REQUEST_METHOD', 'GET']];

  test('the empty-vs-missing table: required keys never missing, SERVER_NAME/PORT/PROTOCOL never empty, optional keys left out', () => {
    for (const sent of [
      [],
      [
        ['SERVER_NAME', ''],
        ['SERVER_PORT', ''],
        ['SERVER_PROTOCOL', ''],
        ['CONTENT_TYPE', ''],
        ['CONTENT_LENGTH', ''],
        ['REMOTE_ADDR', ''],
      ],
    ] as Array<Array<[string, string]>>) {
      const e = cgi([...GET, ...sent]);
      assert.deepEqual(
        [e.SCRIPT_NAME, e.PATH_INFO, e.QUERY_STRING, e.SERVER_NAME, e.SERVER_PORT, e.SERVER_PROTOCOL],
        ['', '', '', 'localhost', '80', 'HTTP/1.0'],
        JSON.stringify(sent),
      );
      for (const k of ['CONTENT_TYPE', 'CONTENT_LENGTH', 'REMOTE_ADDR', 'REMOTE_PORT', 'RAW_URI', 'REQUEST_URI']) assert.equal(Object.hasOwn(e, k), false, k);
    }
    const e = cgi([...GET, ['SCRIPT_NAME', ''], ['PATH_INFO', ''], ['QUERY_STRING', ''], ['HTTP_X', '']]);
    assert.deepEqual([e.SCRIPT_NAME, e.PATH_INFO, e.QUERY_STRING, e.HTTP_X], ['', '', '', ''], 'sent empty, kept empty');
  });

  test('the connection stands in for what is not sent: local address and port, the peer; ::ffff: off', () => {
    const peer = { localAddress: '::ffff:10.0.0.1', localPort: 9000, remoteAddress: '::ffff:10.0.0.2' };
    const e = cgi([...GET, ['SERVER_NAME', ''], ['SERVER_PORT', '']], MOUNT, peer);
    assert.deepEqual([e.SERVER_NAME, e.SERVER_PORT, e.REMOTE_ADDR], ['10.0.0.1', '9000', '10.0.0.2']);
    const sent = cgi([...GET, ['SERVER_NAME', 'wire.test'], ['SERVER_PORT', '80'], ['REMOTE_ADDR', '192.0.2.7']], MOUNT, peer);
    assert.deepEqual([sent.SERVER_NAME, sent.SERVER_PORT, sent.REMOTE_ADDR], ['wire.test', '80', '192.0.2.7']);
    assert.equal(Object.hasOwn(sent, 'REMOTE_PORT'), false, "the peer's port is the front end's, never the client's");
  });

  test('PATH_INFO not sent: derived from REQUEST_URI and SCRIPT_NAME, by rules.scriptNameAlone when SCRIPT_NAME came alone', () => {
    const cases: Array<[vars: Array<[string, string]>, mount: [string, string], path: [string, string]]> = [
      [[['REQUEST_URI', '/a/b?q']], ['', '/a/b'], ['', '/a/b']],
      [
        [
          ['SCRIPT_NAME', ''],
          ['REQUEST_URI', '/a/b'],
        ],
        ['', '/a/b'],
        ['', '/a/b'],
      ],
      [
        [
          ['SCRIPT_NAME', '/a'],
          ['REQUEST_URI', '/a/b'],
        ],
        ['/a', '/b'],
        ['/a', '/b'],
      ],
      [
        [
          ['SCRIPT_NAME', '/a'],
          ['REQUEST_URI', '/a/'],
        ],
        ['/a', '/'],
        ['/a', '/'],
      ],
      [
        [
          ['SCRIPT_NAME', '/a'],
          ['REQUEST_URI', '/a%2Fb'],
        ],
        ['/a', '/b'],
        ['/a', '/b'],
      ],
      // SCRIPT_NAME alone: a mount point (uwsgi, CGI) or the whole path (FastCGI: stock nginx, mod_proxy_fcgi).
      [
        [
          ['SCRIPT_NAME', '/a/b'],
          ['REQUEST_URI', '/a/b?x=1'],
        ],
        ['/a/b', ''],
        ['', '/a/b'],
      ],
      [[['SCRIPT_NAME', '/a/b']], ['/a/b', ''], ['', '/a/b']],
      [
        [
          ['SCRIPT_NAME', '/app'],
          ['REQUEST_URI', '/application/x'],
        ],
        ['/app', '/application/x'],
        ['', '/app'],
      ],
      // An nginx rewrite: REQUEST_URI is the original, SCRIPT_NAME the rewritten path.
      [
        [
          ['SCRIPT_NAME', '/new'],
          ['REQUEST_URI', '/old'],
        ],
        ['/new', '/old'],
        ['', '/new'],
      ],
    ];
    for (const [vars, mount, path] of cases) {
      const m = cgi([...GET, ...vars], MOUNT);
      const p = cgi([...GET, ...vars], PATH);
      assert.deepEqual([m.SCRIPT_NAME, m.PATH_INFO], mount, `mount ${JSON.stringify(vars)}`);
      assert.deepEqual([p.SCRIPT_NAME, p.PATH_INFO], path, `path ${JSON.stringify(vars)}`);
    }
    const q = cgi([...GET, ['REQUEST_URI', '/x?a=%20b#f']]);
    assert.equal(q.QUERY_STRING, 'a=%20b');
    assert.equal(q.RAW_URI, '/x?a=%20b#f');
    assert.equal(cgi([...GET, ['REQUEST_URI', '/x?a'], ['QUERY_STRING', 'b']]).QUERY_STRING, 'b', 'QUERY_STRING as sent wins');
  });

  test('wsgi.url_scheme: UWSGI_SCHEME, then HTTPS on/1/yes, then REQUEST_SCHEME; the default port follows it', () => {
    const scheme = (vars: Array<[string, string]>) => {
      const e = cgi([...GET, ...vars]);
      return `${e['wsgi.url_scheme']}:${e.SERVER_PORT}`;
    };
    assert.equal(scheme([]), 'http:80');
    for (const on of ['on', 'ON', '1', 'yes']) assert.equal(scheme([['HTTPS', on]]), 'https:443', on);
    assert.equal(scheme([['HTTPS', 'off']]), 'http:80');
    assert.equal(scheme([['REQUEST_SCHEME', 'https']]), 'https:443');
    assert.equal(
      scheme([
        ['UWSGI_SCHEME', 'http'],
        ['HTTPS', 'on'],
      ]),
      'http:80',
    );
    assert.equal(scheme([['UWSGI_SCHEME', 'https']]), 'https:443');
    assert.equal(
      scheme([
        ['UWSGI_SCHEME', 'gopher'],
        ['HTTPS', 'on'],
      ]),
      'https:443',
      'an unknown UWSGI_SCHEME is no answer',
    );
  });

  test('REMOTE_PORT: kept when it is a port number, left out otherwise and behind the uWSGI router', () => {
    assert.equal(cgi([...GET, ['REMOTE_PORT', '40000']]).REMOTE_PORT, '40000');
    for (const bad of ['99999', 'x', '', '-1', '123456']) assert.equal(Object.hasOwn(cgi([...GET, ['REMOTE_PORT', bad]]), 'REMOTE_PORT'), false, bad);
    assert.equal(Object.hasOwn(cgi([...GET, ['REMOTE_PORT', '16540'], ['UWSGI_ROUTER', 'http']]), 'REMOTE_PORT'), false);
  });

  test('the duplicate-key rule holds for the keys left out when empty, and for inherited names, as mergeVars has it', () => {
    // CONTENT_TYPE, CONTENT_LENGTH, REMOTE_ADDR and REMOTE_PORT are held aside while the vars are read.
    assert.equal(Object.hasOwn(cgi([...GET, ['CONTENT_TYPE', 'text/plain'], ['CONTENT_TYPE', '']]), 'CONTENT_TYPE'), false, 'the last one wins, empty');
    assert.equal(cgi([...GET, ['CONTENT_TYPE', ''], ['CONTENT_TYPE', 'text/plain']]).CONTENT_TYPE, 'text/plain');
    assert.equal(cgi([...GET, ['CONTENT_LENGTH', '5'], ['CONTENT_LENGTH', '5']]).CONTENT_LENGTH, '5');
    for (const pair of [
      ['', '5'],
      ['5', ''],
      ['5', '6'],
    ]) {
      const err = refusal(() => cgi([...GET, ['CONTENT_LENGTH', pair[0]!], ['CONTENT_LENGTH', pair[1]!]]));
      assert.equal(err.code, 'TSGI_ERR_ENVIRON_DUPLICATE', JSON.stringify(pair));
    }
    const peer: Endpoints = { remoteAddress: '::ffff:10.0.0.9', remotePort: 5 };
    assert.equal(cgi([...GET, ['REMOTE_ADDR', '10.0.0.1'], ['REMOTE_ADDR', '']], MOUNT, peer).REMOTE_ADDR, '10.0.0.9');
    assert.equal(cgi([...GET, ['REMOTE_ADDR', ''], ['REMOTE_ADDR', '10.0.0.1']], MOUNT, peer).REMOTE_ADDR, '10.0.0.1');
    assert.equal(Object.hasOwn(cgi([...GET, ['REMOTE_PORT', '1'], ['REMOTE_PORT', 'x']]), 'REMOTE_PORT'), false);
    const e = cgi([
      ...GET,
      ['toString', 'a'],
      ['toString', 'b'],
      ['HTTP_CONSTRUCTOR', 'c'],
      ['REQUEST_METHOD', 'PUT'],
      ['PATH_INFO', '/a'],
      ['PATH_INFO', '/b'],
    ]);
    assert.deepEqual([e.toString, (e as EnvironRecord).HTTP_CONSTRUCTOR, e.REQUEST_METHOD, e.PATH_INFO], ['b', 'c', 'PUT', '/b']);
    // What mergeVars gives for the same vars is what the environ holds.
    const vars: Array<[string, string]> = [...GET, ['HTTP_X', 'a'], ['HTTP_X', 'b'], ['HTTP_COOKIE', 'c=1'], ['HTTP_COOKIE', 'd=2'], ['X', '1'], ['X', '2']];
    const merged = mergeVars(vars);
    const env = cgi(vars) as EnvironRecord;
    for (const [k, v] of merged) assert.equal(env[k], v, k);
  });

  test('refusals: ClientError(400) with an environ code', () => {
    const cases: Array<[Array<[string, string]>, string, RegExp]> = [
      [[['PATH_INFO', '/']], 'TSGI_ERR_ENVIRON_METHOD', /no REQUEST_METHOD/],
      [[['REQUEST_METHOD', '']], 'TSGI_ERR_ENVIRON_METHOD', /REQUEST_METHOD "" is not a token/],
      [[['REQUEST_METHOD', 'G\u00e9T']], 'TSGI_ERR_ENVIRON_METHOD', /not a token/],
      [[...GET, ['CONTENT_LENGTH', '1e3']], 'TSGI_ERR_ENVIRON_LENGTH', /CONTENT_LENGTH "1e3" is not 1 to 15 decimal digits/],
      [[...GET, ['CONTENT_LENGTH', '1234567890123456']], 'TSGI_ERR_ENVIRON_LENGTH', /CONTENT_LENGTH/],
      [[...GET, ['HTTP_HOST', 'a'], ['HTTP_HOST', 'b']], 'TSGI_ERR_ENVIRON_DUPLICATE', /two different HTTP_HOST/],
    ];
    for (const [vars, code, message] of cases) {
      const err = refusal(() => cgi(vars));
      assert.deepEqual([err.status, err.code], [400, code], JSON.stringify(vars));
      assert.match(err.message, message);
    }
    assert.equal(cgi([['CONTENT_LENGTH', '123456789012345'], ...GET]).CONTENT_LENGTH, '123456789012345');
  });

  test("CGI's rules: GET by default, the web server's SERVER_SOFTWARE, run_once, no RAW_URI", () => {
    for (const vars of [[], [['REQUEST_METHOD', '']]] as Array<Array<[string, string]>>) assert.equal(cgi(vars, CGI).REQUEST_METHOD, 'GET');
    const e = cgi([...GET, ['SERVER_SOFTWARE', 'Apache/2.4'], ['REQUEST_URI', '/x']], CGI);
    assert.deepEqual([e.SERVER_SOFTWARE, e['wsgi.run_once'], Object.hasOwn(e, 'RAW_URI')], ['Apache/2.4', true, false]);
    assert.equal(cgi([...GET, ['SERVER_SOFTWARE', '']], CGI).SERVER_SOFTWARE, 'tsgi/test');
    assert.equal(cgi([...GET, ['SERVER_SOFTWARE', 'Apache/2.4']], MOUNT).SERVER_SOFTWARE, 'tsgi/test', "tsgi's at the other doors");
  });

  test("wire variables cannot set the server's keys or the prototype; other names are data", () => {
    const e = cgi([
      ...GET,
      ['wsgi.input', 'x'],
      ['wsgi.url_scheme', 'https'],
      ['tsgi.x', '1'],
      ['__proto__', 'p'],
      ['toString', 't'],
      ['constructor', 'c'],
      ['X_CUSTOM', 'v'],
    ]);
    assert.equal(e['wsgi.input'], EMPTY_INPUT);
    assert.equal(e['wsgi.url_scheme'], 'http');
    assert.equal(Object.hasOwn(e, 'tsgi.x'), false);
    assert.equal(Object.getPrototypeOf(e), Object.prototype);
    assert.deepEqual([e.toString, e.constructor, (e as EnvironRecord).X_CUSTOM], ['t', 'c', 'v']);
  });
});
