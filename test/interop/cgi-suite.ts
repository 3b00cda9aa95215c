// The scenarios every CGI-capable web server is put through: the server runs a small shell script
// from the temp dir that execs `node --import tsx <repo>/src/cgi/bin.ts <repo>/test/interop/fastcgi-app.ts`
// (absolute paths), one process per request. For the environ comparison the same script is rewritten
// to run Python's wsgiref CGIHandler with the seed's app.py instead. Every wait is bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { STREAM_BYTES, streamDigest } from './fastcgi-app.js';
import {
  COMMON_EXCLUSIONS,
  HERE,
  PY_ENVIRON_APP,
  ROOT,
  environDiff,
  freePort,
  parseDump,
  readAndDisconnect,
  removeDir,
  request,
  sleep,
  systemPython,
  tempDir,
  type Exclusion,
  type Peer,
  type Reply,
} from './fastcgi-peers.js';

export interface CgiFrontEnd {
  name: string;
  /** Why the server cannot run here, or null. */
  missing(): string | null;
  /** Starts it on 127.0.0.1:port, running DIR/cgi-bin/app.cgi for /cgi-bin/app.cgi/... */
  start(dir: string, port: number): Promise<Peer>;
  /** CONTENT_LENGTH the server sets for a chunked upload ('absent': none, stdin until EOF). */
  chunkedLength: 'set' | 'absent';
  /** SERVER_SOFTWARE's start, as the server names itself. */
  software: string;
}

const BIN = path.join(ROOT, 'src/cgi/bin.ts');
const APP = path.join(HERE, 'fastcgi-app.ts');
const TSX = import.meta.resolve('tsx');

/** Where /forever's close() leaves its mark: a directory anyone may write to (Apache runs scripts as nobody). */
const markerPath = (dir: string) => path.join(dir, 'shared', 'marker.txt');

/** The CGI script: sh, so that both runs (tsgi, Python) start from the same environment. */
function writeScript(dir: string, command: string): void {
  const script = path.join(dir, 'cgi-bin', 'app.cgi');
  writeFileSync(script, `#!/bin/sh\nTSGI_TEST_MARKER=${markerPath(dir)} exec ${command}\n`);
  chmodSync(script, 0o755);
}

const tsgiCommand = () => `${process.execPath} --import ${TSX} ${BIN} ${APP}`;
// -B: no __pycache__ in the repository; the module is loaded from its path (its name has dashes).
const pythonCommand = (python: string) =>
  `${python} -B -c 'import importlib.util as u; s = u.spec_from_file_location("app", "${PY_ENVIRON_APP}"); m = u.module_from_spec(s); ` +
  `s.loader.exec_module(m); from wsgiref.handlers import CGIHandler; CGIHandler().run(m.application_with_body)'`;

const CGI_EXCLUSIONS: Exclusion[] = [
  ...COMMON_EXCLUSIONS,
  // PEP 538: Python coerces the C locale and exports the result into its own environment.
  ['LC_CTYPE', (ts, py) => (ts === undefined && py === 'C.UTF-8' ? "Python's locale coercion (PEP 538) sets it in its own os.environ" : null)],
];

export function cgiSuite(fe: CgiFrontEnd): void {
  const skip = fe.missing();
  describe(`CGI gateway under ${fe.name}`, { skip: skip ?? false, timeout: 300_000 }, () => {
    let dir = '';
    let port = 0;
    let peer: Peer | undefined;
    const logs = () => `\n--- ${fe.name} log ---\n${peer?.log().slice(-3000) ?? ''}`;
    const ok = (r: Reply) => assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString('latin1').slice(0, 300)}${logs()}`);
    const url = (p: string) => `/cgi-bin/app.cgi${p}`;

    before(async () => {
      dir = tempDir(`cgi-${fe.name.replace(/\W+/g, '-')}`);
      mkdirSync(path.join(dir, 'cgi-bin'));
      chmodSync(path.join(dir, 'cgi-bin'), 0o755);
      mkdirSync(path.join(dir, 'shared'));
      chmodSync(path.join(dir, 'shared'), 0o1777);
      writeScript(dir, tsgiCommand());
      port = await freePort();
      peer = await fe.start(dir, port);
    });

    after(async () => {
      await peer?.stop();
      if (dir) removeDir(dir);
    });

    test('GET with a query string', async () => {
      const r = await request(port, { path: url('/app/path?x=1&y=%20z'), headers: { 'X-Custom': 'hello' } });
      ok(r);
      const env = parseDump(r.body);
      assert.equal(env.get('REQUEST_METHOD'), 'GET');
      assert.equal(env.get('SCRIPT_NAME'), '/cgi-bin/app.cgi');
      assert.equal(env.get('PATH_INFO'), '/app/path');
      assert.equal(env.get('QUERY_STRING'), 'x=1&y=%20z');
      assert.equal(env.get('HTTP_X_CUSTOM'), 'hello');
      assert.equal(env.get('wsgi.run_once'), 'true');
      assert.equal(env.get('wsgi.multiprocess'), 'true');
      assert.equal(env.get('SERVER_SOFTWARE')?.startsWith(fe.software), true, env.get('SERVER_SOFTWARE'));
    });

    test('POST with a body', async () => {
      const body = randomBytes(1024 * 1024);
      const r = await request(port, { method: 'POST', path: url('/echo'), body, headers: { 'Content-Type': 'application/octet-stream' } });
      ok(r);
      assert.equal(r.body.toString(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
    });

    test('a chunked upload', async () => {
      const body = randomBytes(200_000);
      const r = await request(port, { method: 'POST', path: url('/echo'), body, chunked: 16384 });
      ok(r);
      assert.equal(r.body.toString(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
      // What the server tells the script, which decides how the body is read.
      const dump = parseDump((await request(port, { method: 'POST', path: url('/dump'), body: 'hello', chunked: 2 })).body);
      assert.equal(dump.get('CONTENT_LENGTH'), fe.chunkedLength === 'set' ? '5' : undefined);
      assert.equal(dump.get('BODY'), Buffer.from('hello').toString('hex'));
    });

    test('an 8 KB request header', async () => {
      const big = 'b'.repeat(8000);
      const r = await request(port, { path: url('/big'), headers: { 'X-Big': big } });
      ok(r);
      assert.equal(parseDump(r.body).get('HTTP_X_BIG'), big);
    });

    test('a streamed 10 MB response', async () => {
      const r = await request(port, { path: url('/stream') });
      ok(r);
      assert.equal(r.body.length, STREAM_BYTES);
      assert.equal(createHash('sha256').update(r.body).digest('hex'), streamDigest());
    });

    test('HEAD', async () => {
      const get = await request(port, { path: url('/hello') });
      const head = await request(port, { method: 'HEAD', path: url('/hello') });
      ok(get);
      ok(head);
      assert.equal(get.body.toString(), 'Hello, World!\n');
      assert.equal(head.body.length, 0);
      assert.equal(head.headers['x-hello'], 'yes');
    });

    test('a client that disconnects mid-response', { timeout: 60_000 }, async () => {
      const marker = markerPath(dir);
      rmSync(marker, { force: true });
      const got = await readAndDisconnect(port, url('/forever'), 256 * 1024);
      assert.ok(got > 0, logs());
      // The server closes the pipe or sends SIGTERM: tsgi-cgi stops the body, its close() runs.
      while (!existsSync(marker)) await sleep(20);
      assert.equal(readFileSync(marker, 'utf8'), 'closed\n');
      ok(await request(port, { path: url('/hello') }));
    });

    test("environ equals what Python's wsgiref CGIHandler gets from the same server", { skip: systemPython() ? false : 'no /usr/bin/python3' }, async () => {
      const asks = [
        { path: url('/app/path?x=1&y=%20z'), headers: { 'X-Custom': 'hello' } as Record<string, string> },
        { method: 'POST', path: url('/form?a=b'), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } as Record<string, string>, body: 'hello' },
      ];
      const fromTsgi: Reply[] = [];
      for (const a of asks) fromTsgi.push(await request(port, a));
      // Same server, same script path: the script now runs wsgiref with the seed's app.py.
      writeScript(dir, pythonCommand(systemPython()!));
      const fromPython: Reply[] = [];
      try {
        for (const a of asks) fromPython.push(await request(port, a));
      } finally {
        writeScript(dir, tsgiCommand());
      }
      for (let i = 0; i < asks.length; i++) {
        ok(fromTsgi[i]!);
        assert.equal(fromPython[i]!.status, 200, `wsgiref: ${fromPython[i]!.body.toString('latin1')}${logs()}`);
        const diff = environDiff(parseDump(fromTsgi[i]!.body), parseDump(fromPython[i]!.body), CGI_EXCLUSIONS);
        assert.deepEqual(diff, [], `${asks[i]!.method ?? 'GET'} ${asks[i]!.path}`);
      }
    });
  });
}
