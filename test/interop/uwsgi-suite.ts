// The scenarios every uwsgi front end is put through (one test file per front end supplies how to
// start it and what it is known to do differently). No timing assertions: every wait is bounded by
// a test timeout, never measured.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { UwsgiServerHandle } from '../../src/uwsgi/index.js';
import {
  STREAM_BYTES,
  environDiff,
  expectForeverClose,
  freePort,
  logLines,
  parseDump,
  pythonUwsgiMissing,
  readAndDisconnect,
  removeDir,
  request,
  startPythonUwsgi,
  startTsgi,
  streamDigest,
  tempDir,
  waitForPort,
  type Ask,
  type Peer,
  type Reply,
} from './uwsgi-peers.js';

export interface FrontEnd {
  name: string;
  /** Why the front end cannot run here (its binary or module is missing), or null. */
  missing(): string | null;
  /** Starts it on 127.0.0.1:port, forwarding everything to the uwsgi backend on 127.0.0.1:backend. */
  start(dir: string, port: number, backend: number): Promise<Peer>;
  /** What tsgi's environ shows for GET /app/path?x=1&y=%20z (the front end decides the split). */
  scriptName: string;
  pathInfo: string;
  /** 'de-chunked' when the front end delivers a chunked upload; else the status it answers itself. */
  chunked: 'de-chunked' | number;
  /** True when the front end relays a close-delimited body as is, so a truncation looks complete. */
  brokenLooksComplete?: boolean;
}

export function frontEndSuite(fe: FrontEnd): void {
  const skip = fe.missing();
  describe(`uwsgi door behind ${fe.name}`, { skip: skip ?? false }, () => {
    let dir = '';
    let port = 0;
    let backend = 0;
    let tsgi: UwsgiServerHandle | undefined;
    let peer: Peer | undefined;
    /** Assertion context: what the peer and tsgi logged. */
    const logs = () => `\n--- ${fe.name} log ---\n${peer?.log().slice(-3000) ?? ''}\n--- tsgi log ---\n${logLines.slice(-20).join('\n')}`;
    const ok = (r: Reply) => assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString('latin1').slice(0, 300)}${logs()}`);

    before(
      async () => {
        dir = tempDir(fe.name.replace(/\W+/g, '-'));
        port = await freePort();
        backend = await freePort();
        tsgi = await startTsgi(backend);
        peer = await fe.start(dir, port, backend);
      },
      { timeout: 30_000 },
    );

    after(
      async () => {
        await peer?.stop();
        await tsgi?.close();
        if (dir) removeDir(dir);
      },
      { timeout: 30_000 },
    );

    test('GET with a query string', { timeout: 60_000 }, async () => {
      const r = await request(port, { path: '/app/path?x=1&y=%20z', headers: { 'X-Custom': 'hello' } });
      ok(r);
      const env = parseDump(r.body);
      assert.equal(env.get('REQUEST_METHOD'), 'GET');
      assert.equal(env.get('SCRIPT_NAME'), fe.scriptName);
      assert.equal(env.get('PATH_INFO'), fe.pathInfo);
      assert.equal(env.get('QUERY_STRING'), 'x=1&y=%20z');
      assert.equal(env.get('HTTP_X_CUSTOM'), 'hello');
      assert.equal(env.get('SERVER_SOFTWARE')?.startsWith('tsgi/'), true);
      assert.equal(env.has('HTTP_CONTENT_LENGTH'), false);
    });

    test('POST with a body', { timeout: 60_000 }, async () => {
      const body = randomBytes(1024 * 1024);
      const r = await request(port, { method: 'POST', path: '/echo', body, headers: { 'Content-Type': 'application/octet-stream' } });
      ok(r);
      assert.equal(r.body.toString(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
    });

    test('a chunked upload', { timeout: 60_000 }, async () => {
      const body = randomBytes(200_000);
      const r = await request(port, { method: 'POST', path: '/echo', body, chunked: 16384 });
      if (fe.chunked === 'de-chunked') {
        ok(r);
        assert.equal(r.body.toString(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
      } else {
        // The front end refuses chunked request bodies itself (documented in docs/deploy.md).
        assert.equal(r.status, fe.chunked, logs());
      }
    });

    test('an 8 KB request header', { timeout: 60_000 }, async () => {
      const big = 'b'.repeat(8000);
      const r = await request(port, { path: '/big', headers: { 'X-Big': big } });
      ok(r);
      assert.equal(parseDump(r.body).get('HTTP_X_BIG'), big);
    });

    test('a streamed 10 MB response', { timeout: 60_000 }, async () => {
      const r = await request(port, { path: '/stream' });
      ok(r);
      assert.equal(r.body.length, STREAM_BYTES);
      assert.equal(createHash('sha256').update(r.body).digest('hex'), streamDigest());
    });

    test('HEAD', { timeout: 60_000 }, async () => {
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
      const closed = expectForeverClose();
      const got = await readAndDisconnect(port, '/forever', 256 * 1024);
      assert.ok(got > 0, logs());
      // The front end drops the uwsgi connection; tsgi stops the body and calls its close().
      const end = await closed;
      assert.equal(end.complete, false, `the body ran to its end (${end.sent} bytes): the front end never dropped the connection`);
      const r = await request(port, { path: '/hello' });
      ok(r);
    });

    test('a response the application breaks off reaches the client incomplete', { timeout: 60_000 }, async () => {
      const r = await request(port, { path: '/broken' });
      assert.equal(r.status, 200, logs());
      if (fe.brokenLooksComplete) {
        // Known: the front end frames a close-delimited body by the close, so it cannot tell.
        assert.ok(r.body.length < 3 * 65536);
      } else assert.equal(r.complete, false, `${r.body.length} bytes, complete${logs()}`);
    });

    test('environ equals what Python uWSGI gets from the same front end', { skip: pythonUwsgiMissing() ?? false, timeout: 60_000 }, async () => {
      const asks: Ask[] = [
        { path: '/app/path?x=1&y=%20z', headers: { 'X-Custom': 'hello' } },
        { method: 'POST', path: '/form?a=b', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'hello' },
      ];
      const fromTsgi = [];
      for (const a of asks) fromTsgi.push(await request(port, a));
      // Same front end, same backend port: swap tsgi for uWSGI running the seed's app.py.
      await tsgi!.close();
      tsgi = undefined;
      const py = await startPythonUwsgi(dir, backend);
      const fromPython = [];
      try {
        for (const a of asks) fromPython.push(await request(port, a));
      } finally {
        await py.stop();
        tsgi = await startTsgi(backend);
        await waitForPort(backend);
      }
      for (let i = 0; i < asks.length; i++) {
        ok(fromTsgi[i]!);
        assert.equal(fromPython[i]!.status, 200, `uWSGI: ${fromPython[i]!.body.toString('latin1')}\n${py.log().slice(-2000)}`);
        const diff = environDiff(parseDump(fromTsgi[i]!.body), parseDump(fromPython[i]!.body));
        assert.deepEqual(diff, [], `${asks[i]!.method ?? 'GET'} ${asks[i]!.path}`);
      }
    });
  });
}
