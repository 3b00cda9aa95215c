// The scenarios every FastCGI front end is put through; one test file per front end says how to start
// it and what it is known to do differently. No timing assertions: every wait is bounded by a test
// timeout, never measured.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { serveFastcgi, type FastcgiServerHandle } from '../../src/fastcgi/index.js';
import { STREAM_BYTES, application, forever, streamDigest } from './fastcgi-app.js';
import {
  COMMON_EXCLUSIONS,
  environDiff,
  freePort,
  logLines,
  parseDump,
  pythonUwsgiMissing,
  quietLog,
  readAndDisconnect,
  removeDir,
  request,
  startPythonFastcgi,
  tempDir,
  waitForPort,
  type Exclusion,
  type Peer,
  type Reply,
} from './fastcgi-peers.js';

export interface FastcgiFrontEnd {
  name: string;
  /** Why the front end cannot run here (binary or module missing), or null. */
  missing(): string | null;
  /** Starts it on 127.0.0.1:port, passing everything to the FastCGI backend on 127.0.0.1:backend. */
  start(dir: string, port: number, backend: number): Promise<Peer>;
  /** What tsgi's environ shows for GET /app/path?x=1&y=%20z. */
  scriptName: string;
  pathInfo: string;
  /** True when the front end reuses backend connections (FCGI_KEEP_CONN with a pool). */
  reuses: boolean;
  /** Keys where tsgi and uWSGI legitimately differ behind this front end, with the reason. */
  exclusions: Exclusion[];
  /**
   * Set when the front end can pass a cut response on as whole (a known defect of it, described
   * here): then the test accepts that, provided the front end's own log shows it saw tsgi's error.
   */
  cutMayLookWhole?: { why: string; logShows: RegExp };
}

/** What differs between tsgi and uWSGI's FastCGI socket whatever the front end. */
const FASTCGI_EXCLUSIONS: Exclusion[] = [
  ...COMMON_EXCLUSIONS,
  ['SERVER_SOFTWARE', () => "tsgi names itself (tsgi/<version>); uWSGI passes on the front end's"],
  ['RAW_URI', (_ts, py) => (py === undefined ? 'a tsgi (gunicorn) extension uWSGI does not set' : null)],
  [/^uwsgi\./, (ts) => (ts === undefined ? "uWSGI's own keys (uwsgi.version, uwsgi.node, ...)" : null)],
  [
    /^CONTENT_(TYPE|LENGTH)$/,
    (ts, py) => (ts === undefined && py === '' ? 'tsgi leaves out the empty CONTENT_TYPE/CONTENT_LENGTH nginx sends on a GET, as its HTTP door does' : null),
  ],
];

export function fastcgiSuite(fe: FastcgiFrontEnd): void {
  const skip = fe.missing();
  describe(`FastCGI door behind ${fe.name}`, { skip: skip ?? false, timeout: 240_000 }, () => {
    let dir = '';
    let port = 0;
    let backend = 0;
    let tsgi: FastcgiServerHandle | undefined;
    let peer: Peer | undefined;
    let connections = 0;
    const logs = () => `\n--- ${fe.name} log ---\n${peer?.log().slice(-3000) ?? ''}\n--- tsgi log ---\n${logLines.slice(-20).join('\n')}`;
    const ok = (r: Reply) => assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString('latin1').slice(0, 300)}${logs()}`);
    const startTsgi = async () => {
      tsgi = await serveFastcgi(application, { host: '127.0.0.1', port: backend, log: quietLog, gracefulTimeout: 2000 });
      tsgi.server.on('connection', () => connections++);
    };

    before(async () => {
      dir = tempDir(fe.name.replace(/\W+/g, '-'));
      port = await freePort();
      backend = await freePort();
      await startTsgi();
      peer = await fe.start(dir, port, backend);
    });

    after(async () => {
      await peer?.stop();
      await tsgi?.close();
      if (dir) removeDir(dir);
    });

    test('GET with a query string', async () => {
      const r = await request(port, { path: '/app/path?x=1&y=%20z', headers: { 'X-Custom': 'hello' } });
      ok(r);
      const env = parseDump(r.body);
      assert.equal(env.get('REQUEST_METHOD'), 'GET');
      assert.equal(env.get('SCRIPT_NAME'), fe.scriptName);
      assert.equal(env.get('PATH_INFO'), fe.pathInfo);
      assert.equal(env.get('QUERY_STRING'), 'x=1&y=%20z');
      assert.equal(env.get('HTTP_X_CUSTOM'), 'hello');
      assert.equal(env.get('SERVER_SOFTWARE')?.startsWith('tsgi/'), true);
      assert.equal(env.get('wsgi.run_once'), 'false');
    });

    test('POST with a body', async () => {
      const body = randomBytes(1024 * 1024);
      const r = await request(port, { method: 'POST', path: '/echo', body, headers: { 'Content-Type': 'application/octet-stream' } });
      ok(r);
      assert.equal(r.body.toString(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
    });

    test('a chunked upload', async () => {
      const body = randomBytes(200_000);
      const r = await request(port, { method: 'POST', path: '/echo', body, chunked: 16384 });
      ok(r);
      assert.equal(r.body.toString(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
    });

    test('an 8 KB request header', async () => {
      const big = 'b'.repeat(8000);
      const r = await request(port, { path: '/big', headers: { 'X-Big': big } });
      ok(r);
      assert.equal(parseDump(r.body).get('HTTP_X_BIG'), big);
    });

    test('a streamed 10 MB response', async () => {
      const r = await request(port, { path: '/stream' });
      ok(r);
      assert.equal(r.body.length, STREAM_BYTES);
      assert.equal(createHash('sha256').update(r.body).digest('hex'), streamDigest());
    });

    test('HEAD', async () => {
      const get = await request(port, { path: '/hello' });
      const head = await request(port, { method: 'HEAD', path: '/hello' });
      ok(get);
      ok(head);
      assert.equal(get.body.toString(), 'Hello, World!\n');
      assert.equal(head.body.length, 0);
      assert.equal(head.headers['x-hello'], 'yes');
      assert.equal(head.headers['content-length'], get.headers['content-length']);
    });

    test('a client that disconnects mid-response', { timeout: 60_000 }, async () => {
      const closed = new Promise<boolean>((resolve) => (forever.closed = resolve));
      const got = await readAndDisconnect(port, '/forever', 256 * 1024);
      assert.ok(got > 0, logs());
      // The front end drops the FastCGI connection (or aborts the request): the body's close() runs.
      assert.equal(await closed, false, 'the body ran to its end: the front end never dropped the connection');
      ok(await request(port, { path: '/hello' }));
    });

    test('a response the application breaks off reaches the client incomplete', { timeout: 60_000 }, async (t) => {
      // A client that keeps the connection open: the front end must then frame the body (chunked), so
      // a cut is visible. With `Connection: close` (node's default without an agent) a front end may
      // delimit the body by closing instead, and then a cut looks like an end (seen once with
      // lighttpd under load).
      const r = await request(port, { path: '/broken', headers: { Connection: 'keep-alive' } });
      assert.equal(r.status, 200);
      if (r.complete && fe.cutMayLookWhole) {
        // tsgi did its part (reset, no END_REQUEST); the front end logged the backend error and still
        // sent what it had as whole.
        await new Promise((res) => setTimeout(res, 200));
        assert.match(peer!.log(), fe.cutMayLookWhole.logShows, `the front end never saw tsgi's error${logs()}`);
        t.diagnostic(`${fe.name} passed the cut response on as whole: ${fe.cutMayLookWhole.why}`);
        ok(await request(port, { path: '/hello' }));
        return;
      }
      assert.equal(r.complete, false, `the client got a whole response: ${JSON.stringify(r.headers)} ${r.body.toString('latin1').slice(0, 200)}${logs()}`);
      ok(await request(port, { path: '/hello' }));
    });

    test(fe.reuses ? 'FCGI_KEEP_CONN: requests share backend connections' : 'one backend connection per request, closed by tsgi', async () => {
      const before = connections;
      for (let i = 0; i < 5; i++) ok(await request(port, { path: '/hello' }));
      const used = connections - before;
      if (fe.reuses) assert.ok(used < 5, `${used} connections for 5 requests`);
      else assert.equal(used, 5);
    });

    test('environ equals what Python uWSGI gets over FastCGI from the same front end', { skip: pythonUwsgiMissing() ?? false }, async () => {
      const asks = [
        { path: '/app/path?x=1&y=%20z', headers: { 'X-Custom': 'hello' } as Record<string, string> },
        { method: 'POST', path: '/form?a=b', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } as Record<string, string>, body: 'hello' },
      ];
      const fromTsgi: Reply[] = [];
      for (const a of asks) fromTsgi.push(await request(port, a));
      // Same front end, same backend port: swap tsgi for uWSGI running the seed's app.py.
      await tsgi!.close();
      tsgi = undefined;
      const py = await startPythonFastcgi(dir, backend);
      const fromPython: Reply[] = [];
      try {
        for (const a of asks) fromPython.push(await request(port, a));
      } finally {
        await py.stop();
        await startTsgi();
        await waitForPort(backend);
      }
      for (let i = 0; i < asks.length; i++) {
        ok(fromTsgi[i]!);
        assert.equal(fromPython[i]!.status, 200, `uWSGI: ${fromPython[i]!.body.toString('latin1')}\n${py.log().slice(-2000)}`);
        const diff = environDiff(parseDump(fromTsgi[i]!.body), parseDump(fromPython[i]!.body), [...FASTCGI_EXCLUSIONS, ...fe.exclusions]);
        assert.deepEqual(diff, [], `${asks[i]!.method ?? 'GET'} ${asks[i]!.path}`);
      }
    });
  });
}

/**
 * Without PATH_INFO the front end did not split the path: tsgi serves the application at the root
 * (PATH_INFO = the path, SCRIPT_NAME = ""), where uWSGI passes SCRIPT_NAME on and has no PATH_INFO.
 */
export const UNSPLIT_PATH: Exclusion[] = [
  [
    'SCRIPT_NAME',
    (ts, py) =>
      ts === '' && py !== undefined && py !== '' ? 'the front end sent no PATH_INFO: its SCRIPT_NAME is the whole path, which tsgi serves at the root' : null,
  ],
  ['PATH_INFO', (ts, py) => (py === undefined && ts !== undefined ? 'the front end sent no PATH_INFO: tsgi derives it (docs/deploy.md, FastCGI)' : null)],
];
