// The hostile-input catalogue of shared/research/reliability.md (c) (C1–C6, H1–H56) as a test table
// against the real HTTP door: each case is sent over a raw socket to a server on 127.0.0.1, whole,
// one byte per write, and in seeded random pieces. Every case must end safe:
//   - no response carries `ECHO GET /smuggled`, and the application never even runs for /smuggled
//     (a smuggled request whose answer is lost still has its side effects);
//   - the first response has one of the row's statuses, or the server closes without one where the
//     row allows it; after a refusal the server closes the connection; a refused request never
//     reaches the application (when only its body is broken, H31–H37, the application runs but its
//     read of the body fails: it never gets a broken body as whole);
//   - a liveness probe (a normal GET on a new connection) answers 200 afterwards.
// Rows marked `+S` are additions: a request the door refuses (or must close after), followed by a
// pipelined ‹S›. Slow clients (H51–H54) run against a second server with short timeouts, and must not
// starve a normal request; H55/H56 reset the connection mid-body and mid-response.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ENGINE } from '../helpers/engine.js';
import type { Application, Body, Environ } from '../../src/spec.js';
import { serve, type ServeOptions, type ServerHandle } from '../../src/http/serve.js';
import type { Logger } from '../../src/runner/log.js';
import { Dripper, describeSplit, exchange, type RawOutcome, type Split } from './raw-client.js';
import { ROWS, many, pad4, type Row } from './hostile-cases.js';

// --- the echo application (reliability.md's echo contract) -------------------------------------

const BIG = 16 * 1024 * 1024;
const BIG_PIECE = new Uint8Array(64 * 1024).fill(0x62);

interface Seen {
  /** `METHOD PATH_INFO` of every request the application was called for, in order. */
  calls: string[];
  /** The same, for the requests whose body the application read to its end without an error. */
  reads: string[];
  /** Set when the body of the last GET /big was closed (PEP 3333 R7). */
  bigClosed: boolean;
}

function echoApp(seen: Seen): Application {
  return async (environ: Environ, start) => {
    seen.calls.push(`${environ.REQUEST_METHOD} ${environ.PATH_INFO}`);
    if (environ.PATH_INFO === '/big') {
      seen.bigClosed = false;
      start('200 OK', [
        ['Content-Type', 'application/octet-stream'],
        ['Content-Length', String(BIG)],
      ]);
      const body: Body = {
        *[Symbol.iterator]() {
          for (let sent = 0; sent < BIG; sent += BIG_PIECE.length) yield BIG_PIECE;
        },
        close() {
          seen.bigClosed = true;
        },
      };
      return body;
    }
    // Read the body fully, so that a body holding a request is consumed as a body (smuggling would show).
    const body = await environ['wsgi.input'].read();
    seen.reads.push(`${environ.REQUEST_METHOD} ${environ.PATH_INFO}`);
    const xecho = Buffer.from((environ.HTTP_X_ECHO as string | undefined) ?? '', 'latin1').toString('hex');
    const headers = Object.keys(environ).filter((k) => k.startsWith('HTTP_')).length;
    const text =
      `ECHO ${environ.REQUEST_METHOD} ${environ.PATH_INFO}\nlen=${body.length}\nxecho=${xecho}\n` +
      `host=${(environ.HTTP_HOST as string | undefined) ?? ''}\nheaders=${headers}\n`;
    start('200 OK', [['Content-Type', 'text/plain; charset=latin-1']]);
    return [Buffer.from(text, 'latin1')];
  };
}

function quietLog(lines: string[]): Logger {
  const push = (m: string) => {
    lines.push(m);
    if (lines.length > 500) lines.splice(0, 250);
  };
  return { error: push, warn: push, info: push };
}

async function start(options: ServeOptions): Promise<{ server: ServerHandle; seen: Seen; log: string[] }> {
  const seen: Seen = { calls: [], reads: [], bigClosed: true };
  const log: string[] = [];
  const server = await serve(echoApp(seen), { ...ENGINE, host: '127.0.0.1', port: 0, log: quietLog(log), ...options });
  return { server, seen, log };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A normal GET on a new connection must answer 200 with the echo body. */
async function assertAlive(port: number, context: string): Promise<void> {
  const r = await exchange(port, 'GET /alive HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', {
    timeoutMs: 2000,
    waitClose: true,
  });
  assert.equal(r.responses[0]?.status, 200, `${context}: liveness probe got ${show(r)}`);
  assert.match(r.responses[0]!.body.toString('latin1'), /^ECHO GET \/alive\n/, `${context}: liveness probe body`);
}

function show(r: RawOutcome): string {
  const text = r.data.length > 400 ? r.data.subarray(0, 400).toString('latin1') + '…' : r.data.toString('latin1');
  return `${JSON.stringify(text)} (closed=${r.closed}, reset=${r.reset}, timedOut=${r.timedOut}, ${r.elapsedMs} ms)`;
}

/** The splits each row is replayed under: whole, one byte per write, and two seeded random cuttings. */
function splitsFor(row: Row): Split[] {
  let seed = 0;
  for (const c of row.id) seed = (seed * 31 + c.charCodeAt(0)) >>> 0;
  return [
    { kind: 'whole' },
    { kind: 'bytes' },
    { kind: 'random', seed, max: 7 },
    { kind: 'random', seed: seed ^ 0x5eed, max: row.bytes.length > 64 * 1024 ? 4096 : 200 },
  ];
}

const SMUGGLED_ECHO = 'ECHO GET /smuggled';

/** Checks one exchange against its row; `calls` and `reads` are what the application did during it. */
function judge(row: Row, split: Split, r: RawOutcome, calls: string[], reads: string[]): void {
  const where = `${row.id} [${describeSplit(split)}]`;
  assert.ok(!r.data.toString('latin1').includes(SMUGGLED_ECHO), `${where}: SMUGGLED: ${show(r)}`);
  assert.ok(!calls.some((c) => c.endsWith(' /smuggled')), `${where}: the application ran for /smuggled (${calls.join(', ')})`);
  const statuses = r.responses.map((x) => x.status);
  const answered = row.expect.some((s) => s < 300);
  if (statuses.length === 0) {
    assert.ok(row.closeOk, `${where}: no response, expected ${row.expect.join('/')}: ${show(r)}`);
    assert.ok(r.closed, `${where}: no response and the connection is still open: ${show(r)}`);
  } else {
    assert.ok(row.expect.includes(statuses[0]!), `${where}: status ${statuses[0]}, expected ${row.expect.join('/')}: ${show(r)}`);
    if (row.responses !== undefined) {
      assert.equal(statuses.length, row.responses, `${where}: ${statuses.length} responses: ${show(r)}`);
      for (const s of statuses) assert.ok(row.expect.includes(s), `${where}: statuses ${statuses.join(',')}`);
    } else {
      assert.equal(statuses.length, 1, `${where}: more than one response: ${show(r)}`);
    }
    assert.equal(r.rest.length, 0, `${where}: bytes after the last whole response: ${show(r)}`);
    if (statuses[0]! >= 400) {
      // A refusal closes the connection, and the application never saw the request.
      assert.ok(r.closed, `${where}: refused with ${statuses[0]} but the connection stayed open: ${show(r)}`);
      assert.equal(r.responses[0]!.headers.connection, 'close', `${where}: refusal without Connection: close`);
      assert.deepEqual(reads, [], `${where}: the application read the body of a refused request`);
      if (!row.bodyError) assert.deepEqual(calls, [], `${where}: the application ran for a refused request`);
    } else {
      const body = r.responses[0]!.body.toString('latin1');
      if (row.echo !== undefined) assert.ok(body.startsWith(row.echo), `${where}: body ${JSON.stringify(body)}, expected ${JSON.stringify(row.echo)}…`);
      row.check?.(body);
    }
  }
  if (!answered) {
    assert.deepEqual(reads, [], `${where}: the application read the body of a request that must be refused`);
    if (!row.bodyError) assert.deepEqual(calls, [], `${where}: the application ran for a request that must be refused`);
  }
  assert.ok(!r.timedOut, `${where}: the exchange neither closed nor settled within its bound: ${show(r)}`);
}

describe('hostile catalogue (reliability.md (c)) against the HTTP door', () => {
  let server: ServerHandle;
  let seen: Seen;
  before(async () => {
    // headersTimeout 2 s bounds H40 (the only case that waits for more head); everything else runs
    // with the door's defaults.
    ({ server, seen } = await start({ headersTimeout: 2000 }));
  });
  after(() => server.close());

  for (const row of ROWS) {
    it(`${row.id}: ${row.title}`, { timeout: 60_000 }, async (t) => {
      const outcomes: string[] = [];
      for (const split of splitsFor(row)) {
        const mark = seen.calls.length;
        const markReads = seen.reads.length;
        // Byte by byte, a 1 MiB case stops as soon as the server answers and closes (at its 16 KiB head limit).
        const r = await exchange(server.port, row.bytes, {
          split,
          timeoutMs: row.timeoutMs ?? (split.kind === 'whole' ? 5000 : 15_000),
          // Wait for the close whenever a close is due; keep-alive answers settle after 250 ms of quiet.
          waitClose: row.id !== 'H38',
        });
        judge(row, split, r, seen.calls.slice(mark), seen.reads.slice(markReads));
        await assertAlive(server.port, `${row.id} [${describeSplit(split)}]`);
        const statuses = r.responses.map((x) => x.status).join(',') || 'no response';
        outcomes.push(`${split.kind}: ${statuses}${r.closed ? ', closed' : ''} (${r.elapsedMs} ms)`);
      }
      t.diagnostic(`${row.id}: ${outcomes.join(' | ')}`);
    });
  }
});

describe('header count is counted, never silently truncated (H50)', () => {
  let server: ServerHandle;
  before(async () => {
    ({ server } = await start({ limitRequestFields: 2000 }));
  });
  after(() => server.close());

  it('passes all of 1500 header fields to the application when the limit allows them', async () => {
    // node:http keeps only about 1000 header fields by default and drops the rest without a word.
    const req = `GET /many HTTP/1.1\r\nHost: h\r\n${many(1499, (i) => `x${pad4(i)}: 1\r\n`)}Connection: close\r\n\r\n`;
    assert.ok(req.length < 16384, 'under maxHeaderSize');
    const r = await exchange(server.port, req, { waitClose: true });
    assert.equal(r.responses[0]?.status, 200, show(r));
    // 1499 x-fields and Host (Connection is hop-by-hop but still in environ as HTTP_CONNECTION).
    assert.match(r.responses[0]!.body.toString('latin1'), /\nheaders=1501\n/);
  });

  it('answers 431 past the limit', async () => {
    const req = `GET /many HTTP/1.1\r\nHost: h\r\n${many(2000, (i) => `x${pad4(i)}: 1\r\n`)}Connection: close\r\n\r\n`;
    const r = await exchange(server.port, req, { waitClose: true, timeoutMs: 3000 });
    assert.equal(r.responses[0]?.status, 431, show(r));
  });
});

// --- slow clients and resets (H51–H56) ---------------------------------------------------------

describe('slow clients and resets (H51–H56) with short timeouts', () => {
  // The catalogue drips one byte a second against 10–60 s timeouts; here the same shapes run against
  // 1 s timeouts (requestTimeout 3 s), with drips faster than the idle timeouts so that only the
  // whole-head and whole-request bounds can cut them. node:http checks its timeouts once a second.
  const HEADERS_TIMEOUT = 1000;
  const BODY_TIMEOUT = 1000;
  const REQUEST_TIMEOUT = 3000;
  const CHECK = 1000;
  const SLACK = 1000;
  let server: ServerHandle;
  let seen: Seen;
  before(async () => {
    ({ server, seen } = await start({
      headersTimeout: HEADERS_TIMEOUT,
      bodyTimeout: BODY_TIMEOUT,
      requestTimeout: REQUEST_TIMEOUT,
      gracefulTimeout: 500,
    }));
  });
  after(() => server.close());

  /** The server's answer to a dripping client: nothing, or one refusal (408/400). */
  function assertCut(d: Dripper, bound: number, where: string): void {
    assert.ok(d.closed, `${where}: still open after ${bound} ms`);
    assert.ok(d.lifetime <= bound, `${where}: cut after ${d.lifetime} ms (bound ${bound})`);
    const text = d.text;
    assert.ok(!text.includes(SMUGGLED_ECHO));
    if (text.length > 0) assert.match(text, /^HTTP\/1\.1 (408|400) /, `${where}: ${JSON.stringify(text)}`);
  }

  async function waitAll(ds: Dripper[], bound: number): Promise<void> {
    await Promise.race([Promise.all(ds.map((d) => d.closedPromise)), sleep(bound)]);
  }

  it('H51: slowloris, header bytes dripped: cut (408) within headersTimeout', { timeout: 10_000 }, async (t) => {
    const d = new Dripper(server.port, 'GET /h51 HTTP/1.1\r\nHost: h\r\nX-a: ', 'a', 200);
    const bound = HEADERS_TIMEOUT + CHECK + SLACK;
    await waitAll([d], bound);
    d.stop();
    assertCut(d, bound, 'H51');
    assert.match(d.text, /^HTTP\/1\.1 408 /, 'H51 is answered 408');
    t.diagnostic(`H51: ${d.text.split('\r\n')[0]} after ${d.lifetime} ms`);
    await assertAlive(server.port, 'H51');
  });

  it('H52: 16 slowloris connections do not starve a normal GET', { timeout: 10_000 }, async () => {
    const ds = Array.from({ length: 16 }, (_, i) => new Dripper(server.port, `GET /h52-${i} HTTP/1.1\r\nHost: h\r\nX-a: `, 'a', 200));
    await sleep(300);
    const t0 = Date.now();
    await assertAlive(server.port, 'H52');
    const served = Date.now() - t0;
    const open = ds.filter((d) => !d.closed).length;
    assert.equal(open, 16, 'the slow connections were still open while the GET was served');
    assert.ok(served < 1000, `the GET took ${served} ms`);
    const bound = HEADERS_TIMEOUT + CHECK + SLACK;
    await waitAll(ds, bound);
    for (const d of ds) d.stop();
    ds.forEach((d, i) => assertCut(d, bound + 300, `H52 #${i}`));
    assert.ok(!seen.calls.some((c) => c.includes('/h52-')), 'no slowloris request reached the application');
  });

  it('H53: slow body dripped faster than bodyTimeout: cut by requestTimeout', { timeout: 15_000 }, async (t) => {
    const d = new Dripper(server.port, 'POST /h53 HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n', 'a', 200);
    const bound = REQUEST_TIMEOUT + CHECK + SLACK;
    await waitAll([d], bound);
    d.stop();
    assertCut(d, bound, 'H53');
    // The drip kept the idle bodyTimeout from firing: only the whole-request bound could cut it.
    assert.ok(d.lifetime >= REQUEST_TIMEOUT - 100, `H53 cut after ${d.lifetime} ms, before requestTimeout`);
    assert.match(d.text, /^HTTP\/1\.1 408 /, 'H53 is answered 408 (the application had not started its response)');
    assert.ok(!seen.reads.includes('POST /h53'), 'the application never got the cut body as whole');
    t.diagnostic(`H53: ${d.text.split('\r\n')[0]} after ${d.lifetime} ms`);
    await assertAlive(server.port, 'H53');
  });

  it('H53 (idle): a body that stops is answered 408 after bodyTimeout', { timeout: 10_000 }, async () => {
    const r = await exchange(server.port, 'POST /h53i HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n0123456789', {
      waitClose: true,
      timeoutMs: BODY_TIMEOUT + SLACK * 2,
    });
    assert.equal(r.responses[0]?.status, 408, show(r));
    assert.ok(r.closed, show(r));
    await assertAlive(server.port, 'H53 idle');
  });

  it('H54: 16 slow-body connections do not starve a normal GET', { timeout: 15_000 }, async () => {
    const ds = Array.from({ length: 16 }, (_, i) => new Dripper(server.port, `POST /h54-${i} HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n`, 'a', 200));
    await sleep(300);
    const t0 = Date.now();
    await assertAlive(server.port, 'H54');
    const served = Date.now() - t0;
    assert.equal(ds.filter((d) => !d.closed).length, 16, 'the slow bodies were still open while the GET was served');
    assert.ok(served < 1000, `the GET took ${served} ms`);
    const bound = REQUEST_TIMEOUT + CHECK + SLACK;
    await waitAll(ds, bound);
    for (const d of ds) d.stop();
    ds.forEach((d, i) => assertCut(d, bound + 300, `H54 #${i}`));
  });

  it('H55: client resets mid-body (Content-Length 10 MB, 64 KiB sent)', { timeout: 10_000 }, async () => {
    const net = await import('node:net');
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => {});
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write('POST /h55 HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000\r\n\r\n');
    await new Promise<void>((r) => socket.write(Buffer.alloc(64 * 1024, 0x61), () => r()));
    await sleep(50);
    socket.resetAndDestroy();
    await sleep(100);
    await assertAlive(server.port, 'H55');
    await waitConnections(server, 0, 2000, 'H55');
  });

  it('H56: client resets mid-response (GET /big, 64 KiB read)', { timeout: 10_000 }, async () => {
    const net = await import('node:net');
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => {});
    let got = 0;
    const enough = new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 64 * 1024) resolve();
      }),
    );
    socket.write('GET /big HTTP/1.1\r\nHost: h\r\n\r\n');
    await enough;
    socket.resetAndDestroy();
    await assertAlive(server.port, 'H56');
    // The body's close() runs once the door sees the client gone (PEP 3333 R7, reliability.md F18).
    const t0 = Date.now();
    while (!seen.bigClosed && Date.now() - t0 < 2000) await sleep(20);
    assert.ok(seen.bigClosed, 'the /big body was closed after the reset');
    await waitConnections(server, 0, 2000, 'H56');
  });
});

async function waitConnections(server: ServerHandle, n: number, ms: number, where: string): Promise<void> {
  const count = () => new Promise<number>((r) => server.server.getConnections((_e, c) => r(c)));
  const t0 = Date.now();
  let c = await count();
  while (c > n && Date.now() - t0 < ms) {
    await sleep(20);
    c = await count();
  }
  assert.equal(c, n, `${where}: ${c} connections still open`);
}
