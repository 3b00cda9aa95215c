// staticFiles() / staticApp(): validators, conditional GET, ranges, precompressed siblings, immutable
// caching, wsgi.file_wrapper, and every traversal refusal; in-process and over a real server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { compose, mount } from '../../src/compose.js';
import { compress } from '../../src/middleware/compress.js';
import { parseRange, safeJoin, staticApp, staticFiles, type StaticOptions } from '../../src/middleware/static.js';
import type { Application, FileLike } from '../../src/spec.js';
import { FileWrapper, formatDateTime } from '../../src/util.js';
import { request, type RequestOptions } from '../../src/testing/index.js';
import { rawRequest } from '../helpers/net.js';
import { httpRequest, withServer } from './support.js';

let base: string;
let root: string;
const BIG = randomBytes(300_000);
const TEXT = 'hello static world\n'.repeat(50);
const PLAIN = TEXT.repeat(4); // above compress()'s 1 KiB threshold
const MTIME = new Date('2024-01-02T03:04:05Z');

before(() => {
  base = mkdtempSync(path.join(tmpdir(), 'tsgi-static-'));
  root = path.join(base, 'public');
  mkdirSync(root);
  mkdirSync(path.join(root, 'sub'));
  mkdirSync(path.join(root, 'empty-dir'));
  mkdirSync(path.join(root, '.well-known'));
  writeFileSync(path.join(base, 'secret.txt'), 'top secret');
  writeFileSync(path.join(root, 'index.html'), '<h1>home</h1>');
  writeFileSync(path.join(root, 'sub', 'index.html'), '<h1>sub</h1>');
  writeFileSync(path.join(root, 'text.txt'), TEXT);
  writeFileSync(path.join(root, 'plain.txt'), PLAIN);
  writeFileSync(path.join(root, 'text.txt.gz'), gzipSync(TEXT));
  writeFileSync(path.join(root, 'text.txt.br'), brotliCompressSync(TEXT));
  writeFileSync(path.join(root, 'only-gz.css'), 'body{}');
  writeFileSync(path.join(root, 'only-gz.css.gz'), gzipSync('body{}'));
  writeFileSync(path.join(root, 'big.bin'), BIG);
  writeFileSync(path.join(root, 'app.3f9a1c2b.js'), 'console.log(1)');
  writeFileSync(path.join(root, 'index-BQ2b4Oa3.css'), 'a{}');
  writeFileSync(path.join(root, 'empty.txt'), '');
  writeFileSync(path.join(root, 'café.txt'), 'unicode name');
  writeFileSync(path.join(root, '.env'), 'SECRET=1');
  writeFileSync(path.join(root, '.well-known', 'security.txt'), 'Contact: x');
  symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'escape.txt'));
  symlinkSync(base, path.join(root, 'escape-dir'));
  symlinkSync(path.join(root, 'text.txt'), path.join(root, 'alias.txt'));
  for (const f of ['text.txt', 'text.txt.gz', 'text.txt.br', 'big.bin']) utimesSync(path.join(root, f), MTIME, MTIME);
});

after(() => rmSync(base, { recursive: true, force: true }));

/** The fallback app behind the middleware: says it was reached. */
const fallback: Application = (environ, start) => {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [`app ${environ.REQUEST_METHOD} ${environ.PATH_INFO}`];
};

const files = (options?: StaticOptions) => compose(fallback, staticFiles(root, options));
const get = (p: string, options?: RequestOptions, opts?: StaticOptions) => request(files(opts), p, options);

describe('static files: serving', () => {
  it('serves a file with its validators and type', async () => {
    const res = await get('/text.txt');
    assert.equal(res.statusCode, 200);
    assert.equal(res.text, TEXT);
    assert.equal(res.header('Content-Type'), 'text/plain; charset=utf-8');
    assert.equal(res.header('Content-Length'), String(TEXT.length));
    assert.equal(res.header('Last-Modified'), formatDateTime(MTIME.getTime() / 1000));
    assert.match(res.header('ETag')!, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(res.header('Cache-Control'), 'public, max-age=0');
    assert.equal(res.header('Accept-Ranges'), 'bytes');
    assert.equal(res.header('Vary'), 'Accept-Encoding');
    assert.equal(res.header('X-Content-Type-Options'), 'nosniff');
  });

  it('streams a large file in blocks through wsgi.file_wrapper', async () => {
    const res = await get('/big.bin');
    assert.equal(res.header('Content-Type'), 'application/octet-stream');
    assert.ok(Buffer.from(res.body).equals(BIG));
    assert.ok(res.chunks.length >= 4, `several blocks (${res.chunks.length})`);
    assert.ok(res.chunks.every((c) => c.length <= 65536));
  });

  it("uses the server's wsgi.file_wrapper with a file-like that has fd, offset and length", async () => {
    const seen: Array<FileLike & { offset?: number; length?: number }> = [];
    const wrapper = (filelike: FileLike, blockSize?: number) => {
      seen.push(filelike);
      return FileWrapper(filelike, blockSize);
    };
    const res = await get('/big.bin', { headers: { Range: 'bytes=100-199' }, environ: { 'wsgi.file_wrapper': wrapper } });
    assert.equal(res.statusCode, 206);
    assert.equal(seen.length, 1);
    assert.equal(typeof seen[0]!.fd, 'number');
    assert.equal(seen[0]!.offset, 100);
    assert.equal(seen[0]!.length, 100);
    assert.ok(Buffer.from(res.body).equals(BIG.subarray(100, 200)));
  });

  it('answers HEAD with the headers only', async () => {
    const res = await get('/text.txt', { method: 'HEAD' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.header('Content-Length'), String(TEXT.length));
    assert.equal(res.body.length, 0);
  });

  it('serves index.html for directories, redirecting to the trailing slash first', async () => {
    assert.equal((await get('/')).text, '<h1>home</h1>');
    const redirect = await get('/sub', { query: 'a=1' });
    assert.equal(redirect.statusCode, 301);
    assert.equal(redirect.header('Location'), 'sub/?a=1');
    const sub = await get('/sub/');
    assert.equal(sub.text, '<h1>sub</h1>');
    assert.equal(sub.header('Content-Type'), 'text/html; charset=utf-8');
    assert.equal((await get('/empty-dir/')).text, 'app GET /empty-dir/', 'no index: the app answers');
    assert.equal((await get('/sub/', {}, { index: false })).text, 'app GET /sub/');
  });

  it('serves empty files, UTF-8 names, and links that stay inside the root', async () => {
    const empty = await get('/empty.txt');
    assert.equal(empty.statusCode, 200);
    assert.equal(empty.header('Content-Length'), '0');
    assert.equal((await get('/caf%C3%A9.txt')).text, 'unicode name');
    assert.equal((await get('/alias.txt')).text, TEXT);
  });

  it('passes other methods, missing files and paths outside the prefix to the application', async () => {
    assert.equal((await get('/text.txt', { method: 'POST', body: 'x' })).text, 'app POST /text.txt');
    assert.equal((await get('/missing.txt')).text, 'app GET /missing.txt');
    const prefixed = (p: string) => get(p, {}, { prefix: '/static' });
    assert.equal((await prefixed('/static/text.txt')).text, TEXT);
    assert.equal((await prefixed('/text.txt')).text, 'app GET /text.txt');
    assert.equal((await prefixed('/staticx/text.txt')).text, 'app GET /staticx/text.txt');
  });

  it('works as an application: 404 and 405 of its own, and mounted', async () => {
    const app = mount({ '/assets': staticApp(root) });
    assert.equal((await request(app, '/assets/text.txt')).text, TEXT);
    const missing = await request(app, '/assets/nope');
    assert.equal(missing.statusCode, 404);
    const post = await request(app, '/assets/text.txt', { method: 'DELETE' });
    assert.equal(post.statusCode, 405);
    assert.equal(post.header('Allow'), 'GET, HEAD');
    const redirect = await request(app, '/assets/sub');
    assert.equal(redirect.header('Location'), 'sub/', 'relative, so it holds under the mount point');
    const mountPoint = await request(app, '/assets', { query: 'v=1' });
    assert.equal(mountPoint.statusCode, 301, 'the mount point itself, PATH_INFO empty');
    assert.equal(mountPoint.header('Location'), 'assets/?v=1');
    assert.equal((await request(app, '/assets/')).text, '<h1>home</h1>');
    const prefixRoot = await get('/static', {}, { prefix: '/static' });
    assert.equal(prefixRoot.header('Location'), 'static/');
    assert.equal((await get('/static/', {}, { prefix: '/static' })).text, '<h1>home</h1>');
  });

  it('refuses a root that does not exist, at startup', () => {
    assert.throws(() => staticFiles(path.join(base, 'nope')), /does not exist/);
    assert.throws(() => staticFiles(path.join(root, 'text.txt')), /not a directory/);
  });

  it('adds extra headers and content types', async () => {
    const res = await get('/text.txt', {}, { headers: [['Cross-Origin-Resource-Policy', 'same-origin']], types: { '.txt': 'text/x-custom' } });
    assert.equal(res.header('Cross-Origin-Resource-Policy'), 'same-origin');
    assert.equal(res.header('Content-Type'), 'text/x-custom');
  });
});

describe('static files: traversal and refusals', () => {
  const refused = [
    ['dot-dot', '/../secret.txt'],
    ['encoded dot-dot', '/%2e%2e/secret.txt'],
    ['mixed encoded dots', '/sub/.%2E/.%2e/secret.txt'],
    ['a dot segment', '/./text.txt'],
    ['NUL', '/text.txt%00.html'],
    ['backslash', '/sub\\..\\..\\secret.txt'],
    ['encoded backslash', '/sub%5c..%5c..%5csecret.txt'],
    ['a symlink out of the root', '/escape.txt'],
    ['a path through a symlinked directory out of the root', '/escape-dir/secret.txt'],
    ['a dotfile', '/.env'],
    ['invalid UTF-8', '/%ff.txt'],
  ];
  for (const [name, p] of refused) {
    it(`refuses ${name}: ${p}`, async () => {
      const res = await get(p!);
      assert.match(res.text, /^app GET /, 'falls through to the application');
      assert.doesNotMatch(res.text, /top secret|SECRET=1/);
      const alone = await request(staticApp(root), p!);
      assert.equal(alone.statusCode, 404);
    });
  }

  it('serves .well-known and, when allowed, dotfiles', async () => {
    assert.equal((await get('/.well-known/security.txt')).text, 'Contact: x');
    assert.equal((await get('/.env', {}, { dotfiles: true })).text, 'SECRET=1');
  });

  it('joins safely', () => {
    assert.equal(safeJoin('/srv', '/a/b'), path.join('/srv', 'a', 'b'));
    assert.equal(safeJoin('/srv', '/'), '/srv');
    assert.equal(safeJoin('/srv', '/a/../b'), null);
    assert.equal(safeJoin('/srv', '/a\0'), null);
    assert.equal(safeJoin('/srv', '/a\\b'), null);
    assert.equal(safeJoin('/srv', '/\u0100'), null, 'not a native string');
  });
});

describe('static files: conditional requests', () => {
  it('answers 304 to a matching If-None-Match (weak comparison, lists, *)', async () => {
    const { header } = await get('/text.txt');
    const etag = header('ETag')!;
    for (const value of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await get('/text.txt', { headers: { 'If-None-Match': value } });
      assert.equal(res.statusCode, 304, value);
      assert.equal(res.body.length, 0);
      assert.equal(res.header('ETag'), etag);
      assert.equal(res.header('Cache-Control'), 'public, max-age=0');
      assert.equal(res.header('Content-Length'), undefined);
    }
    assert.equal((await get('/text.txt', { headers: { 'If-None-Match': '"other"' } })).statusCode, 200);
  });

  it('answers 304 to If-Modified-Since, unless If-None-Match is there and differs', async () => {
    const later = new Date(MTIME.getTime() + 1000).toUTCString();
    const earlier = new Date(MTIME.getTime() - 1000).toUTCString();
    assert.equal((await get('/text.txt', { headers: { 'If-Modified-Since': MTIME.toUTCString() } })).statusCode, 304);
    assert.equal((await get('/text.txt', { headers: { 'If-Modified-Since': later } })).statusCode, 304);
    assert.equal((await get('/text.txt', { headers: { 'If-Modified-Since': earlier } })).statusCode, 200);
    assert.equal((await get('/text.txt', { headers: { 'If-Modified-Since': 'garbage' } })).statusCode, 200);
    const both = await get('/text.txt', { headers: { 'If-Modified-Since': later, 'If-None-Match': '"other"' } });
    assert.equal(both.statusCode, 200, 'If-None-Match decides when present');
  });

  it('answers 412 when If-Match or If-Unmodified-Since fails', async () => {
    const etag = (await get('/text.txt')).header('ETag')!;
    assert.equal((await get('/text.txt', { headers: { 'If-Match': '"nope"' } })).statusCode, 412);
    assert.equal((await get('/text.txt', { headers: { 'If-Match': `W/${etag}` } })).statusCode, 412, 'strong comparison');
    assert.equal((await get('/text.txt', { headers: { 'If-Match': etag } })).statusCode, 200);
    assert.equal((await get('/text.txt', { headers: { 'If-Match': '*' } })).statusCode, 200);
    const earlier = new Date(MTIME.getTime() - 1000).toUTCString();
    assert.equal((await get('/text.txt', { headers: { 'If-Unmodified-Since': earlier } })).statusCode, 412);
    assert.equal((await get('/text.txt', { headers: { 'If-Unmodified-Since': MTIME.toUTCString() } })).statusCode, 200);
  });

  it('makes content ETags with etag: "hash", and none with etag: false', async () => {
    const a = await get('/text.txt', {}, { etag: 'hash' });
    assert.match(a.header('ETag')!, /^"[A-Za-z0-9_-]{27}"$/);
    const fresh = await get('/text.txt', { headers: { 'If-None-Match': a.header('ETag')! } }, { etag: 'hash' });
    assert.equal(fresh.statusCode, 304);
    const none = await get('/text.txt', {}, { etag: false });
    assert.equal(none.header('ETag'), undefined);
    assert.ok(none.header('Last-Modified'));
  });
});

describe('static files: ranges', () => {
  const range = (value: string, extra: Record<string, string> = {}) => get('/big.bin', { headers: { Range: value, ...extra } });

  it('serves a single range as 206', async () => {
    const res = await range('bytes=0-9');
    assert.equal(res.statusCode, 206);
    assert.equal(res.header('Content-Range'), `bytes 0-9/${BIG.length}`);
    assert.equal(res.header('Content-Length'), '10');
    assert.ok(Buffer.from(res.body).equals(BIG.subarray(0, 10)));
    const suffix = await range('bytes=-5');
    assert.ok(Buffer.from(suffix.body).equals(BIG.subarray(BIG.length - 5)));
    const open = await range('bytes=299990-');
    assert.equal(open.header('Content-Range'), `bytes 299990-299999/${BIG.length}`);
    const clipped = await range('bytes=299990-999999');
    assert.equal(clipped.header('Content-Length'), '10');
  });

  it('answers 416 to an unsatisfiable range', async () => {
    const res = await range('bytes=400000-');
    assert.equal(res.statusCode, 416);
    assert.equal(res.header('Content-Range'), `bytes */${BIG.length}`);
    assert.equal((await get('/empty.txt', { headers: { Range: 'bytes=0-' } })).statusCode, 416);
    assert.equal((await range('bytes=-0')).statusCode, 416);
  });

  it('serves the whole file for several, malformed or backwards ranges, for HEAD, and on a stale If-Range', async () => {
    for (const value of ['bytes=0-1,5-6', 'bytes=a-b', 'bytes=9-2', 'items=0-1', 'bytes=-']) {
      const res = await range(value);
      assert.equal(res.statusCode, 200, value);
      assert.equal(res.body.length, BIG.length);
    }
    assert.equal((await get('/big.bin', { method: 'HEAD', headers: { Range: 'bytes=0-1' } })).statusCode, 200);
    const etag = (await get('/big.bin')).header('ETag')!;
    assert.equal((await range('bytes=0-1', { 'If-Range': etag })).statusCode, 206);
    assert.equal((await range('bytes=0-1', { 'If-Range': '"old"' })).statusCode, 200);
    assert.equal((await range('bytes=0-1', { 'If-Range': MTIME.toUTCString() })).statusCode, 206);
    assert.equal((await range('bytes=0-1', { 'If-Range': new Date(0).toUTCString() })).statusCode, 200);
  });

  it('parses ranges', () => {
    assert.deepEqual(parseRange('bytes=0-0', 10), [0, 0]);
    assert.deepEqual(parseRange('bytes=-20', 10), [0, 9]);
    assert.deepEqual(parseRange(' bytes = 2-', 10), [2, 9]);
    assert.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
    assert.equal(parseRange('bytes=1-2, 4-5', 10), null);
  });
});

describe('static files: precompressed siblings and caching', () => {
  it('sends the .br or .gz sibling the client prefers', async () => {
    const br = await get('/text.txt', { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    assert.equal(br.header('Content-Encoding'), 'br');
    assert.equal(br.header('Content-Type'), 'text/plain; charset=utf-8', 'the type of the original');
    assert.equal(br.header('Vary'), 'Accept-Encoding');
    assert.equal(br.header('Accept-Ranges'), undefined);
    assert.match(br.header('ETag')!, /-br"$/);
    const gz = await get('/text.txt', { headers: { 'Accept-Encoding': 'br;q=0.5, gzip' } });
    assert.equal(gz.header('Content-Encoding'), 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), TEXT);
    const onlyGz = await get('/only-gz.css', { headers: { 'Accept-Encoding': 'br, gzip' } });
    assert.equal(onlyGz.header('Content-Encoding'), 'gzip');
    const refused = await get('/text.txt', { headers: { 'Accept-Encoding': 'br;q=0, gzip;q=0' } });
    assert.equal(refused.header('Content-Encoding'), undefined);
    assert.equal(refused.text, TEXT);
    const none = await get('/text.txt');
    assert.equal(none.header('Content-Encoding'), undefined);
  });

  it('sends the identity file for a Range, and none of the siblings when turned off', async () => {
    const ranged = await get('/text.txt', { headers: { 'Accept-Encoding': 'br', Range: 'bytes=0-4' } });
    assert.equal(ranged.statusCode, 206);
    assert.equal(ranged.header('Content-Encoding'), undefined);
    assert.equal(ranged.text, 'hello');
    const off = await get('/text.txt', { headers: { 'Accept-Encoding': 'br' } }, { precompressed: false });
    assert.equal(off.header('Content-Encoding'), undefined);
    assert.equal(off.header('Vary'), undefined);
  });

  it('caches hashed names forever, others by maxAge', async () => {
    assert.equal((await get('/app.3f9a1c2b.js')).header('Cache-Control'), 'public, max-age=31536000, immutable');
    assert.equal((await get('/index-BQ2b4Oa3.css')).header('Cache-Control'), 'public, max-age=31536000, immutable');
    assert.equal((await get('/text.txt', {}, { maxAge: 600 })).header('Cache-Control'), 'public, max-age=600');
    assert.equal((await get('/app.3f9a1c2b.js', {}, { immutable: false })).header('Cache-Control'), 'public, max-age=0');
    assert.equal((await get('/text.txt', {}, { immutable: /text/ })).header('Cache-Control'), 'public, max-age=31536000, immutable');
  });
});

describe('static files under compress()', () => {
  const stack = compose(fallback, compress(), staticFiles(root));
  it('is compressed on the fly when it has no sibling, and still revalidates', async () => {
    const first = await request(stack, '/plain.txt', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(first.header('Content-Encoding'), 'gzip');
    assert.equal(gunzipSync(first.body).toString(), PLAIN);
    const etag = first.header('ETag')!;
    assert.match(etag, /^W\//, 'compress() weakens the strong ETag');
    const again = await request(stack, '/plain.txt', { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': etag } });
    assert.equal(again.statusCode, 304);
  });

  it('is left alone when precompressed, ranged or unchanged', async () => {
    const pre = await request(stack, '/text.txt', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(pre.header('Content-Encoding'), 'gzip');
    assert.equal(gunzipSync(pre.body).toString(), TEXT, 'the sibling, not coded twice');
    const ranged = await request(stack, '/plain.txt', { headers: { 'Accept-Encoding': 'gzip', Range: 'bytes=0-4' } });
    assert.equal(ranged.statusCode, 206);
    assert.equal(ranged.text, 'hello');
  });
});

describe('static files over a real server', () => {
  it('serves, revalidates, ranges and refuses on the wire', async () => {
    await withServer(files(), async (server) => {
      const full = await httpRequest(`${server.url}/big.bin`);
      assert.equal(full.status, 200);
      assert.equal(full.headers['content-length'], String(BIG.length));
      assert.ok(full.body.equals(BIG));

      const etag = String(full.headers.etag);
      const again = await httpRequest(`${server.url}/big.bin`, { headers: { 'If-None-Match': etag } });
      assert.equal(again.status, 304);
      assert.equal(again.body.length, 0);

      const part = await httpRequest(`${server.url}/big.bin`, { headers: { Range: 'bytes=1000-1999' } });
      assert.equal(part.status, 206);
      assert.ok(part.body.equals(BIG.subarray(1000, 2000)));

      const br = await httpRequest(`${server.url}/text.txt`, { headers: { 'Accept-Encoding': 'br' } });
      assert.equal(br.headers['content-encoding'], 'br');

      const head = await httpRequest(`${server.url}/text.txt`, { method: 'HEAD' });
      assert.equal(head.headers['content-length'], String(TEXT.length));

      for (const target of ['/../secret.txt', '/%2e%2e/secret.txt', '/escape.txt', '/a%00b']) {
        const raw = await rawRequest(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        assert.match(raw.text, /^HTTP\/1\.1 200 OK/, target);
        assert.match(raw.text, /app GET /, target);
        assert.doesNotMatch(raw.text, /top secret/, target);
      }
    });
  });
});
