// The CGI gateway in-process (runCgi with streams of our own) against wsgiref's CGIHandler output
// (cgi-wsgiref-*.bin, test_wsgiref's CGI-mode vectors) and the environments real servers handed a
// CGI script (apache-cgi-*.json, lighttpd-cgi-*.json).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCgi, nativeEnv } from '../../src/cgi/index.js';
import type { Application } from '../../src/spec.js';
import { silentLogger } from '../../src/runner/log.js';
import { application } from './fixtures/app.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name));

interface Run {
  stdout: Buffer;
  stderr: string;
}

/** Runs `app` as a CGI request; `stdin` stays open (never ends) unless `end` is set. */
async function cgi(app: Application, env: Record<string, string>, stdin: string | Buffer = '', end = true, signal?: AbortSignal): Promise<Run> {
  const input = new PassThrough();
  input.write(stdin);
  if (end) input.end();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new Writable({ write: (c, _e, cb) => (out.push(c), cb()) });
  const stderr = new Writable({ write: (c, _e, cb) => (err.push(Buffer.from(c)), cb()) });
  await runCgi(app, { env, stdin: input, stdout, stderr, signal });
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
}

/** The environment lab-cgi-wsgiref.sh gave wsgiref's CGIHandler (as cgi-wsgiref-echo-post.bin shows it). */
const LAB_ENV = {
  GATEWAY_INTERFACE: 'CGI/1.1',
  HELLO_WSGI_DIR: '/srv/www/hello-wsgi/app/peer',
  LC_CTYPE: 'C.UTF-8',
  PATH: '/usr/bin:/bin',
  QUERY_STRING: '',
  REMOTE_ADDR: '127.0.0.1',
  REQUEST_METHOD: 'GET',
  SCRIPT_NAME: '/cgi-bin/wsgi.py',
  SERVER_NAME: 'wire.test',
  SERVER_PORT: '80',
  SERVER_PROTOCOL: 'HTTP/1.1',
  SERVER_SOFTWARE: 'test',
};

describe('the same bytes as wsgiref.handlers.CGIHandler', () => {
  for (const name of ['hello', 'stream', 'redirect', 'crash']) {
    test(`cgi-wsgiref-${name}.bin`, async () => {
      const r = await cgi(application, { ...LAB_ENV, PATH_INFO: `/${name}` });
      assert.equal(r.stdout.toString('latin1'), fixture(`cgi-wsgiref-${name}.bin`).toString('latin1'));
      if (name === 'crash') assert.match(r.stderr, /crash before start_response/);
    });
  }

  test('cgi-wsgiref-echo-post.bin: the same environ, but for what Python and TypeScript print differently', async () => {
    const env = {
      ...LAB_ENV,
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/echo',
      QUERY_STRING: 'a=b',
      CONTENT_LENGTH: '5',
      CONTENT_TYPE: 'application/x-www-form-urlencoded',
    };
    const r = await cgi(application, env, 'hello');
    const ours = JSON.parse(r.stdout.subarray(r.stdout.indexOf('\r\n\r\n') + 4).toString()) as { body: string; environ: Record<string, string> };
    const wsgiref = fixture('cgi-wsgiref-echo-post.bin').toString();
    const theirs = JSON.parse(wsgiref.slice(wsgiref.indexOf('\r\n\r\n') + 4)) as { body: string; environ: Record<string, string> };
    assert.equal(ours.body, theirs.body);
    const python: Record<string, string> = { true: 'True', false: 'False', '1,0': '(1, 0)' };
    for (const [k, v] of Object.entries(theirs.environ)) {
      if (k === 'wsgi.input' || k === 'wsgi.errors' || k === 'wsgi.file_wrapper') continue; // objects: their repr is language-specific
      assert.equal(python[ours.environ[k]!] ?? ours.environ[k], v, k);
    }
    // tsgi's only additions: the wsgi.input_terminated extension.
    assert.deepEqual(
      Object.keys(ours.environ).filter((k) => !(k in theirs.environ)),
      ['wsgi.input_terminated'],
    );
  });
});

describe("test_wsgiref's CGI-mode vectors (BaseCGIHandler)", () => {
  const env = { REQUEST_METHOD: 'GET', SERVER_PROTOCOL: 'HTTP/1.0' };
  const vectors: Array<[string, Application, string]> = [
    ['[b"http"]', (_e, s) => (s('200 OK', []), ['http']), 'Status: 200 OK\r\nContent-Length: 4\r\n\r\nhttp'],
    ['write() then []', (_e, s) => (void s('200 OK', [])('http'), []), 'Status: 200 OK\r\n\r\nhttp'],
    ['UTF-8 body', (_e, s) => (s('200 OK', []), ['\u00e9t\u00e9!!!']), 'Status: 200 OK\r\nContent-Length: 8\r\n\r\n\xc3\xa9t\xc3\xa9!!!'],
    ['Content-Length 12345 and []', (_e, s) => (s('200 OK', [['Content-Length', '12345']]), []), 'Status: 200 OK\r\nContent-Length: 12345\r\n\r\n'],
    ['start_response and []', (_e, s) => (s('200 OK', []), []), 'Status: 200 OK\r\nContent-Length: 0\r\n\r\n'],
    [
      'raises after write(MSG)',
      (_e, s) => {
        void s('200 OK', [])('some output');
        throw new Error('after output');
      },
      'Status: 200 OK\r\n\r\nsome output',
    ],
  ];
  for (const [name, app, expected] of vectors) {
    test(name, async () => {
      assert.equal((await cgi(app, env)).stdout.toString('latin1'), expected);
    });
  }
});

describe('the request body', () => {
  const echo = (r: Run) => JSON.parse(r.stdout.subarray(r.stdout.indexOf('\r\n\r\n') + 4).toString()) as { body: string; environ: Record<string, string> };

  test('CONTENT_LENGTH bytes, without waiting for an EOF that may never come', async () => {
    const r = await cgi(application, { REQUEST_METHOD: 'POST', PATH_INFO: '/echo', CONTENT_LENGTH: '5' }, 'helloEXTRA', false);
    assert.equal(echo(r).body, 'hello');
  });

  test('stdin arriving whole, byte by byte and in random pieces', async () => {
    const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
    let seed = 5;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0), seed / 2 ** 32);
    for (const cut of [() => data.length, () => 1, () => 1 + Math.floor(rand() * 300)]) {
      const parts: Buffer[] = [];
      for (let i = 0; i < data.length; ) {
        const n = cut();
        parts.push(data.subarray(i, i + n));
        i += n;
      }
      // One piece per tick, never ended: the body must end at CONTENT_LENGTH.
      const stdin = new Readable({ read() {} });
      (async () => {
        for (const p of parts) {
          stdin.push(p);
          await new Promise((r) => setImmediate(r));
        }
      })();
      const out: Buffer[] = [];
      await runCgi(application, {
        env: { REQUEST_METHOD: 'POST', PATH_INFO: '/echo', CONTENT_LENGTH: String(data.length) },
        stdin,
        stdout: new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }),
        log: silentLogger,
      });
      assert.equal(echo({ stdout: Buffer.concat(out), stderr: '' }).body, data.toString('latin1'));
    }
  });

  test('no CONTENT_LENGTH and a chunked request (Apache mod_cgi): stdin to its end', async () => {
    const r = await cgi(application, { REQUEST_METHOD: 'POST', PATH_INFO: '/echo', HTTP_TRANSFER_ENCODING: 'chunked' }, 'de-chunked body');
    assert.equal(echo(r).body, 'de-chunked body');
  });

  test('no CONTENT_LENGTH otherwise: no body, and stdin is never touched', async () => {
    const untouchable = new Readable({ read: () => assert.fail('stdin was read') });
    const out: Buffer[] = [];
    await runCgi(application, {
      env: { REQUEST_METHOD: 'GET', PATH_INFO: '/echo' },
      stdin: untouchable,
      stdout: new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }),
      log: silentLogger,
    });
    assert.equal(echo({ stdout: Buffer.concat(out), stderr: '' }).body, '');
  });

  test('stdin that ends before CONTENT_LENGTH is a 400', async () => {
    const r = await cgi(application, { REQUEST_METHOD: 'POST', PATH_INFO: '/echo', CONTENT_LENGTH: '50' }, 'short');
    assert.match(r.stdout.toString(), /^Status: 400 Bad Request\r\n/);
    assert.equal(/connection/i.test(r.stdout.toString()), false);
  });

  test('a malformed CONTENT_LENGTH or REQUEST_METHOD is a 400 without calling the application', async () => {
    let called = false;
    const app: Application = (_e, s) => ((called = true), s('200 OK', []), []);
    for (const env of <Array<Record<string, string>>>[
      { CONTENT_LENGTH: '-1' },
      { CONTENT_LENGTH: '1e3' },
      { CONTENT_LENGTH: ' 5' },
      { REQUEST_METHOD: 'G T' },
    ]) {
      const r = await cgi(app, env);
      assert.match(r.stdout.toString(), /^Status: 400 Bad Request\r\n/, JSON.stringify(env));
    }
    assert.equal(called, false);
  });
});

describe('the environ', () => {
  const echo = async (env: Record<string, string>, stdin = '') => {
    const r = await cgi(application, { ...env, PATH_INFO: env.PATH_INFO ?? '/echo' }, stdin);
    return JSON.parse(r.stdout.subarray(r.stdout.indexOf('\r\n\r\n') + 4).toString()) as { body: string; environ: Record<string, string> };
  };

  for (const name of readdirSync(FIXTURES).filter((f) => /-cgi-(get|post|chunked|status)\.json$/.test(f))) {
    test(`what ${name.split('-')[0]} handed a CGI script: ${name}`, async () => {
      const dump = JSON.parse(fixture(name).toString()) as { environ: Record<string, string>; stdin: string };
      // The dump's route is its own: point PATH_INFO at the echo route, keep everything else.
      const env = { ...dump.environ, PATH_INFO: '/extra/echo' };
      const { body, environ } = await echo(env, dump.stdin);
      assert.equal(body, dump.stdin);
      for (const [k, v] of Object.entries(env)) {
        if (k === 'HTTP_CONTENT_LENGTH' || k === 'HTTP_CONTENT_TYPE') assert.equal(environ[k], undefined, k);
        else assert.equal(environ[k], v, k);
      }
      assert.equal(environ['wsgi.run_once'], 'true');
      assert.equal(environ['wsgi.multiprocess'], 'true');
      assert.equal(environ['wsgi.multithread'], 'false');
      assert.equal(environ['wsgi.url_scheme'], 'http');
    });
  }

  test('defaults when run by hand: GET, empty paths, localhost (never Host, as at every door), tsgi as SERVER_SOFTWARE', async () => {
    const { environ } = await echo({ HTTP_HOST: 'example.test:8080', PATH_INFO: '/x/echo' });
    assert.deepEqual(
      [environ.REQUEST_METHOD, environ.SCRIPT_NAME, environ.QUERY_STRING, environ.SERVER_NAME, environ.SERVER_PORT, environ.SERVER_PROTOCOL],
      ['GET', '', '', 'localhost', '80', 'HTTP/1.0'],
    );
    assert.match(environ.SERVER_SOFTWARE!, /^tsgi\//);
  });

  test('HTTPS=on makes the scheme https; wsgi.* variables in the environment are ignored', async () => {
    const { environ } = await echo({ HTTPS: 'on', 'wsgi.run_once': 'no', 'tsgi.x': 'y' });
    assert.equal(environ['wsgi.url_scheme'], 'https');
    assert.equal(environ['wsgi.run_once'], 'true');
    assert.equal(environ['tsgi.x'], undefined);
  });

  test('values are native strings: UTF-8 text in the environment becomes its bytes as latin-1', async () => {
    assert.deepEqual(nativeEnv({ PATH_INFO: '/caf\u00e9', X: undefined }), { PATH_INFO: '/caf\xc3\xa9' });
    const { environ } = await echo({ PATH_INFO: '/caf\u00e9/echo' });
    assert.equal(environ.PATH_INFO, '/caf\xc3\xa9/echo');
  });
});

describe('ending early', () => {
  test('an aborted signal stops a streaming body and calls its close()', async () => {
    const stop = new AbortController();
    let closed = false;
    const app: Application = (_e, s) => {
      s('200 OK', [['Content-Type', 'text/plain']]);
      return {
        async *[Symbol.asyncIterator]() {
          for (let i = 0; ; i++) {
            if (i === 3) stop.abort();
            yield 'tick\n';
            await new Promise((r) => setImmediate(r));
          }
        },
        close: () => void (closed = true),
      };
    };
    const r = await cgi(app, {}, '', true, stop.signal);
    assert.equal(closed, true);
    assert.match(r.stdout.toString(), /^Status: 200 OK\r\n/);
  });

  test('a stdout that fails (EPIPE) stops the body and calls its close()', async () => {
    let closed = false;
    const app: Application = (_e, s) => {
      s('200 OK', []);
      return {
        *[Symbol.iterator]() {
          for (;;) yield Buffer.alloc(1024);
        },
        close: () => void (closed = true),
      };
    };
    let n = 0;
    const stdout = new Writable({
      write: (_c, _e, cb) => (++n > 5 ? cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) : cb()),
    });
    await runCgi(app, { env: {}, stdout, stderr: new PassThrough(), log: silentLogger });
    assert.equal(closed, true);
  });
});
