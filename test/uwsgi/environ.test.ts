// The environ built from the vars each real front end sends (the captured fixtures), the
// duplicate-key rule, strict CONTENT_LENGTH, and the source allow-list.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_INPUT } from '../../src/runner/input.js';
import { silentLogger, LogErrors } from '../../src/runner/log.js';
import type { Environ, EnvironRecord } from '../../src/spec.js';
import { FileWrapper } from '../../src/util.js';
import { VERSION } from '../../src/version.js';
import { allowList } from '../../src/server/trust.js';
import { buildEnviron, type Request, type UwsgiBase } from '../../src/uwsgi/environ.js';
import { ClientError } from '../../src/errors.js';
import { fixture, referenceDecode } from './support.js';

const base: UwsgiBase = { software: `tsgi/${VERSION}`, errors: new LogErrors(silentLogger), multiprocess: false, fileWrapper: FileWrapper, input: EMPTY_INPUT };
const conn = { localAddress: '127.0.0.1', localPort: 8001, remoteAddress: '127.0.0.1' };

function build(vars: Array<[string, string]>, c = conn): Request {
  return buildEnviron(vars, base, c);
}
function fromFixture(name: string): Request {
  return build(referenceDecode(fixture(name)).vars);
}
function refused(vars: Array<[string, string]>): string {
  try {
    build(vars);
  } catch (err) {
    assert.ok(err instanceof ClientError);
    assert.equal(err.status, 400);
    assert.match(err.code, /^TSGI_ERR_ENVIRON_/);
    return err.message;
  }
  assert.fail('accepted');
}
const GET: Array<[string, string]> = [['REQUEST_METHOD', 'GET']];

describe('what each front end sends becomes the environ the HTTP door would build', () => {
  test('nginx GET: PATH_INFO is the whole path, SCRIPT_NAME defaults to "", empty CONTENT_* are left out', () => {
    const { environ: e, body } = fromFixture('nginx-uwsgi-get.bin');
    assert.equal(e.REQUEST_METHOD, 'GET');
    assert.equal(e.SCRIPT_NAME, '');
    assert.equal(e.PATH_INFO, '/u/app/path');
    assert.equal(e.QUERY_STRING, 'x=1&y=%20z');
    assert.equal(e.REQUEST_URI, '/u/app/path?x=1&y=%20z');
    assert.equal(e.RAW_URI, '/u/app/path?x=1&y=%20z');
    assert.equal(e.SERVER_NAME, 'wire.test');
    assert.equal(e.SERVER_PORT, '29390');
    assert.equal(e.SERVER_PROTOCOL, 'HTTP/1.1');
    assert.equal(e.REMOTE_ADDR, '127.0.0.1');
    assert.equal(e.REMOTE_PORT, '55028');
    assert.equal(e.HTTP_X_CUSTOM, 'hello');
    assert.equal('CONTENT_TYPE' in e, false);
    assert.equal('CONTENT_LENGTH' in e, false);
    assert.deepEqual(body, { kind: 'none' });
  });

  test("the wsgi.* keys and SERVER_SOFTWARE are the HTTP door's", () => {
    const { environ: e } = fromFixture('nginx-uwsgi-get.bin');
    assert.equal(e.SERVER_SOFTWARE, `tsgi/${VERSION}`);
    assert.deepEqual(e['wsgi.version'], [1, 0]);
    assert.equal(e['wsgi.url_scheme'], 'http');
    assert.equal(e['wsgi.input'], EMPTY_INPUT);
    assert.equal(e['wsgi.errors'], base.errors);
    assert.equal(e['wsgi.multithread'], false);
    assert.equal(e['wsgi.multiprocess'], false);
    assert.equal(e['wsgi.run_once'], false);
    assert.equal(e['wsgi.file_wrapper'], FileWrapper);
    assert.equal(e['wsgi.input_terminated'], true);
  });

  test('nginx POST: HTTP_CONTENT_TYPE/LENGTH duplicates dropped, the body framed by CONTENT_LENGTH', () => {
    const { environ: e, body } = fromFixture('nginx-uwsgi-post.bin');
    assert.equal(e.CONTENT_TYPE, 'application/x-www-form-urlencoded');
    assert.equal(e.CONTENT_LENGTH, '5');
    assert.equal('HTTP_CONTENT_TYPE' in e, false);
    assert.equal('HTTP_CONTENT_LENGTH' in e, false);
    assert.deepEqual(body, { kind: 'length', length: 5 });
  });

  test('nginx de-chunked upload: CONTENT_LENGTH wins over the HTTP_TRANSFER_ENCODING it still forwards', () => {
    const { environ: e, body } = fromFixture('nginx-uwsgi-chunked.bin');
    assert.equal(e.HTTP_TRANSFER_ENCODING, 'chunked');
    assert.deepEqual(body, { kind: 'length', length: 5 });
  });

  test('nginx 1.22 repeats a var per repeated header: joined as the HTTP door joins headers', () => {
    const { environ: e } = fromFixture('nginx-uwsgi-dupheaders.bin');
    assert.equal(e.HTTP_X_DUP, 'a,b');
    assert.equal(e.HTTP_COOKIE, 'c=1; d=2');
  });

  test('nginx encoded path: PATH_INFO keeps the decoded bytes as latin-1, the query stays raw', () => {
    const { environ: e } = fromFixture('nginx-uwsgi-encpath.bin');
    assert.equal(e.PATH_INFO, '/u/a b/caf\u00c3\u00a9/z');
    assert.equal(e.QUERY_STRING, 'q=%C3%A9&r=a+b');
  });

  test("nginx HEAD and Debian's uwsgi_params (HTTP_HOST without the port)", () => {
    assert.equal(fromFixture('nginx-uwsgi-head.bin').environ.REQUEST_METHOD, 'HEAD');
    assert.equal(fromFixture('nginx-uwsgi-debianparams.bin').environ.HTTP_HOST, '127.0.0.1');
  });

  test('Apache: SCRIPT_NAME is the ProxyPass prefix, PATH_INFO the rest', () => {
    const { environ: e } = fromFixture('apache-uwsgi-get.bin');
    assert.equal(e.SCRIPT_NAME, '/u');
    assert.equal(e.PATH_INFO, '/app/path');
    assert.equal(e.SERVER_SOFTWARE, `tsgi/${VERSION}`, "Apache's SERVER_SOFTWARE is replaced");
    assert.equal(fromFixture('apache-uwsgi-dupheaders.bin').environ.HTTP_X_DUP, 'a, b');
    assert.equal(fromFixture('apache-uwsgi-post.bin').environ.CONTENT_LENGTH, '5');
  });

  test('lighttpd without PATH_INFO: derived from REQUEST_URI, SCRIPT_NAME taken off its front', () => {
    const { environ: e, body } = fromFixture('lighttpd-uwsgi-post.bin');
    assert.equal(e.SCRIPT_NAME, '/u/form');
    assert.equal(e.PATH_INFO, '');
    assert.equal(e.QUERY_STRING, 'a=b');
    assert.equal('HTTP_CONTENT_LENGTH' in e, false);
    assert.deepEqual(body, { kind: 'length', length: 5 });
    const get = fromFixture('lighttpd-uwsgi-get.bin').environ;
    assert.equal(get.SCRIPT_NAME + get.PATH_INFO, '/u/app/path');
    assert.equal(get.CONTENT_LENGTH, '0');
    assert.deepEqual(fromFixture('lighttpd-uwsgi-get.bin').body, { kind: 'none' });
  });

  test('the uWSGI router: its byte-swapped REMOTE_PORT is dropped; HTTP/1.0 answered as HTTP/1.0', () => {
    const { environ: e } = fromFixture('uwsgi-router-get.bin');
    assert.equal((e as EnvironRecord).UWSGI_ROUTER, 'http'); // a variable only the uWSGI router sends
    assert.equal('REMOTE_PORT' in e, false);
    assert.equal(e.REMOTE_ADDR, '127.0.0.1');
    assert.equal(fromFixture('uwsgi-router-http10.bin').responseProtocol, 'HTTP/1.0');
    assert.equal(fromFixture('uwsgi-router-get.bin').responseProtocol, 'HTTP/1.1');
  });

  test("the router's raw chunked upload (no CONTENT_LENGTH) is read as a chunked stream", () => {
    assert.deepEqual(fromFixture('uwsgi-router-ka-chunked.bin').body, { kind: 'chunked' });
    assert.deepEqual(fromFixture('uwsgi-router-chunked.bin').body, { kind: 'chunked' });
    assert.equal('CONTENT_LENGTH' in fromFixture('uwsgi-router-ka-chunked.bin').environ, false);
  });
});

describe('the duplicate-key rule', () => {
  test('a non-HTTP key: the last value wins (uwsgi_param after include uwsgi_params overrides it)', () => {
    const e = build([...GET, ['PATH_INFO', '/a'], ['PATH_INFO', '/b'], ['SCRIPT_NAME', '/x'], ['SCRIPT_NAME', '']]).environ;
    assert.equal(e.PATH_INFO, '/b');
    assert.equal(e.SCRIPT_NAME, '');
  });

  test('HTTP_HOST and CONTENT_LENGTH: equal repeats collapse, different ones are refused', () => {
    assert.equal(build([...GET, ['HTTP_HOST', 'a'], ['HTTP_HOST', 'a']]).environ.HTTP_HOST, 'a');
    assert.equal(build([...GET, ['CONTENT_LENGTH', '5'], ['CONTENT_LENGTH', '5']]).environ.CONTENT_LENGTH, '5');
    assert.match(refused([...GET, ['HTTP_HOST', 'a'], ['HTTP_HOST', 'evil']]), /two different HTTP_HOST/);
    assert.match(refused([...GET, ['CONTENT_LENGTH', '0'], ['CONTENT_LENGTH', '35']]), /two different CONTENT_LENGTH/);
  });

  test('wire vars cannot set wsgi.*, tsgi.*, uwsgi.* or prototype keys', () => {
    const e = build([
      ...GET,
      ['wsgi.input', 'x'],
      ['wsgi.url_scheme', 'https'],
      ['tsgi.x', '1'],
      ['uwsgi.node', 'n'],
      ['__proto__', 'x'],
      ['toString', 't'],
      ['constructor', 'c'],
    ]).environ;
    assert.equal(e['wsgi.input'], EMPTY_INPUT);
    assert.equal(e['wsgi.url_scheme'], 'http');
    assert.equal(Object.hasOwn(e, 'tsgi.x'), false);
    assert.equal(Object.hasOwn(e, 'uwsgi.node'), false);
    assert.equal(Object.getPrototypeOf(e), Object.prototype);
    assert.equal(e.toString, 't');
    assert.equal(e.constructor, 'c');
  });
});

describe('what makes a packet malformed', () => {
  test('CONTENT_LENGTH must be 1 to 15 decimal digits (U12, U13)', () => {
    for (const bad of ['abc', '5abc', '-1', '+5', ' 5', '5 ', '1e3', '0x10', '18446744073709551621', '1234567890123456', '٥']) {
      assert.match(refused([...GET, ['CONTENT_LENGTH', bad]]), /CONTENT_LENGTH/, bad);
    }
    assert.deepEqual(build([...GET, ['CONTENT_LENGTH', '123456789012345']]).body, { kind: 'length', length: 123456789012345 });
    assert.deepEqual(build([...GET, ['CONTENT_LENGTH', '0']]).body, { kind: 'none' });
  });

  test('REQUEST_METHOD must be present and a token', () => {
    assert.match(refused([['PATH_INFO', '/']]), /no REQUEST_METHOD/);
    for (const bad of ['', 'G T', 'GET\r\n', 'G\u00e9T']) assert.match(refused([['REQUEST_METHOD', bad]]), /REQUEST_METHOD/, bad);
  });

  test('a transfer coding other than chunked, without CONTENT_LENGTH, cannot be framed', () => {
    assert.match(refused([...GET, ['HTTP_TRANSFER_ENCODING', 'gzip']]), /cannot be framed/);
    assert.deepEqual(build([...GET, ['HTTP_TRANSFER_ENCODING', 'gzip, Chunked']]).body, { kind: 'chunked' });
    assert.deepEqual(build([...GET, ['HTTP_TRANSFER_ENCODING', 'gzip'], ['CONTENT_LENGTH', '3']]).body, { kind: 'length', length: 3 });
  });
});

describe('defaults for what a front end leaves out', () => {
  test('a bare packet still has every key PEP 3333 requires', () => {
    const { environ: e, responseProtocol } = build(GET);
    const required: Array<keyof Environ> = ['REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL'];
    for (const k of required) assert.equal(typeof e[k], 'string', String(k));
    assert.equal(e.PATH_INFO, '');
    assert.equal(e.QUERY_STRING, '');
    assert.equal(e.SERVER_NAME, '127.0.0.1');
    assert.equal(e.SERVER_PORT, '8001');
    assert.equal(e.REMOTE_ADDR, '127.0.0.1');
    assert.equal(e.SERVER_PROTOCOL, 'HTTP/1.0');
    assert.equal(responseProtocol, 'HTTP/1.0');
  });

  test("on a Unix socket: localhost and the scheme's port; no REMOTE_ADDR", () => {
    const e = build([...GET, ['HTTPS', 'on']], {} as typeof conn).environ;
    assert.equal(e.SERVER_NAME, 'localhost');
    assert.equal(e.SERVER_PORT, '443');
    assert.equal('REMOTE_ADDR' in e, false);
  });

  test('PATH_INFO and QUERY_STRING from REQUEST_URI, percent-decoded like the HTTP door', () => {
    const e = build([...GET, ['REQUEST_URI', '/app/a%20b?q=%20']]).environ;
    assert.equal(e.PATH_INFO, '/app/a b');
    assert.equal(e.QUERY_STRING, 'q=%20');
    const mounted = build([...GET, ['REQUEST_URI', '/app/x'], ['SCRIPT_NAME', '/app']]).environ;
    assert.equal(mounted.PATH_INFO, '/x');
    const other = build([...GET, ['REQUEST_URI', '/application/x'], ['SCRIPT_NAME', '/app']]).environ;
    assert.equal(other.PATH_INFO, '/application/x', 'only a whole-segment prefix is taken off');
  });

  test('wsgi.url_scheme: UWSGI_SCHEME, then HTTPS on/1/yes, then REQUEST_SCHEME', () => {
    assert.equal(build([...GET, ['UWSGI_SCHEME', 'https']]).environ['wsgi.url_scheme'], 'https');
    assert.equal(build([...GET, ['HTTPS', 'ON']]).environ['wsgi.url_scheme'], 'https');
    assert.equal(build([...GET, ['HTTPS', 'off']]).environ['wsgi.url_scheme'], 'http');
    assert.equal(build([...GET, ['REQUEST_SCHEME', 'https']]).environ['wsgi.url_scheme'], 'https');
    assert.equal(build([...GET, ['UWSGI_SCHEME', 'http'], ['HTTPS', 'on']]).environ['wsgi.url_scheme'], 'http');
  });

  test('a REMOTE_PORT that is not a port is dropped', () => {
    assert.equal('REMOTE_PORT' in build([...GET, ['REMOTE_PORT', '99999']]).environ, false);
    assert.equal('REMOTE_PORT' in build([...GET, ['REMOTE_PORT', 'x']]).environ, false);
    assert.equal(build([...GET, ['REMOTE_PORT', '40000']]).environ.REMOTE_PORT, '40000');
  });
});

describe('the source allow-list', () => {
  test('loopback by default, IPv4 on a dual-stack socket included; Unix sockets always', () => {
    const ok = allowList();
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', undefined]) assert.equal(ok(a), true, String(a));
    for (const a of ['10.0.0.1', '192.168.1.1', '::2', '::ffff:10.0.0.1', 'garbage']) assert.equal(ok(a), false, a);
  });

  test('addresses and CIDR blocks, or everyone', () => {
    const ok = allowList(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    assert.equal(ok('10.20.30.40'), true);
    assert.equal(ok('::ffff:10.1.1.1'), true);
    assert.equal(ok('192.168.1.7'), true);
    assert.equal(ok('192.168.1.8'), false);
    assert.equal(ok('fd12::1'), true);
    assert.equal(ok('127.0.0.1'), false);
    assert.equal(allowList('*')('203.0.113.9'), true);
  });

  test('an entry that is not an address is an error at start-up', () => {
    for (const bad of ['localhost', '10.0.0.0/33', '10.0.0.0/8/1', '::1/129', '', '1.2.3']) {
      assert.throws(() => allowList([bad]), TypeError, bad);
    }
  });
});
