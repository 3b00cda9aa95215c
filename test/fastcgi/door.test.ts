// The FastCGI door over real sockets, driven by the captured web-server requests (whole, byte by
// byte, random splits) and by hand-made records for what the web servers rarely do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveFastcgi, type FastcgiServerHandle } from '../../src/fastcgi/index.js';
import { FCGI, PROTOCOL_STATUS, ROLE, decodePairs, encodePairs, encodeRecord, beginRequest, parseBegin, parseRecords } from '../../src/protocol/fastcgi.js';
import { VERSION } from '../../src/version.js';
import { helloApp, hooks, logLines, parseEcho, quietLog, testApp } from './apps.js';
import { FIXTURES, GET, connect, exchange, fixture, pieces, request, responses, send, type Split } from './client.js';

let srv: FastcgiServerHandle;
before(async () => {
  srv = await serveFastcgi(testApp, { port: 0, log: quietLog, gracefulTimeout: 1000 });
});
after(() => srv.close());

/** What a fixture's web server asked, record by record: the params and STDIN of each request. */
function asked(data: Uint8Array) {
  const recs = parseRecords(data);
  const reqs: Array<{ keepConn: boolean; params: Map<string, string>; stdin: Buffer }> = [];
  let params: Uint8Array[] = [];
  for (const r of recs) {
    if (r.type === FCGI.BEGIN_REQUEST) reqs.push({ keepConn: parseBegin(r.content).keepConn, params: new Map(), stdin: Buffer.alloc(0) });
    const cur = reqs.at(-1)!;
    if (r.type === FCGI.PARAMS && r.content.length > 0) params.push(r.content);
    if (r.type === FCGI.PARAMS && r.content.length === 0) {
      cur.params = new Map(decodePairs(Buffer.concat(params)));
      params = [];
    }
    if (r.type === FCGI.STDIN) cur.stdin = Buffer.concat([cur.stdin, r.content]);
  }
  return reqs;
}

const requestFiles = readdirSync(FIXTURES).filter((f) => /^(nginx|apache|lighttpd)-fastcgi-.*\.bin$/.test(f));

describe('captured requests', () => {
  for (const name of requestFiles) {
    for (const split of ['whole', 'bytes', 'random'] as Split[]) {
      test(`${name} (${split})`, async () => {
        const data = fixture(name);
        const reqs = asked(data);
        const keep = reqs.at(-1)!.keepConn;
        const reply = await send(srv.port, pieces(data, split, name.length), keep ? { ends: reqs.length } : {});
        const rs = responses(reply.records);
        assert.equal(rs.length, reqs.length);
        // FCGI_KEEP_CONN: kept open when set, closed by us when not (nginx waits for that close).
        assert.equal(reply.closed, !keep);
        for (let i = 0; i < rs.length; i++) {
          const r = rs[i]!;
          const q = reqs[i]!;
          assert.equal(r.status, '200 OK', r.stdout.toString('latin1'));
          assert.equal(r.stdoutEnded, true);
          assert.deepEqual([r.appStatus, r.protocolStatus], [0, PROTOCOL_STATUS.REQUEST_COMPLETE]);
          const { environ: env, body } = parseEcho(r.body);
          assert.equal(body, q.stdin.toString('latin1'));
          for (const [k, v] of q.params) {
            if (/^(SCRIPT_NAME|PATH_INFO|SERVER_SOFTWARE|HTTP_CONTENT_TYPE|HTTP_CONTENT_LENGTH)$/.test(k)) continue;
            if ((k === 'CONTENT_TYPE' || k === 'CONTENT_LENGTH') && v === '') assert.equal(k in env, false, k);
            else assert.equal(env[k], v, k);
          }
          assert.equal('HTTP_CONTENT_TYPE' in env || 'HTTP_CONTENT_LENGTH' in env, false);
          assert.equal(env.SERVER_SOFTWARE, `tsgi/${VERSION}`);
          assert.equal(env['wsgi.input_terminated'], true);
          assert.equal(env['wsgi.run_once'], false);
          // Without PATH_INFO the web server did not split: its SCRIPT_NAME is the whole path.
          if (q.params.has('PATH_INFO')) {
            assert.equal(env.PATH_INFO, q.params.get('PATH_INFO'));
            assert.equal(env.SCRIPT_NAME, q.params.get('SCRIPT_NAME') ?? '');
          } else {
            assert.equal(env.PATH_INFO, q.params.get('SCRIPT_NAME'));
            assert.equal(env.SCRIPT_NAME, '');
          }
        }
      });
    }
  }

  test('the environ of nginx-fastcgi-encpath: decoded path bytes as latin-1, raw query', async () => {
    const r = responses((await send(srv.port, fixture('nginx-fastcgi-encpath.bin'))).records)[0]!;
    const env = parseEcho(r.body).environ;
    assert.equal(env.PATH_INFO, '/f/a b/caf\xc3\xa9/z');
    assert.equal(env.QUERY_STRING, 'q=%C3%A9&r=a+b');
    assert.equal(env.RAW_URI, '/f/a%20b/caf%C3%A9//x/../z?q=%C3%A9&r=a+b');
  });

  test("lighttpd's split is kept: SCRIPT_NAME /f/index.php, PATH_INFO /extra", async () => {
    const r = responses((await send(srv.port, fixture('lighttpd-fastcgi-get.bin'))).records)[0]!;
    const env = parseEcho(r.body).environ;
    assert.deepEqual([env.SCRIPT_NAME, env.PATH_INFO, env.CONTENT_LENGTH], ['/f/index.php', '/extra', '0']);
  });
});

describe("the shape of real uWSGI's FastCGI responses (uwsgi-fastcgi-response-*.bin)", () => {
  /** Record kinds in order, consecutive non-empty STDOUT records merged (how a body is cut is free). */
  const shape = (records: ReturnType<typeof parseRecords>) => {
    const kinds: string[] = [];
    for (const r of records) {
      const kind = r.type === FCGI.STDOUT ? (r.content.length > 0 ? 'STDOUT' : 'STDOUT(end)') : r.type === FCGI.END_REQUEST ? 'END_REQUEST' : `type ${r.type}`;
      if (kind !== kinds.at(-1) || kind !== 'STDOUT') kinds.push(kind);
    }
    return kinds;
  };
  const stdout = (records: ReturnType<typeof parseRecords>) => Buffer.concat(records.filter((r) => r.type === FCGI.STDOUT).map((r) => r.content));

  for (const name of ['hello', 'stream']) {
    for (const split of ['whole', 'bytes', 'random'] as Split[]) {
      test(`${name} (${split})`, async () => {
        await using hello = await serveFastcgi(helloApp, { port: 0, log: quietLog });
        const theirs = fixture(`uwsgi-fastcgi-response-${name}.bin`);
        const theirRecords = parseRecords(theirs);
        const socket = await connect(hello.port);
        const raw: Buffer[] = [];
        socket.on('data', (c: Buffer) => raw.push(c));
        const req = fixture(`uwsgi-fastcgi-response-${name}.req.bin`);
        const reply = await exchange(socket, pieces(req, split, 3), { ends: 1, keep: true });
        assert.deepEqual(shape(reply.records), shape(theirRecords));
        assert.equal(stdout(reply.records).toString('latin1'), stdout(theirRecords).toString('latin1'));
        assert.deepEqual(reply.records.at(-1), theirRecords.at(-1), 'END_REQUEST(appStatus 0, FCGI_REQUEST_COMPLETE)');
        // Neither pads its records.
        const size = (rs: typeof theirRecords) => rs.reduce((n, r) => n + 8 + r.content.length, 0);
        assert.equal(size(theirRecords), theirs.length);
        assert.equal(size(reply.records), Buffer.concat(raw).length);
        // The request set FCGI_KEEP_CONN: uWSGI closed anyway (it ignores the flag); tsgi keeps the
        // connection for the next request.
        const again = await exchange(socket, [req], { ends: 1 });
        assert.equal(stdout(again.records).toString('latin1'), stdout(theirRecords).toString('latin1'));
      });
    }
  }
});

describe('FCGI_KEEP_CONN', () => {
  test('several requests in sequence on one connection, then a close when the last one asks', async () => {
    const socket = await connect(srv.port);
    for (let i = 0; i < 3; i++) {
      const body = `body ${i}`;
      const req = request({ keepConn: true, params: GET('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(body.length) }), stdin: body });
      const r = await exchange(socket, [req], { ends: 1, keep: true });
      assert.equal(r.closed, false);
      assert.equal(parseEcho(responses(r.records)[0]!.body).body, body);
    }
    const last = await exchange(socket, [request({ params: GET('/hello') })]);
    assert.equal(last.closed, true);
    assert.equal(responses(last.records)[0]!.body.toString(), 'Hello, World!\n');
  });

  test('requests sent back to back in one write are answered in order', async () => {
    const reqs = ['/a', '/b', '/c'].map((p, i) => request({ keepConn: i < 2, params: GET(p, { QUERY_STRING: `n=${i}` }) }));
    const r = await send(srv.port, Buffer.concat(reqs));
    assert.equal(r.closed, true);
    assert.deepEqual(
      responses(r.records).map((x) => parseEcho(x.body).environ.QUERY_STRING),
      ['n=0', 'n=1', 'n=2'],
    );
  });

  test('a kept connection whose application never read the body goes on with the next request', async () => {
    const big = Buffer.alloc(300_000, 1);
    const first = request({ keepConn: true, params: GET('/hello', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(big.length) }), stdin: big });
    const second = request({ params: GET('/hello') });
    const r = await send(srv.port, Buffer.concat([first, second]));
    assert.deepEqual(
      responses(r.records).map((x) => x.status),
      ['200 OK', '200 OK'],
    );
    assert.equal(r.closed, true);
  });
});

describe('management records and other ids', () => {
  test('FCGI_GET_VALUES is answered with the names the server knows; the connection stays open', async () => {
    const ask = encodeRecord(
      FCGI.GET_VALUES,
      0,
      encodePairs([
        ['FCGI_MAX_CONNS', ''],
        ['FCGI_MAX_REQS', ''],
        ['FCGI_MPXS_CONNS', ''],
        ['X_OTHER', ''],
      ]),
    );
    const socket = await connect(srv.port);
    const r = await exchange(socket, [ask], { keep: true, until: (rs) => rs.length > 0 });
    const rec = r.records[0]!;
    assert.deepEqual([rec.type, rec.requestId], [FCGI.GET_VALUES_RESULT, 0]);
    assert.deepEqual(
      new Map(decodePairs(rec.content)),
      new Map([
        ['FCGI_MAX_CONNS', '1024'],
        ['FCGI_MAX_REQS', '1024'],
        ['FCGI_MPXS_CONNS', '0'],
      ]),
    );
    // Then a request on the same connection.
    const next = await exchange(socket, [request({ params: GET('/hello') })]);
    assert.equal(responses(next.records)[0]!.status, '200 OK');
  });

  test('unknown record types are answered with FCGI_UNKNOWN_TYPE; FCGI_DATA is ignored', async () => {
    const data = Buffer.concat([
      encodeRecord(42, 0, Buffer.from('??')),
      encodeRecord(FCGI.STDOUT, 1, Buffer.from('not from a web server')),
      encodeRecord(FCGI.DATA, 1, Buffer.from('filter data')),
      request({ params: GET('/hello') }),
    ]);
    const r = await send(srv.port, data);
    const unknown = r.records.filter((x) => x.type === FCGI.UNKNOWN_TYPE).map((x) => [x.requestId, x.content[0]]);
    assert.deepEqual(unknown, [
      [0, 42],
      [0, FCGI.STDOUT],
    ]);
    assert.equal(responses(r.records)[0]!.status, '200 OK');
  });

  test('a second request id while one is in progress gets FCGI_CANT_MPX_CONN; the first completes', async () => {
    const socket = await connect(srv.port);
    const first = request({ id: 1, params: GET('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '5' }) });
    // Hold back the first request's STDIN so that it is still in progress when the second begins.
    const head = first.subarray(0, first.length - 8); // all but the empty STDIN
    const second = request({ id: 2, params: GET('/hello') });
    const r1 = await exchange(socket, [head, second], { ends: 1, keep: true });
    assert.deepEqual(
      responses(r1.records).map((x) => [x.id, x.protocolStatus]),
      [[2, PROTOCOL_STATUS.CANT_MPX_CONN]],
    );
    const rest = Buffer.concat([encodeRecord(FCGI.STDIN, 1, Buffer.from('hello')), encodeRecord(FCGI.STDIN, 1)]);
    const r2 = await exchange(socket, [rest]);
    const done = responses(r2.records);
    assert.deepEqual(
      done.map((x) => [x.id, x.protocolStatus]),
      [[1, 0]],
    );
    assert.equal(parseEcho(done[0]!.body).body, 'hello');
  });

  test('a role other than RESPONDER gets FCGI_UNKNOWN_ROLE', async () => {
    const r = await send(srv.port, beginRequest(1, ROLE.AUTHORIZER, 0));
    assert.deepEqual(
      responses(r.records).map((x) => x.protocolStatus),
      [PROTOCOL_STATUS.UNKNOWN_ROLE],
    );
    assert.equal(r.closed, true);
  });

  test('FCGI_ABORT_REQUEST stops the body, calls close() and is answered with END_REQUEST', async () => {
    const closed = new Promise<void>((resolve) => (hooks.onClose = resolve));
    const socket = await connect(srv.port);
    const start = await exchange(socket, [request({ keepConn: true, params: GET('/forever') })], { until: (rs) => rs.length > 0, keep: true });
    assert.ok(start.records.length > 0);
    const r = await exchange(socket, [encodeRecord(FCGI.ABORT_REQUEST, 1)], { ends: 1, keep: true });
    await closed;
    const end = r.records.filter((x) => x.type === FCGI.END_REQUEST);
    assert.equal(end.length, 1);
    // The connection goes on: FCGI_KEEP_CONN was set.
    const next = await exchange(socket, [request({ params: GET('/hello') })]);
    assert.equal(responses(next.records)[0]!.body.toString(), 'Hello, World!\n');
  });
});

describe('bodies and errors', () => {
  test('STDIN is reassembled across records of any size, up to CONTENT_LENGTH', async () => {
    const body = Buffer.alloc(150_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 256;
    for (const max of [1, 7, 4096, 65535]) {
      const stdin = max === 1 ? body.subarray(0, 3000) : body;
      const req = request({ params: GET('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(stdin.length) }), stdin, max });
      const r = responses((await send(srv.port, req)).records)[0]!;
      assert.equal(parseEcho(r.body).body, stdin.toString('latin1'), `records of ${max}`);
    }
  });

  test('STDIN beyond CONTENT_LENGTH is not part of the body; without CONTENT_LENGTH the body is all of STDIN', async () => {
    const over = request({ params: GET('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '3' }), stdin: 'abcdef' });
    assert.equal(parseEcho(responses((await send(srv.port, over)).records)[0]!.body).body, 'abc');
    const none = request({ params: GET('/echo', { REQUEST_METHOD: 'POST' }), stdin: 'whole stream' });
    assert.equal(parseEcho(responses((await send(srv.port, none)).records)[0]!.body).body, 'whole stream');
  });

  test('STDIN that ends before CONTENT_LENGTH is a 400', async () => {
    const req = request({ params: GET('/echo', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '10' }), stdin: 'hello' });
    const r = responses((await send(srv.port, req)).records)[0]!;
    assert.equal(r.status, '400 Bad Request');
    assert.equal(
      r.headers.some(([n]) => n.toLowerCase() === 'connection'),
      false,
    );
  });

  test('malformed params are answered 400 without calling the application', async () => {
    const cases: Array<Array<[string, string]>> = [
      [['PATH_INFO', '/x']],
      Object.entries(GET('/x', { REQUEST_METHOD: 'G T' })),
      ...['abc', '-1', '1e3', ' 5', '5 ', '0x10', '1234567890123456'].map((v) => Object.entries(GET('/x', { CONTENT_LENGTH: v }))),
      [...Object.entries(GET('/x')), ['CONTENT_LENGTH', '1'], ['CONTENT_LENGTH', '2']],
      [...Object.entries(GET('/x')), ['HTTP_HOST', 'a'], ['HTTP_HOST', 'b']],
    ];
    const calls = hooks.calls;
    for (const params of cases) {
      const r = await send(srv.port, request({ params }));
      assert.equal(responses(r.records)[0]?.status, '400 Bad Request', JSON.stringify(params));
      assert.equal(r.closed, true);
    }
    const badPairs = Buffer.concat([beginRequest(1), encodeRecord(FCGI.PARAMS, 1, Uint8Array.of(0x80, 0, 0)), encodeRecord(FCGI.PARAMS, 1)]);
    assert.equal(responses((await send(srv.port, badPairs)).records)[0]?.status, '400 Bad Request');
    assert.equal(hooks.calls, calls);
  });

  test('PARAMS above maxParamsSize are answered 431', async () => {
    await using small = await serveFastcgi(testApp, { port: 0, log: quietLog, maxParamsSize: 1000 });
    const r = await send(small.port, request({ params: GET('/x', { HTTP_X_BIG: 'b'.repeat(2000) }), max: 500 }));
    assert.equal(responses(r.records)[0]?.status, '431 Request Header Fields Too Large');
  });

  test('a stream that is not FastCGI is closed without a reply', async () => {
    const r = await send(srv.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    assert.deepEqual([r.closed, r.records.length], [true, 0]);
  });

  test('an application failing mid-body: no END_REQUEST, the connection is reset', async () => {
    const r = await send(srv.port, request({ keepConn: true, params: GET('/fail-mid') }));
    assert.equal(r.closed, true);
    assert.equal(
      r.records.some((x) => x.type === FCGI.END_REQUEST),
      false,
    );
    assert.ok(
      Buffer.concat(r.records.map((x) => x.content))
        .toString()
        .includes('part one'),
    );
  });

  test('a 10 MB streamed response arrives whole, in unpadded records of at most 65535 bytes', async () => {
    const socket = await connect(srv.port);
    const raw: Buffer[] = [];
    socket.on('data', (c: Buffer) => raw.push(c));
    const r = await exchange(socket, [request({ params: GET('/stream') })], { timeoutMs: 60_000 });
    assert.equal(r.closed, true);
    const res = responses(r.records)[0]!;
    assert.equal(res.body.length, 10 * 1024 * 1024);
    for (let i = 0; i < res.body.length; i += 65536) assert.equal(res.body[i], (i / 65536) % 251);
    assert.ok(r.records.every((x) => x.content.length <= 65535));
    const contentBytes = r.records.reduce((n, x) => n + 8 + x.content.length, 0);
    assert.equal(Buffer.concat(raw).length, contentBytes, 'no padding');
  });

  test('HEAD: the head only, with the Content-Length a GET would have', async () => {
    const r = responses((await send(srv.port, request({ params: GET('/hello', { REQUEST_METHOD: 'HEAD' }) }))).records)[0]!;
    assert.equal(r.body.length, 0);
    assert.deepEqual(r.headers, [
      ['Content-Type', 'text/plain'],
      ['Content-Length', '14'],
    ]);
  });

  test("a web server that drops the connection mid-response: the body's close() is called", async () => {
    const closed = new Promise<void>((resolve) => (hooks.onClose = resolve));
    const r = await send(srv.port, request({ params: GET('/forever') }), { until: (rs) => rs.length > 0 });
    assert.ok(r.records.length > 0);
    await closed;
  });
});

describe('options', () => {
  test('stderr: wsgi.errors goes to the web server as FCGI_STDERR records', async () => {
    await using withStderr = await serveFastcgi(testApp, { port: 0, log: quietLog, stderr: true });
    const r = await send(withStderr.port, request({ params: GET('/errors') }));
    const types = r.records.map((x) => [x.type, x.content.length > 0]);
    assert.deepEqual(types, [
      [FCGI.STDERR, true],
      [FCGI.STDOUT, true],
      [FCGI.STDOUT, false],
      [FCGI.STDERR, false],
      [FCGI.END_REQUEST, true],
    ]);
    assert.equal(responses(r.records)[0]!.stderr.toString(), 'oops: something to log\n');
    // Without the option the line goes to the log.
    logLines.length = 0;
    const plain = await send(srv.port, request({ params: GET('/errors') }));
    assert.equal(
      plain.records.some((x) => x.type === FCGI.STDERR),
      false,
    );
    assert.ok(logLines.some((l) => l.includes('oops: something to log')));
  });

  test('a Unix socket', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-fcgi-'));
    try {
      const sock = path.join(dir, 'fcgi.sock');
      const unix = await serveFastcgi(testApp, { path: sock, log: quietLog });
      assert.equal(unix.path, sock);
      const r = await send(sock, request({ params: GET('/echo') }));
      const env = parseEcho(responses(r.records)[0]!.body).environ;
      assert.equal(env.SERVER_NAME, 'test');
      assert.equal('REMOTE_ADDR' in env, false);
      await unix.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('allow: a peer outside the list is refused', async () => {
    await using closedDoor = await serveFastcgi(testApp, { port: 0, log: quietLog, allow: ['10.0.0.0/8'] });
    const r = await send(closedDoor.port, request({ params: GET('/hello') }));
    assert.deepEqual([r.closed, r.records.length], [true, 0]);
  });

  test('close() lets a request in progress finish', async () => {
    let release = () => {};
    hooks.gate = new Promise<void>((r) => (release = r));
    const s = await serveFastcgi(testApp, { port: 0, log: quietLog });
    const calls = hooks.calls;
    const pending = send(s.port, request({ params: GET('/wait') }));
    while (hooks.calls === calls) await new Promise((r) => setTimeout(r, 5));
    const closing = s.close();
    release();
    const r = await pending;
    assert.equal(responses(r.records)[0]!.status, '200 OK');
    assert.equal(r.closed, true);
    await closing;
    hooks.gate = Promise.resolve();
  });
});
