// The FastCGI door's graceful stop (drain) over real sockets, with a raw client that keeps its
// connection the way a web server's pool does (FCGI_KEEP_CONN). The rule (src/fastcgi/connection.ts,
// nudge()): a kept connection is never closed while the web server may be about to use it; it is
// nudged instead (an empty FCGI_STDERR record, sent with END_REQUEST or alone on an idle connection),
// nginx closes it on that, and a request the web server sends anyway is answered. What nginx does with
// the nudge is proven against the real nginx in test/prefork/keepalive.test.ts; here, the door's side.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { describe, it } from 'node:test';
import { FCGI, RecordParser, type FcgiRecord } from '../../src/protocol/fastcgi.js';
import { serveFastcgi, type FastcgiOptions } from '../../src/fastcgi/index.js';
import type { Application } from '../../src/spec.js';
import { GET, connect, request, responses } from './client.js';
import { quietLog } from './apps.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The web server's side of one connection: the records (with the read each came in), and how it ended. */
interface Side {
  records: Array<FcgiRecord & { read: number }>;
  /** The server closed with a FIN. */
  fin: boolean;
  /** The server reset the connection. */
  reset: boolean;
  closed: boolean;
}

function watch(socket: net.Socket): Side {
  const side: Side = { records: [], fin: false, reset: false, closed: false };
  let read = 0;
  const parser = new RecordParser((r) => side.records.push({ ...r, content: r.content.slice(), read }));
  socket.on('data', (d: Buffer) => {
    read++;
    parser.push(d);
  });
  socket.on('end', () => (side.fin = true));
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET') side.reset = true;
  });
  socket.on('close', () => (side.closed = true));
  return side;
}

const ends = (side: Side) => side.records.filter((r) => r.type === FCGI.END_REQUEST).length;
const isNudge = (r: FcgiRecord | undefined) => r !== undefined && r.type === FCGI.STDERR && r.content.length === 0;
/** The record types, for order checks: O STDOUT, E END_REQUEST, n the nudge. */
const shape = (side: Side) =>
  side.records.map((r) => (r.type === FCGI.STDOUT ? 'O' : r.type === FCGI.END_REQUEST ? 'E' : isNudge(r) ? 'n' : `?${r.type}`)).join('');

/** `/slow` waits for release(); every other path answers its own path at once. */
function gated(): { app: Application; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const app: Application = async (environ, start) => {
    if (environ.PATH_INFO === '/slow') await gate;
    start('200 OK', [['Content-Type', 'text/plain']]);
    return [String(environ.PATH_INFO)];
  };
  return { app, release };
}

/** A server, and a kept connection that has had one request answered (it sits in the "pool"). */
async function pooled(app: Application, options: FastcgiOptions = {}) {
  const server = await serveFastcgi(app, { port: 0, log: quietLog, ...options });
  const socket = await connect(server.port);
  const side = watch(socket);
  socket.write(request({ id: 1, keepConn: true, params: GET('/first') }));
  await until('the first answer', () => ends(side) === 1);
  return { server, socket, side };
}

describe('FastCGI drain: kept connections are nudged, never closed under the web server', () => {
  it('a request in progress when the drain begins is answered; the nudge follows its END_REQUEST in the same read', async () => {
    const { app, release } = gated();
    const server = await serveFastcgi(app, { port: 0, log: quietLog });
    const socket = await connect(server.port);
    const side = watch(socket);
    socket.write(request({ id: 1, keepConn: true, params: GET('/slow') }));
    await sleep(50);
    const closing = server.close();
    await sleep(50);
    release();
    await until('the nudge', () => isNudge(side.records.at(-1)));
    const [end, nudge] = side.records.slice(-2);
    assert.equal(end!.type, FCGI.END_REQUEST);
    assert.equal(nudge!.requestId, 1, 'the nudge carries the request id (nginx checks it is 1)');
    // nginx pools a connection only when END_REQUEST ends what it read: bytes after it in the same read
    // make it close the connection instead.
    assert.equal(nudge!.read, end!.read, 'END_REQUEST and the nudge came in one read');
    assert.deepEqual(
      responses(side.records).map((r) => [r.status, r.body.toString()]),
      [['200 OK', '/slow']],
    );
    await sleep(100);
    assert.equal(side.closed, false, 'the server leaves the closing to the web server');
    // What nginx does on those bytes: it closes the connection. The drain ends with it.
    const t0 = Date.now();
    socket.destroy();
    await closing;
    assert.ok(Date.now() - t0 < 1000, `close() returned ${Date.now() - t0} ms after the web server closed`);
  });

  it('an idle kept connection is nudged as soon as the drain begins; the web server closing it ends the drain', async () => {
    const { server, socket, side } = await pooled(gated().app);
    const t0 = Date.now();
    const closing = server.close();
    await until('the nudge', () => isNudge(side.records.at(-1)), 500);
    assert.equal(shape(side), 'OOEn');
    assert.equal(side.closed, false);
    socket.destroy();
    await closing;
    assert.ok(Date.now() - t0 < 1000, `close() took ${Date.now() - t0} ms`);
  });

  it('a request the web server sent as the nudge went out is answered: the nudge comes first, ahead of the answer', async () => {
    const { server, socket, side } = await pooled(gated().app);
    const closing = server.close();
    // Sent in the same instant as the drain begins: the nudge and this request cross on the wire, as
    // when nginx took the connection from its pool before it saw the nudge.
    socket.write(request({ id: 1, keepConn: true, params: GET('/crossed') }));
    await until('the second answer', () => ends(side) === 2);
    await until('the nudge after it', () => isNudge(side.records.at(-1)));
    // nginx reads the first nudge as the first record of its answer, and skips it (an empty STDERR).
    assert.equal(shape(side), 'OOEnOOEn');
    assert.deepEqual(
      responses(side.records).map((r) => r.body.toString()),
      ['/first', '/crossed'],
    );
    assert.equal(side.closed, false);
    socket.destroy();
    await closing;
  });

  it('a web server that ignores the nudge: its next request is answered and nudged; the one after is answered, then the connection closes (FIN)', async () => {
    const { server, socket, side } = await pooled(gated().app);
    const closing = server.close();
    await until('the nudge', () => isNudge(side.records.at(-1)));
    socket.write(request({ id: 1, keepConn: true, params: GET('/second') }));
    await until('the second answer and its nudge', () => ends(side) === 2 && isNudge(side.records.at(-1)));
    socket.write(request({ id: 1, keepConn: true, params: GET('/third') }));
    await until('the server to close', () => side.fin);
    assert.equal(shape(side), 'OOEnOOEnOOE', 'no nudge after the last END_REQUEST: nothing is left unread before the FIN');
    assert.deepEqual(
      responses(side.records).map((r) => r.body.toString()),
      ['/first', '/second', '/third'],
    );
    assert.equal(side.reset, false);
    socket.end();
    await closing;
  });

  it('an idle nudged connection that neither closes nor sends is reset after 2 s', async () => {
    const { server, side } = await pooled(gated().app);
    const t0 = Date.now();
    await server.close();
    const took = Date.now() - t0;
    // A reset, not a FIN: a web server that checks a pooled connection only when it takes one (Apache)
    // sees a FIN behind the unread nudge as a live connection, a reset as a dead one.
    await until('the reset', () => side.closed);
    assert.deepEqual({ reset: side.reset, fin: side.fin }, { reset: true, fin: false });
    assert.ok(took >= 1500 && took < 4000, `close() took ${took} ms (the nudge wait: 2000 ms)`);
  });

  it('at the graceful deadline an idle nudged connection is reset, not closed with a FIN', async () => {
    const { server, side } = await pooled(gated().app, { gracefulTimeout: 300 });
    const t0 = Date.now();
    await server.close();
    const took = Date.now() - t0;
    await until('the reset', () => side.closed);
    assert.deepEqual({ reset: side.reset, fin: side.fin }, { reset: true, fin: false });
    assert.ok(took >= 250 && took < 1500, `close() took ${took} ms (graceful timeout: 300 ms)`);
  });

  it('answers the request sent behind one in progress when the drain begins; the nudge comes after the last', async () => {
    const { app, release } = gated();
    const server = await serveFastcgi(app, { port: 0, log: quietLog });
    const socket = await connect(server.port);
    const side = watch(socket);
    socket.write(request({ id: 1, keepConn: true, params: GET('/slow') }));
    socket.write(request({ id: 1, keepConn: true, params: GET('/behind') }));
    await sleep(50);
    const closing = server.close();
    await sleep(50);
    release();
    await until('both answers and the nudge', () => ends(side) === 2 && isNudge(side.records.at(-1)));
    assert.equal(shape(side), 'OOEOOEn');
    assert.deepEqual(
      responses(side.records).map((r) => r.body.toString()),
      ['/slow', '/behind'],
    );
    socket.destroy();
    await closing;
  });
});

describe('FastCGI drain: connections that are not kept', () => {
  it('a request without FCGI_KEEP_CONN during the drain: END_REQUEST, then the server closes (no nudge)', async () => {
    const { app, release } = gated();
    const server = await serveFastcgi(app, { port: 0, log: quietLog });
    const socket = await connect(server.port);
    const side = watch(socket);
    socket.write(request({ id: 1, keepConn: false, params: GET('/slow') }));
    await sleep(50);
    const closing = server.close();
    release();
    await until('the server to close', () => side.fin);
    assert.equal(shape(side), 'OOE');
    socket.end();
    await closing;
  });

  it('a connection with no request yet gets the drain-idle moment: a request sent 100 ms in is answered', async () => {
    const server = await serveFastcgi(gated().app, { port: 0, log: quietLog });
    const socket = await connect(server.port);
    const side = watch(socket);
    await sleep(50); // accepted by the server before the drain begins
    const closing = server.close();
    await sleep(100);
    assert.equal(side.closed, false, 'still open 100 ms into the drain');
    socket.write(request({ id: 1, keepConn: false, params: GET('/late') }));
    await until('the server to close', () => side.fin);
    assert.deepEqual(
      responses(side.records).map((r) => r.body.toString()),
      ['/late'],
    );
    socket.end();
    await closing;
  });

  it('a connection that sends nothing is closed (FIN) after the drain-idle moment', async () => {
    const server = await serveFastcgi(gated().app, { port: 0, log: quietLog });
    const socket = await connect(server.port);
    const side = watch(socket);
    await sleep(50);
    const t0 = Date.now();
    const closing = server.close();
    await until('the server to close', () => side.fin, 4000);
    const took = Date.now() - t0;
    assert.equal(side.records.length, 0);
    assert.ok(took >= 1500 && took < 4000, `closed after ${took} ms (drain-idle: 2000 ms)`);
    socket.end();
    await closing;
  });
});
