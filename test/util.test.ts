// wsgiref.util, ported: the vectors of CPython's test_wsgiref UtilityTests plus the derived rows
// of research/wsgi-spec.md §3.1 (each checked against CPython's own wsgiref).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WSGI_VERSION } from '../src/spec.js';
import type { FileLike, FileWrapperFactory } from '../src/spec.js';
import {
  BytesInput,
  FileWrapper,
  StringErrors,
  ValueError,
  applicationUri,
  formatDateTime,
  fromLatin1,
  guessScheme,
  isHopByHop,
  latin1,
  posixNormpath,
  quote,
  requestUri,
  setupTestingDefaults,
  shiftPathInfo,
  unquoteToLatin1,
  utf8FromNative,
} from '../src/util.js';

const bytes = (s: string): Uint8Array => latin1(s);

/** setupTestingDefaults over the given keys, as test_wsgiref's checkAppURI/checkReqURI do. */
function env(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const e = { ...extra };
  setupTestingDefaults(e);
  return e;
}

describe('guessScheme (U1)', () => {
  test('https only for HTTPS exactly yes, on or 1', () => {
    assert.equal(guessScheme({}), 'http');
    assert.equal(guessScheme({ HTTPS: 'foo' }), 'http');
    assert.equal(guessScheme({ HTTPS: 'on' }), 'https');
    assert.equal(guessScheme({ HTTPS: 'yes' }), 'https');
    assert.equal(guessScheme({ HTTPS: '1' }), 'https');
  });

  test('the comparison is case-sensitive and exact', () => {
    for (const v of ['ON', 'Yes', 'true', ' 1', 'off', '', null]) assert.equal(guessScheme({ HTTPS: v }), 'http', String(v));
  });
});

describe('quote (U3)', () => {
  test('unreserved characters and "/" stay, everything else is %XX of its latin-1 byte', () => {
    assert.equal(quote('a b/c;d=e,f~_.-\u00e4\x00\u00ff'), 'a%20b/c%3Bd%3De%2Cf~_.-%E4%00%FF');
    assert.equal(quote('AZaz09'), 'AZaz09');
    assert.equal(quote(''), '');
  });

  test('safe adds ASCII characters; non-ASCII ones in safe are ignored, as Python does', () => {
    assert.equal(quote('a b/c;d=e,f', '/;=,'), 'a%20b/c;d=e,f');
    assert.equal(quote('/x y', ''), '%2Fx%20y');
    assert.equal(quote('\u00e4', '\u00e4'), '%E4');
  });

  test('hex digits are upper-case and one escape per byte (latin-1, not UTF-8)', () => {
    assert.equal(quote('/sp\u00e4m'), '/sp%E4m');
    assert.equal(quote('\u00ab\u00bb'), '%AB%BB');
  });

  test('a character above U+00FF throws a TypeError naming it', () => {
    assert.throws(
      () => quote('/caf\u20ac'),
      (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /"€" \(U\+20AC\) in position 4/);
        return true;
      },
    );
  });
});

describe('unquoteToLatin1', () => {
  const cases: Array<[string, string]> = [
    ['%41%4a%4A', 'AJJ'],
    ['%e4', '\u00e4'],
    ['%E4%80', '\u00e4\u0080'],
    ['/%80\u0080', '/\u0080\u0080'],
    ['%', '%'],
    ['%G1', '%G1'],
    ['%4', '%4'],
    ['%%41', '%A'],
    ['a+b', 'a+b'],
    ['\u00e4%41', '\u00e4A'],
    ['/p%61th/', '/path/'],
    ['', ''],
  ];
  for (const [input, output] of cases) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(output)}`, () => assert.equal(unquoteToLatin1(input), output));
  }
});

describe('applicationUri (U2)', () => {
  test('test_wsgiref testAppURIs', () => {
    assert.equal(applicationUri(env()), 'http://127.0.0.1/');
    assert.equal(applicationUri(env({ SCRIPT_NAME: '/spam' })), 'http://127.0.0.1/spam');
    assert.equal(applicationUri(env({ SCRIPT_NAME: '/sp\u00e4m' })), 'http://127.0.0.1/sp%E4m');
    assert.equal(applicationUri(env({ HTTP_HOST: 'spam.example.com:2071', SERVER_PORT: '2071' })), 'http://spam.example.com:2071/');
    assert.equal(applicationUri(env({ SERVER_NAME: 'spam.example.com' })), 'http://spam.example.com/');
    assert.equal(applicationUri(env({ HTTP_HOST: '127.0.0.1', SERVER_NAME: 'spam.example.com' })), 'http://127.0.0.1/');
    assert.equal(applicationUri(env({ HTTPS: 'on' })), 'https://127.0.0.1/');
    // HTTP_HOST=None is present (not defaulted) but falsy, so SERVER_NAME and the port are used.
    assert.equal(applicationUri(env({ SERVER_PORT: '8000', HTTP_HOST: null })), 'http://127.0.0.1:8000/');
  });

  test('the port is added unless it is the default of the scheme (443 for https, 80 for any other)', () => {
    const base = { SERVER_NAME: 'h', SCRIPT_NAME: '' };
    assert.equal(applicationUri({ ...base, 'wsgi.url_scheme': 'https', SERVER_PORT: '443' }), 'https://h/');
    assert.equal(applicationUri({ ...base, 'wsgi.url_scheme': 'https', SERVER_PORT: '80' }), 'https://h:80/');
    assert.equal(applicationUri({ ...base, 'wsgi.url_scheme': 'http', SERVER_PORT: '443' }), 'http://h:443/');
    assert.equal(applicationUri({ ...base, 'wsgi.url_scheme': 'ftp', SERVER_PORT: '80' }), 'ftp://h/');
  });

  test('HTTP_HOST is used verbatim, port and all', () => {
    assert.equal(applicationUri({ 'wsgi.url_scheme': 'https', HTTP_HOST: 'Example.COM:443', SERVER_NAME: 'x', SERVER_PORT: '1' }), 'https://Example.COM:443/');
  });

  test('SCRIPT_NAME is quoted with only "/" safe', () => {
    assert.equal(applicationUri(env({ SCRIPT_NAME: '/a;b=c,d e' })), 'http://127.0.0.1/a%3Bb%3Dc%2Cd%20e');
  });

  test('keys wsgiref indexes directly throw when missing (KeyError there)', () => {
    assert.throws(() => applicationUri({ SERVER_NAME: 'h', SERVER_PORT: '80' }), {
      name: 'TypeError',
      message: "environ has no 'wsgi.url_scheme'",
    });
    assert.throws(() => applicationUri({ 'wsgi.url_scheme': 'http', SERVER_PORT: '80' }), /SERVER_NAME/);
    assert.throws(() => applicationUri({ 'wsgi.url_scheme': 'http', SERVER_NAME: 'h' }), /SERVER_PORT/);
    // With HTTP_HOST set, SERVER_NAME and SERVER_PORT are not needed.
    assert.equal(applicationUri({ 'wsgi.url_scheme': 'http', HTTP_HOST: 'h' }), 'http://h/');
  });
});

describe('requestUri (U4)', () => {
  test('test_wsgiref testReqURIs', () => {
    assert.equal(requestUri(env()), 'http://127.0.0.1/');
    assert.equal(requestUri(env({ SCRIPT_NAME: '/spam' })), 'http://127.0.0.1/spam');
    assert.equal(requestUri(env({ SCRIPT_NAME: '/sp\u00e4m' })), 'http://127.0.0.1/sp%E4m');
    assert.equal(requestUri(env({ SCRIPT_NAME: '/spammity', PATH_INFO: '/spam' })), 'http://127.0.0.1/spammity/spam');
    assert.equal(requestUri(env({ SCRIPT_NAME: '/spammity', PATH_INFO: '/sp\u00e4m' })), 'http://127.0.0.1/spammity/sp%E4m');
    assert.equal(requestUri(env({ SCRIPT_NAME: '/spammity', PATH_INFO: '/spam;ham' })), 'http://127.0.0.1/spammity/spam;ham');
    assert.equal(requestUri(env({ SCRIPT_NAME: '/spammity', PATH_INFO: '/spam;cookie=1234,5678' })), 'http://127.0.0.1/spammity/spam;cookie=1234,5678');
    assert.equal(requestUri(env({ SCRIPT_NAME: '/spammity', PATH_INFO: '/spam', QUERY_STRING: 'say=ni' })), 'http://127.0.0.1/spammity/spam?say=ni');
    assert.equal(requestUri(env({ SCRIPT_NAME: '/spammity', PATH_INFO: '/spam', QUERY_STRING: 's%E4y=ni' })), 'http://127.0.0.1/spammity/spam?s%E4y=ni');
    assert.equal(requestUri(env({ SCRIPT_NAME: '/spammity', PATH_INFO: '/spam', QUERY_STRING: 'say=ni' }), false), 'http://127.0.0.1/spammity/spam');
  });

  test('";", "=" and "," survive in PATH_INFO but are quoted in SCRIPT_NAME', () => {
    const e = { 'wsgi.url_scheme': 'http', SERVER_NAME: 'h', SERVER_PORT: '80' };
    assert.equal(requestUri({ ...e, SCRIPT_NAME: '/a;b=c,d', PATH_INFO: '/x;y=z,w q' }), 'http://h/a%3Bb%3Dc%2Cd/x;y=z,w%20q');
  });

  test('with an empty SCRIPT_NAME the first char of PATH_INFO is dropped, slash or not', () => {
    const e = { 'wsgi.url_scheme': 'http', SERVER_NAME: 'h', SERVER_PORT: '80', SCRIPT_NAME: '' };
    assert.equal(requestUri({ ...e, PATH_INFO: '/x' }), 'http://h/x');
    assert.equal(requestUri({ ...e, PATH_INFO: 'x' }), 'http://h/');
    assert.equal(requestUri({ ...e }), 'http://h/');
  });

  test('the query string is appended as it is, never quoted, and only when non-empty', () => {
    const e = env({ QUERY_STRING: 'a=b c&\u00e4' });
    assert.equal(requestUri(e), 'http://127.0.0.1/?a=b c&\u00e4');
    assert.equal(requestUri(env({ QUERY_STRING: '' })), 'http://127.0.0.1/');
  });
});

describe('shiftPathInfo (U5, U6)', () => {
  // [SCRIPT_NAME, PATH_INFO, returned, new SCRIPT_NAME, new PATH_INFO]
  const table: Array<[string, string, string | null, string, string]> = [
    // test_wsgiref testSimpleShifts
    ['', '/', '', '/', ''],
    ['', '/x', 'x', '/x', ''],
    ['/', '', null, '/', ''],
    ['/a', '/x/y', 'x', '/a/x', '/y'],
    ['/a', '/x/', 'x', '/a/x', '/'],
    // test_wsgiref testNormalizedShifts
    ['/a/b', '/../y', '..', '/a', '/y'],
    ['', '/../y', '..', '', '/y'],
    ['/a/b', '//y', 'y', '/a/b/y', ''],
    ['/a/b', '//y/', 'y', '/a/b/y', '/'],
    ['/a/b', '/./y', 'y', '/a/b/y', ''],
    ['/a/b', '/./y/', 'y', '/a/b/y', '/'],
    ['/a/b', '///./..//y/.//', '..', '/a', '/y/'],
    ['/a/b', '///', '', '/a/b/', ''],
    ['/a/b', '/.//', '', '/a/b/', ''],
    ['/a/b', '/x//', 'x', '/a/b/x', '/'],
    ['/a/b', '/.', null, '/a/b', ''],
    // derived (research §3.1 U6), checked against CPython
    ['/a', '/x/../y', 'x', '/a/x', '/../y'],
    ['/', '/x', 'x', '//x', ''],
    // more, checked against CPython 3.11
    ['/', '/', '', '/', ''],
    ['//', '/x', 'x', '/x', ''],
    ['/a/', '/b', 'b', '/a/b', ''],
    ['/a', '/..', '..', '', ''],
    ['', '/../../x', '..', '', '/../x'],
    ['/a', '/x/./y/', 'x', '/a/x', '/y/'],
  ];
  for (const [sn, pi, part, snOut, piOut] of table) {
    test(`${JSON.stringify(sn)} + ${JSON.stringify(pi)} → ${JSON.stringify(part)}, ${JSON.stringify(snOut)}, ${JSON.stringify(piOut)}`, () => {
      // As test_wsgiref's checkShift: through setupTestingDefaults first.
      const e = env({ SCRIPT_NAME: sn, PATH_INFO: pi });
      assert.equal(shiftPathInfo(e), part);
      assert.equal(e['SCRIPT_NAME'], snOut);
      assert.equal(e['PATH_INFO'], piOut);
    });
  }

  test('an empty or missing PATH_INFO returns null and changes nothing', () => {
    const e: Record<string, unknown> = { SCRIPT_NAME: '/a/b/' };
    assert.equal(shiftPathInfo(e), null);
    assert.deepEqual(e, { SCRIPT_NAME: '/a/b/' });
    const f: Record<string, unknown> = { SCRIPT_NAME: '/a', PATH_INFO: '' };
    assert.equal(shiftPathInfo(f), null);
    assert.deepEqual(f, { SCRIPT_NAME: '/a', PATH_INFO: '' });
  });

  test('a PATH_INFO without a leading slash throws (IndexError in wsgiref)', () => {
    const e: Record<string, unknown> = { SCRIPT_NAME: '', PATH_INFO: 'x' };
    assert.throws(() => shiftPathInfo(e), RangeError);
    assert.deepEqual(e, { SCRIPT_NAME: '', PATH_INFO: 'x' });
  });

  test('shifting repeatedly walks the path, then returns null', () => {
    const e: Record<string, unknown> = { SCRIPT_NAME: '', PATH_INFO: '/a/b/' };
    assert.equal(shiftPathInfo(e), 'a');
    assert.equal(shiftPathInfo(e), 'b');
    assert.equal(shiftPathInfo(e), '');
    assert.deepEqual(e, { SCRIPT_NAME: '/a/b/', PATH_INFO: '' });
    assert.equal(shiftPathInfo(e), null);
  });
});

describe('posixNormpath', () => {
  // Every expectation is CPython's posixpath.normpath.
  const cases: Array<[string, string]> = [
    ['', '.'],
    ['.', '.'],
    ['/', '/'],
    ['//', '//'],
    ['///', '/'],
    ['//x', '//x'],
    ['///x', '/x'],
    ['a/../..', '..'],
    ['/..', '/'],
    ['/../..', '/'],
    ['a/./b/', 'a/b'],
    ['../x', '../x'],
    ['a//b', 'a/b'],
    ['./', '.'],
    ['a/..', '.'],
    ['//a/../b', '//b'],
  ];
  for (const [input, output] of cases) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(output)}`, () => assert.equal(posixNormpath(input), output));
  }
});

describe('setupTestingDefaults (U7)', () => {
  // test_wsgiref testDefaults, with the TypeScript stand-ins for Python's ints and streams.
  const defaults: Array<[string, unknown]> = [
    ['SERVER_NAME', '127.0.0.1'],
    ['SERVER_PORT', '80'],
    ['SERVER_PROTOCOL', 'HTTP/1.0'],
    ['HTTP_HOST', '127.0.0.1'],
    ['REQUEST_METHOD', 'GET'],
    ['SCRIPT_NAME', ''],
    ['PATH_INFO', '/'],
    ['wsgi.version', [1, 0]],
    ['wsgi.run_once', false],
    ['wsgi.multithread', false],
    ['wsgi.multiprocess', false],
    ['wsgi.url_scheme', 'http'],
  ];
  for (const [key, value] of defaults) {
    test(`${key} defaults to ${JSON.stringify(value)} and an existing value is kept`, () => {
      assert.deepEqual(env()[key], value);
      const alt = { marker: key };
      assert.equal(env({ [key]: alt })[key], alt);
    });
  }

  test('wsgi.input is an empty BytesInput and wsgi.errors a StringErrors; existing ones are kept', async () => {
    const e = env();
    assert.ok(e['wsgi.input'] instanceof BytesInput);
    assert.deepEqual(await (e['wsgi.input'] as BytesInput).read(), new Uint8Array(0));
    assert.ok(e['wsgi.errors'] instanceof StringErrors);
    const input = new BytesInput(bytes('x'));
    const errors = new StringErrors();
    const f = env({ 'wsgi.input': input, 'wsgi.errors': errors });
    assert.equal(f['wsgi.input'], input);
    assert.equal(f['wsgi.errors'], errors);
  });

  test('wsgi.version is the frozen [1, 0] of spec.ts', () => {
    assert.equal(env()['wsgi.version'], WSGI_VERSION);
    assert.ok(Object.isFrozen(env()['wsgi.version']));
  });

  test("keys are added in wsgiref's order", () => {
    assert.deepEqual(Object.keys(env()), [
      'SERVER_NAME',
      'SERVER_PROTOCOL',
      'HTTP_HOST',
      'REQUEST_METHOD',
      'SCRIPT_NAME',
      'PATH_INFO',
      'wsgi.version',
      'wsgi.run_once',
      'wsgi.multithread',
      'wsgi.multiprocess',
      'wsgi.input',
      'wsgi.errors',
      'wsgi.url_scheme',
      'SERVER_PORT',
    ]);
  });

  test('test_wsgiref testCrossDefaults', () => {
    assert.equal(env({ SERVER_NAME: 'foo.bar' })['HTTP_HOST'], 'foo.bar');
    assert.equal(env({ HTTPS: 'on' })['wsgi.url_scheme'], 'https');
    assert.equal(env({ HTTPS: '1' })['wsgi.url_scheme'], 'https');
    assert.equal(env({ HTTPS: 'yes' })['wsgi.url_scheme'], 'https');
    assert.equal(env({ HTTPS: 'foo' })['wsgi.url_scheme'], 'http');
    assert.equal(env({ HTTPS: 'foo' })['SERVER_PORT'], '80');
    assert.equal(env({ HTTPS: 'on' })['SERVER_PORT'], '443');
  });

  test('SCRIPT_NAME and PATH_INFO are defaulted only when both are missing', () => {
    const onlyScript = env({ SCRIPT_NAME: '/app' });
    assert.equal(onlyScript['SCRIPT_NAME'], '/app');
    assert.ok(!('PATH_INFO' in onlyScript));
    const onlyPath = env({ PATH_INFO: '/x' });
    assert.equal(onlyPath['PATH_INFO'], '/x');
    assert.ok(!('SCRIPT_NAME' in onlyPath));
  });

  test('an explicit url scheme wins over HTTPS; other schemes get no SERVER_PORT', () => {
    assert.equal(env({ HTTPS: 'on', 'wsgi.url_scheme': 'http' })['SERVER_PORT'], '80');
    const ftp = env({ 'wsgi.url_scheme': 'ftp' });
    assert.ok(!('SERVER_PORT' in ftp));
    assert.equal(env({ HTTPS: 'on', SERVER_PORT: '8443' })['SERVER_PORT'], '8443');
  });

  test('it sets no QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH or wsgi.file_wrapper', () => {
    const e = env();
    for (const key of ['QUERY_STRING', 'CONTENT_TYPE', 'CONTENT_LENGTH', 'wsgi.file_wrapper', 'HTTPS']) {
      assert.ok(!(key in e), key);
    }
  });

  test('null counts as present (Python None), undefined as absent', () => {
    const e = env({ HTTP_HOST: null, REQUEST_METHOD: undefined });
    assert.equal(e['HTTP_HOST'], null);
    assert.equal(e['REQUEST_METHOD'], 'GET');
  });

  test('only own properties count, not what the prototype chain has', () => {
    const e = Object.create({ SERVER_NAME: 'inherited' }) as Record<string, unknown>;
    setupTestingDefaults(e);
    assert.ok(Object.hasOwn(e, 'SERVER_NAME'));
    assert.equal(e['SERVER_NAME'], '127.0.0.1');
  });
});

describe('isHopByHop (U8)', () => {
  const variants = (name: string): string[] => [
    name,
    name.replace(/\w+/g, (w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()), // str.title()
    name.toUpperCase(),
    name.toLowerCase(),
  ];

  test('the RFC 2616 hop-by-hop headers, in any case', () => {
    for (const hop of 'Connection Keep-Alive Proxy-Authenticate Proxy-Authorization TE Trailers Transfer-Encoding Upgrade'.split(' ')) {
      for (const alt of variants(hop)) assert.equal(isHopByHop(alt), true, alt);
    }
  });

  test('end-to-end headers, Trailer (singular) included', () => {
    for (const name of 'Accept Cache-Control Date Pragma Trailer Via Warning'.split(' ')) {
      for (const alt of variants(name)) assert.equal(isHopByHop(alt), false, alt);
    }
    assert.equal(isHopByHop(''), false);
    assert.equal(isHopByHop('Connection '), false);
  });
});

/** An in-memory file-like object that records its reads and whether it was closed (Python's StringIO). */
class MemoryFile implements FileLike {
  closed = false;
  readonly sizes: number[] = [];
  private pos = 0;

  constructor(private readonly data: Uint8Array) {}

  read(size: number): Uint8Array | Promise<Uint8Array> {
    return this.readNow(size);
  }

  protected readNow(size: number): Uint8Array {
    this.sizes.push(size);
    const chunk = this.data.slice(this.pos, size < 0 ? undefined : this.pos + size);
    this.pos += chunk.length;
    return chunk;
  }

  close(): void {
    this.closed = true;
  }
}

/** The same, with a read() that resolves later. */
class AsyncMemoryFile extends MemoryFile {
  override read(size: number): Promise<Uint8Array> {
    return new Promise((resolve) => setImmediate(() => resolve(this.readNow(size))));
  }
}

describe('FileWrapper (U9, T12)', () => {
  const xyz = (n: number): Uint8Array => bytes('xyz'.repeat(n));

  test('test_wsgiref testFileWrapper: "xyz"*50 in blocks of 120, file left open until close()', () => {
    const make = () => FileWrapper(new MemoryFile(xyz(50)), 120);
    const it = make();
    assert.equal(it[Symbol.iterator](), it); // iter(it) is it
    assert.deepEqual(it.next(), { done: false, value: xyz(40) });
    assert.deepEqual(it.next(), { done: false, value: xyz(10) });
    assert.equal(it.next().done, true);

    const again = make();
    const file = again.filelike as MemoryFile;
    assert.equal(file.closed, false);
    assert.deepEqual([...again], [xyz(40), xyz(10)]);
    assert.equal(file.closed, false);
    again.close();
    assert.equal(file.closed, true);
  });

  test('async iteration awaits a read() that returns a Promise', async () => {
    const file = new AsyncMemoryFile(xyz(50));
    const w = FileWrapper(file, 120);
    const chunks: Uint8Array[] = [];
    for await (const chunk of w) chunks.push(chunk);
    assert.deepEqual(chunks, [xyz(40), xyz(10)]);
    assert.deepEqual(file.sizes, [120, 120, 120]);
    assert.equal(file.closed, false);
  });

  test('async iteration also takes a synchronous read()', async () => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of FileWrapper(new MemoryFile(xyz(3)), 4)) chunks.push(chunk);
    assert.deepEqual(chunks, [bytes('xyzx'), bytes('yzxy'), bytes('z')]);
  });

  test('sync iteration of a Promise-returning read() throws a TypeError pointing to for await', () => {
    assert.throws(() => [...FileWrapper(new AsyncMemoryFile(xyz(1)))], {
      name: 'TypeError',
      message: /for await/,
    });
  });

  test('works with and without new, and instanceof recognises both', () => {
    const file = new MemoryFile(xyz(1));
    const called = FileWrapper(file);
    const constructed = new FileWrapper(file);
    assert.ok(called instanceof FileWrapper);
    assert.ok(constructed instanceof FileWrapper);
    assert.equal(called.filelike, file);
    assert.equal(constructed.filelike, file);
    assert.ok(!({} instanceof FileWrapper));
  });

  test('prints as its name, not its source (an environ dump prints it on every request)', () => {
    assert.equal(String(FileWrapper), '[Function: FileWrapper]');
    assert.equal(`${FileWrapper}`, '[Function: FileWrapper]');
  });

  test('is a wsgi.file_wrapper factory, as an application calls it', () => {
    const factory: FileWrapperFactory = FileWrapper;
    const body = factory(new MemoryFile(xyz(2)), 3);
    assert.deepEqual([...(body as Iterable<Uint8Array>)], [xyz(1), xyz(1)]);
  });

  test('the block size defaults to 8192; blksize and blockSize are the same setting', () => {
    const file = new MemoryFile(xyz(1));
    const w = FileWrapper(file);
    assert.equal(w.blksize, 8192);
    assert.equal(w.blockSize, 8192);
    [...w];
    assert.deepEqual(file.sizes, [8192, 8192]);
    w.blockSize = 2;
    assert.equal(w.blksize, 2);
    w.blksize = 5;
    assert.equal(w.blockSize, 5);
  });

  test('an empty file yields nothing; iteration stops at the first empty read', () => {
    const file = new MemoryFile(new Uint8Array(0));
    assert.deepEqual([...FileWrapper(file)], []);
    assert.deepEqual(file.sizes, [8192]);
  });

  test('close() returns what filelike.close() returns, and is a no-op without it', async () => {
    let closed = false;
    const file: FileLike = {
      read: () => new Uint8Array(0),
      close: async () => {
        closed = true;
      },
    };
    const result = FileWrapper(file).close();
    assert.ok(result instanceof Promise);
    await result;
    assert.equal(closed, true);
    assert.equal(FileWrapper({ read: () => new Uint8Array(0) }).close(), undefined);
  });

  test('close() calls filelike.close with the file as this (a bound method in wsgiref)', () => {
    const file = new MemoryFile(xyz(1));
    FileWrapper(file).close();
    assert.equal(file.closed, true);
  });

  test('keeps fd reachable for servers that send the file themselves', () => {
    const file: FileLike = { read: () => new Uint8Array(0), fd: 7 };
    assert.equal(FileWrapper(file).filelike.fd, 7);
  });
});

describe('formatDateTime', () => {
  test('RFC 7231 IMF-fixdate in GMT', () => {
    assert.equal(formatDateTime(1149533394), 'Mon, 05 Jun 2006 18:49:54 GMT');
    assert.equal(formatDateTime(0), 'Thu, 01 Jan 1970 00:00:00 GMT');
    assert.equal(formatDateTime(1709251199), 'Thu, 29 Feb 2024 23:59:59 GMT');
  });

  test('fractions of a second are floored, as time.gmtime does', () => {
    assert.equal(formatDateTime(1149533394.9), 'Mon, 05 Jun 2006 18:49:54 GMT');
    assert.equal(formatDateTime(-0.5), 'Wed, 31 Dec 1969 23:59:59 GMT');
    assert.equal(formatDateTime(-1), 'Wed, 31 Dec 1969 23:59:59 GMT');
  });

  test('the year is space-padded like Python %4d', () => {
    assert.equal(formatDateTime(-30636384833), 'Mon, 04 Mar  999 05:06:07 GMT');
  });

  test('a timestamp that is not a date throws a RangeError', () => {
    assert.throws(() => formatDateTime(Number.NaN), RangeError);
    assert.throws(() => formatDateTime(1e20), RangeError);
  });
});

describe('latin1 / fromLatin1 / utf8FromNative', () => {
  test('every char U+0000–U+00FF is one byte, and back', () => {
    let all = '';
    for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
    const b = latin1(all);
    assert.equal(b.length, 256);
    for (let i = 0; i < 256; i++) assert.equal(b[i], i);
    assert.equal(fromLatin1(b), all);
  });

  test('latin1 throws a TypeError naming a char above U+00FF instead of truncating it', () => {
    assert.throws(
      () => latin1('ab\u0100'),
      (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /"Ā" \(U\+0100\) in position 2/);
        return true;
      },
    );
    assert.throws(() => latin1('\ud83d\ude00'), /U\+D83D/); // a lone surrogate half is not latin-1 either
  });

  test('fromLatin1 handles long inputs', () => {
    const big = new Uint8Array(100_000).map((_, i) => i % 256);
    const s = fromLatin1(big);
    assert.equal(s.length, 100_000);
    assert.equal(s.charCodeAt(99_999), 99_999 % 256);
    assert.deepEqual(latin1(s), big);
  });

  test('utf8FromNative decodes the bytes a native string stands for as UTF-8', () => {
    // "/café" sent as UTF-8 arrives in PATH_INFO as "/cafÃ©".
    assert.equal(utf8FromNative('/caf\u00c3\u00a9'), '/caf\u00e9');
    assert.equal(utf8FromNative('ascii'), 'ascii');
    assert.equal(utf8FromNative('\u00ff'), '\ufffd');
    assert.throws(() => utf8FromNative('\u00ff', true), TypeError);
  });
});

describe('BytesInput', () => {
  const lines = () => new BytesInput(bytes('one\ntwo\n\nthree'));

  test('read() with no size, null or a negative size reads the rest', async () => {
    for (const size of [undefined, null, -1]) {
      const input = lines();
      assert.deepEqual(await input.read(2), bytes('on'));
      assert.deepEqual(await input.read(size), bytes('e\ntwo\n\nthree'));
      assert.deepEqual(await input.read(size), new Uint8Array(0));
    }
  });

  test('read(n) returns n bytes, fewer only at the end; read(0) is empty', async () => {
    const input = lines();
    assert.deepEqual(await input.read(0), new Uint8Array(0));
    assert.deepEqual(await input.read(5), bytes('one\nt'));
    assert.deepEqual(await input.read(100), bytes('wo\n\nthree'));
    assert.deepEqual(await input.read(1), new Uint8Array(0));
  });

  test('readline() returns lines with their \\n, the last without, then empty', async () => {
    const input = lines();
    assert.deepEqual(await input.readline(), bytes('one\n'));
    assert.deepEqual(await input.readline(), bytes('two\n'));
    assert.deepEqual(await input.readline(), bytes('\n'));
    assert.deepEqual(await input.readline(), bytes('three'));
    assert.deepEqual(await input.readline(), new Uint8Array(0));
  });

  test('readline(size) stops at size bytes, and the rest of the line follows', async () => {
    const input = lines();
    assert.deepEqual(await input.readline(2), bytes('on'));
    assert.deepEqual(await input.readline(10), bytes('e\n'));
    assert.deepEqual(await input.readline(0), new Uint8Array(0));
    assert.deepEqual(await input.readline(-1), bytes('two\n'));
  });

  test('readlines() returns every remaining line; with a hint it stops once hint bytes were read', async () => {
    assert.deepEqual(await lines().readlines(), [bytes('one\n'), bytes('two\n'), bytes('\n'), bytes('three')]);
    assert.deepEqual(await lines().readlines(0), [bytes('one\n'), bytes('two\n'), bytes('\n'), bytes('three')]);
    assert.deepEqual(await lines().readlines(4), [bytes('one\n')]);
    assert.deepEqual(await lines().readlines(5), [bytes('one\n'), bytes('two\n')]);
    const input = lines();
    await input.readlines(1);
    assert.deepEqual(await input.read(), bytes('two\n\nthree'));
  });

  test('async iteration yields the lines', async () => {
    const seen: string[] = [];
    for await (const line of lines()) seen.push(fromLatin1(line));
    assert.deepEqual(seen, ['one\n', 'two\n', '\n', 'three']);
  });

  test('reads return copies: changing one changes neither the data nor later reads', async () => {
    const data = bytes('abc');
    const input = new BytesInput(data);
    const got = await input.read(1);
    got[0] = 0x7a;
    assert.equal(data[0], 0x61);
    const rest = new BytesInput(data);
    assert.deepEqual(await rest.read(), bytes('abc'));
  });

  test('an empty BytesInput is at its end at once', async () => {
    const input = new BytesInput();
    assert.deepEqual(await input.read(), new Uint8Array(0));
    assert.deepEqual(await input.readline(), new Uint8Array(0));
    assert.deepEqual(await input.readlines(), []);
  });

  test('a size that is not an integer is a TypeError, as in Python', async () => {
    await assert.rejects(lines().read(1.5), TypeError);
    await assert.rejects(lines().readline(Number.NaN), TypeError);
    await assert.rejects(lines().readlines(0.5), TypeError);
  });
});

describe('StringErrors', () => {
  test('collects write() and writelines() text; flush() does nothing', () => {
    const errors = new StringErrors();
    assert.equal(errors.getvalue(), '');
    errors.write('one\n');
    errors.writelines(['two', '\n', 'thr\u00e9e\n']);
    errors.flush();
    assert.equal(errors.getvalue(), 'one\ntwo\nthr\u00e9e\n');
  });

  test('refuses non-string text', () => {
    assert.throws(() => new StringErrors().write(new Uint8Array(1) as unknown as string), TypeError);
  });
});

describe('ValueError', () => {
  test('is an Error named ValueError', () => {
    const err = new ValueError('bad');
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'ValueError');
    assert.equal(err.message, 'bad');
    assert.equal(String(err), 'ValueError: bad');
  });
});
