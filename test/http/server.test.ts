// The HTTP door over real sockets: keep-alive, pipelining, chunked bodies, 100-continue, limits,
// framing, disconnects, wsgiref's makeServer API and the graceful stop.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ENGINE } from '../helpers/engine.js';
import type { Application, Body, Environ } from '../../src/spec.js';
import { makeServer, serve, type ServerHandle } from '../../src/http/serve.js';
import { silentLogger, type Logger } from '../../src/runner/log.js';
import { rawRequest, sleep, statuses } from '../helpers/net.js';

/** Echoes what the app saw: method, path, query, selected environ keys and the body it read. */
const echo: Application = async (environ, start) => {
  const body = await environ['wsgi.input'].read();
  const seen = {
    method: environ.REQUEST_METHOD,
    path: environ.PATH_INFO,
    query: environ.QUERY_STRING,
    serverName: environ.SERVER_NAME,
    serverPort: environ.SERVER_PORT,
    contentLength: environ.CONTENT_LENGTH ?? null,
    terminated: environ['wsgi.input_terminated'],
    headers: Object.fromEntries(Object.entries(environ).filter(([k]) => k.startsWith('HTTP_'))),
    body: Buffer.from(body).toString('latin1'),
  };
  start('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(seen)];
};

function jsonBody(raw: string): Record<string, unknown> {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
}

describe('HTTP door', () => {
  let server: ServerHandle;
  const logged: string[] = [];
  const log: Logger = { error: (m) => logged.push(m), warn: (m) => logged.push(m), info: (m) => logged.push(m) };
  before(async () => {
    server = await serve(echo, { ...ENGINE, host: '127.0.0.1', port: 0, log, headersTimeout: 1500, bodyTimeout: 1000 });
  });
  after(() => server.close());

  it('answers a GET through fetch with Date and the app headers', async () => {
    const res = await fetch(`${server.url}/a/b?x=1`, { headers: { 'X-Thing': 'yes' } });
    assert.equal(res.status, 200);
    assert.ok(res.headers.get('date'));
    const seen = (await res.json()) as Record<string, unknown>;
    assert.equal(seen.path, '/a/b');
    assert.equal(seen.query, 'x=1');
    assert.equal(seen.serverName, '127.0.0.1', 'SERVER_NAME is the bind address');
    assert.equal(seen.serverPort, String(server.port));
    assert.equal((seen.headers as Record<string, string>).HTTP_X_THING, 'yes');
  });

  it('never takes SERVER_NAME from the Host header', async () => {
    const r = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: evil.example:9999\r\nConnection: close\r\n\r\n');
    const seen = jsonBody(r.text);
    assert.equal(seen.serverName, '127.0.0.1');
    assert.equal((seen.headers as Record<string, string>).HTTP_HOST, 'evil.example:9999');
  });

  it('keeps the connection alive between requests', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /one HTTP/1.1\r\nHost: h\r\n\r\n');
    while (!data.includes('"/one"')) await sleep(10);
    socket.write('GET /two HTTP/1.1\r\nHost: h\r\n\r\n');
    while (!data.includes('"/two"')) await sleep(10);
    assert.deepEqual(statuses(data), [200, 200]);
    assert.match(data, /Connection: keep-alive/);
    assert.equal(socket.destroyed, false);
    socket.destroy();
  });

  it('answers pipelined requests in order', async () => {
    const r = await rawRequest(server.port, 'GET /first HTTP/1.1\r\nHost: h\r\n\r\nGET /second?n=2 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    assert.deepEqual(statuses(r.text), [200, 200]);
    assert.ok(r.text.indexOf('"/first"') < r.text.indexOf('"/second"'));
    assert.equal(r.closed, true);
  });

  it('decodes a chunked request body: no CONTENT_LENGTH, input terminated', async () => {
    const r = await rawRequest(
      server.port,
      'POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
    );
    const seen = jsonBody(r.text);
    assert.equal(seen.body, 'hello world');
    assert.equal(seen.contentLength, null);
    assert.equal(seen.terminated, true);
  });

  it('sends 100 Continue only when the app reads the body', async () => {
    const head = 'POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n';
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    let data = '';
    socket.on('data', (d) => (data += d.toString('latin1')));
    await new Promise((r) => socket.once('connect', r));
    socket.write(head);
    while (!data.includes('100 Continue')) await sleep(10);
    socket.write('ping');
    await new Promise((r) => socket.once('close', r));
    assert.match(data, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    assert.equal(jsonBody(data.slice(data.indexOf('HTTP/1.1 200'))).body, 'ping');
  });

  it('refuses what node:http lets through or drops: versions, duplicate Host, too many headers', async () => {
    const cases: Array<[string, number]> = [
      ['GET / HTTP/2.0\r\nHost: h\r\n\r\n', 505],
      ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n b\r\n\r\n', 400],
      ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
      ['GET /' + 'a'.repeat(9000) + ' HTTP/1.1\r\nHost: h\r\n\r\n', 414],
      ['GET / HTTP/1.1\r\nHost: h\r\n' + Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('') + '\r\n', 431],
      ['GET / HTTP/1.1\r\nHost: h\r\nX-Big: ' + 'b'.repeat(17000) + '\r\n\r\n', 431],
    ];
    for (const [bytes, status] of cases) {
      const r = await rawRequest(server.port, bytes);
      assert.deepEqual(statuses(r.text), [status], JSON.stringify(bytes.slice(0, 60)));
      assert.equal(r.closed, true, 'the connection is closed after a refusal');
    }
    assert.ok(
      logged.some((l) => l.includes('431')),
      'refusals are logged',
    );
  });

  it('drops header names with underscores and joins duplicates', async () => {
    const r = await rawRequest(
      server.port,
      'GET / HTTP/1.1\r\nHost: h\r\nX-Foo: dash\r\nX_Foo: under\r\nX-Dup: 1\r\nX-Dup: 2\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n',
    );
    const h = jsonBody(r.text).headers as Record<string, string>;
    assert.equal(h.HTTP_X_FOO, 'dash');
    assert.equal(h.HTTP_X_DUP, '1,2');
    assert.equal(h.HTTP_COOKIE, 'a=1; b=2');
  });

  it('answers 408 to a client that stalls before the end of the head', async () => {
    const r = await rawRequest(server.port, ['GET / HTTP/1.1\r\nHost: h\r\n'], { timeoutMs: 5000 });
    assert.deepEqual(statuses(r.text), [408]);
    assert.equal(r.closed, true);
  });

  it('answers 408 when the body stalls while the app waits for it', async () => {
    const r = await rawRequest(server.port, ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc'], {
      timeoutMs: 5000,
    });
    assert.deepEqual(statuses(r.text), [408]);
    assert.equal(r.closed, true);
    // The runner's answer asks the door to close (Sink.head's close flag): one Connection field, no keep-alive.
    assert.deepEqual(r.text.match(/^connection:.*$/gim), ['Connection: close']);
  });
});

describe('HTTP framing', () => {
  let server: ServerHandle;
  const closes: string[] = [];
  const app: Application = (environ: Environ, start) => {
    const path = environ.PATH_INFO;
    if (path === '/stream') {
      start('200 OK', [['Content-Type', 'text/plain']]);
      const body: Body = {
        *[Symbol.iterator]() {
          yield 'one;';
          yield 'two;';
        },
        close: () => void closes.push('stream'),
      };
      return body;
    }
    if (path === '/endless') {
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      const chunk = new Uint8Array(64 * 1024);
      const body: Body = {
        *[Symbol.iterator]() {
          for (;;) yield chunk;
        },
        close: () => void closes.push('endless'),
      };
      return body;
    }
    if (path === '/fail-late') {
      start('200 OK', []);
      return (function* () {
        yield 'partial';
        throw new Error('late failure');
      })();
    }
    start('200 OK', []);
    return ['plain'];
  };
  before(async () => {
    server = await serve(app, { ...ENGINE, host: '127.0.0.1', port: 0, log: silentLogger });
  });
  after(() => server.close());

  it('frames an unknown length as chunked on HTTP/1.1', async () => {
    const r = await rawRequest(server.port, 'GET /stream HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    assert.match(r.text, /Transfer-Encoding: chunked/);
    assert.ok(r.text.endsWith('4\r\none;\r\n4\r\ntwo;\r\n0\r\n\r\n'));
  });

  it('frames an unknown length by closing on HTTP/1.0', async () => {
    const r = await rawRequest(server.port, 'GET /stream HTTP/1.0\r\n\r\n');
    assert.doesNotMatch(r.text, /Transfer-Encoding/);
    assert.ok(r.text.endsWith('\r\n\r\none;two;'));
    assert.equal(r.closed, true);
  });

  it('sends no body for HEAD', async () => {
    const r = await rawRequest(server.port, 'HEAD / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    assert.match(r.text, /Content-Length: 5\r\n/);
    assert.ok(r.text.endsWith('\r\n\r\n'));
  });

  it('cuts a chunked response short when the app fails after the headers', async () => {
    const r = await rawRequest(server.port, 'GET /fail-late HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.match(r.text, /partial/);
    assert.ok(!r.text.endsWith('0\r\n\r\n'), 'no terminating chunk: the client sees the truncation');
    assert.equal(r.closed, true);
  });

  it('calls close() when the client disconnects mid-response', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /endless HTTP/1.1\r\nHost: h\r\n\r\n');
    await new Promise((r) => socket.once('data', r));
    socket.pause(); // backpressure: the server's writes start to wait
    await sleep(100);
    socket.destroy();
    for (let i = 0; i < 100 && !closes.includes('endless'); i++) await sleep(20);
    assert.ok(closes.includes('endless'));
    const ok = await fetch(`${server.url}/`);
    assert.equal(await ok.text(), 'plain', 'the server keeps serving');
  });
});

describe("wsgiref's makeServer", () => {
  it('handleRequest() answers one request and closes its connection', async () => {
    const httpd = await makeServer('127.0.0.1', 0, echo, { log: silentLogger });
    try {
      const port = httpd.serverAddress[1];
      const pending = rawRequest(port, 'GET /once HTTP/1.1\r\nHost: h\r\n\r\nGET /twice HTTP/1.1\r\nHost: h\r\n\r\n');
      await httpd.handleRequest();
      const r = await pending;
      assert.deepEqual(statuses(r.text), [200]);
      assert.match(r.text, /Connection: close/);
      assert.equal(r.closed, true);
    } finally {
      await httpd.close();
    }
  });

  it('serveForever() serves until close()', async () => {
    const httpd = await makeServer('127.0.0.1', 0, echo, { log: silentLogger });
    const forever = httpd.serveForever();
    const port = httpd.serverAddress[1];
    const a = await fetch(`http://127.0.0.1:${port}/a`);
    const b = await fetch(`http://127.0.0.1:${port}/b`);
    assert.deepEqual([a.status, b.status], [200, 200]);
    await a.text();
    await b.text();
    await httpd.close();
    await forever;
    await assert.rejects(fetch(`http://127.0.0.1:${port}/c`));
  });
});

describe('graceful close', () => {
  it('finishes in-flight requests, refuses new connections at once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app: Application = async (_e, start) => {
      await gate;
      start('200 OK', []);
      return ['finished'];
    };
    const server = await serve(app, { ...ENGINE, host: '127.0.0.1', port: 0, log: silentLogger });
    const inFlight = fetch(`${server.url}/slow`).then((r) => r.text());
    await sleep(100);
    const closing = server.close();
    await sleep(50);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: server.port });
        s.on('connect', () => {
          s.destroy();
          resolve(undefined);
        });
        s.on('error', reject);
      }),
      /ECONNREFUSED/,
    );
    release();
    assert.equal(await inFlight, 'finished');
    await closing;
  });
});

describe('disconnects while the body waits', () => {
  it('closes an async body at once when the client leaves between chunks', async () => {
    let closed = 0;
    let finallyRan = false;
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    const app: Application = (_e, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      const body: Body = {
        async *[Symbol.asyncIterator]() {
          try {
            yield 'first;';
            await stalled; // waiting on something that is not the client
            yield 'second;';
          } finally {
            finallyRan = true;
          }
        },
        close: () => void closed++,
      };
      return body;
    };
    const server = await serve(app, { ...ENGINE, host: '127.0.0.1', port: 0, log: silentLogger });
    try {
      const socket = net.connect({ host: '127.0.0.1', port: server.port });
      await new Promise((r) => socket.once('connect', r));
      socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
      await new Promise((r) => socket.once('data', r));
      socket.destroy();
      for (let i = 0; i < 100 && closed === 0; i++) await sleep(10);
      assert.equal(closed, 1, 'close() ran while the body was still waiting');
      release();
      for (let i = 0; i < 100 && !finallyRan; i++) await sleep(10);
      assert.equal(finallyRan, true, "the generator's finally block ran");
      assert.equal(closed, 1, 'close() ran exactly once');
    } finally {
      await server.close();
    }
  });
});

describe('half-closed clients', () => {
  it('answers a client that half-closes after its request, then closes', async () => {
    const slow: Application = async (_e, start) => {
      await sleep(50);
      start('200 OK', []);
      return ['late answer'];
    };
    const server = await serve(slow, { ...ENGINE, host: '127.0.0.1', port: 0, log: silentLogger });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true }, () => {
          s.end('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
        });
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('close', () => resolve(data));
        s.on('error', reject);
        setTimeout(() => reject(new Error(`no close; got ${JSON.stringify(data)}`)), 5000);
      });
      assert.match(text, /^HTTP\/1\.1 200 OK/);
      assert.ok(text.endsWith('late answer'));
    } finally {
      await server.close();
    }
  });
});

describe('wrong protocol on the port', () => {
  it('logs that a uwsgi packet looks like uwsgi on an HTTP port, and answers 400', async () => {
    const lines: string[] = [];
    const log: Logger = { error: (m) => lines.push(m), warn: (m) => lines.push(m), info: (m) => lines.push(m) };
    const server = await serve(echo, { ...ENGINE, host: '127.0.0.1', port: 0, log });
    try {
      const vars = Buffer.from([14, 0, ...Buffer.from('REQUEST_METHOD'), 3, 0, ...Buffer.from('GET')]);
      const packet = Buffer.concat([Buffer.from([0, vars.length & 0xff, vars.length >> 8, 0]), vars]);
      const r = await rawRequest(server.port, [packet]);
      assert.deepEqual(statuses(r.text), [400]);
      assert.ok(
        lines.some((l) => l.includes('looks like uwsgi on an HTTP port')),
        lines.join('\n'),
      );
    } finally {
      await server.close();
    }
  });
});

describe('response timeout (F5: an application that never answers)', () => {
  it('answers 503 in its place, closes, and keeps serving; a started stream is not cut', async () => {
    const lines: string[] = [];
    const log: Logger = { error: (m) => lines.push(m), warn: (m) => lines.push(m), info: (m) => lines.push(m) };
    const app: Application = async (environ, start) => {
      if (environ.PATH_INFO === '/never') await new Promise(() => {});
      if (environ.PATH_INFO === '/stream') {
        start('200 OK', [['Content-Type', 'text/plain']]);
        return (async function* () {
          yield 'tick;';
          await sleep(500);
          yield 'tock;';
        })();
      }
      start('200 OK', []);
      return ['fine'];
    };
    const server = await serve(app, { ...ENGINE, host: '127.0.0.1', port: 0, log, responseTimeout: 300 });
    try {
      const r = await rawRequest(server.port, 'GET /never HTTP/1.1\r\nHost: h\r\n\r\n', { timeoutMs: 5000 });
      assert.deepEqual(statuses(r.text), [503]);
      assert.equal(r.closed, true);
      assert.ok(
        lines.some((l) => l.includes('no response within 300 ms; answered 503')),
        lines.join('\n'),
      );
      const stream = await fetch(`${server.url}/stream`);
      assert.equal(await stream.text(), 'tick;tock;');
      assert.equal(await (await fetch(`${server.url}/ok`)).text(), 'fine');
    } finally {
      await server.close();
    }
  });
});

// An application that answers before the request body has arrived (a 413 for an upload that is too
// large, as tsgi/wrappers' Request does from Content-Length). Found with examples/guestbook: the net
// engine said keep-alive, then closed, so a keep-alive client's next request got a socket hang up.
describe('an answer that does not wait for the request body', () => {
  const refuse: Application = (environ, start) => {
    if (environ.REQUEST_METHOD === 'POST') {
      start('413 Content Too Large', [
        ['Content-Type', 'text/plain'],
        ['Content-Length', '8'],
      ]);
      return ['too big\n'];
    }
    start('200 OK', [['Content-Type', 'text/plain']]);
    return ['fine'];
  };
  let server: ServerHandle;
  before(async () => {
    server = await serve(refuse, { ...ENGINE, host: '127.0.0.1', port: 0, log: silentLogger });
  });
  after(() => server.close());

  it('a keep-alive client gets the 413 and its next requests are served', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, body?: Buffer) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${server.url}/upload`, { method, agent, timeout: 5000 }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        });
        req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
        req.on('error', reject);
        req.end(body);
      });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await send('POST', Buffer.alloc(1 << 20, 120));
        assert.deepEqual(r, { status: 413, text: 'too big\n' });
        assert.deepEqual(await send('GET'), { status: 200, text: 'fine' });
      }
    } finally {
      agent.destroy();
    }
  });

  it('a client that goes on sending gets the whole answer, then a FIN or the next answer, never a reset', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((r) => socket.once('connect', r));
    let data = '';
    let error: Error | null = null;
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', (e) => (error = e));
    const ended = new Promise<void>((r) => socket.once('close', () => r()));
    const size = 8 << 20;
    socket.write(`POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`);
    const piece = Buffer.alloc(64 * 1024, 120);
    // Until the body is sent, or the server's FIN ends our side too (net's allowHalfOpen: false).
    for (let sent = 0; sent < size && socket.writable; sent += piece.length) {
      if (!socket.write(piece)) await Promise.race([new Promise((r) => socket.once('drain', r)), ended]);
    }
    const deadline = Date.now() + 5000;
    while (!data.includes('too big') && Date.now() < deadline && !socket.destroyed) await sleep(10);
    assert.deepEqual(statuses(data), [413], data);
    assert.ok(data.endsWith('too big\n'), 'the whole answer arrived');
    if (/\r\nConnection: close\r\n/i.test(data)) {
      await Promise.race([ended, sleep(5000)]);
      assert.equal(socket.destroyed, true, 'the server closed the connection it said it would');
    } else {
      socket.write('GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
      await Promise.race([ended, sleep(5000)]);
      assert.deepEqual(statuses(data), [413, 200]);
    }
    assert.equal(error, null, `the client saw ${String(error)}`);
    socket.destroy();
  });
});
