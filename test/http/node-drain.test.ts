// The node:http engine (src/http/node) over real sockets: the graceful drain rule (no request a
// keep-alive client already sent is lost: answered, the last with `Connection: close`, never a
// reset), the request body the application left unread (bounded), the send timeout, the TLS
// handshake timeout and the head timeout. The clients are keep-alive clients that never retry.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { Application, Body } from '../../src/spec.js';
import { serve, type ServeOptions } from '../../src/http/serve.js';
import { silentLogger, type Logger } from '../../src/runner/log.js';
import { parseResponses, type ParsedResponse } from './raw-client.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const TLS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tls');

function start(app: Application, options: ServeOptions = {}) {
  return serve(app, { engine: 'node', host: '127.0.0.1', port: 0, log: silentLogger, ...options });
}

const hello: Application = (_e, startResponse) => {
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['Content-Length', '5'],
  ]);
  return ['hello'];
};

/** The server's side of every connection it accepts (for bytesRead). */
function serverSockets(server: net.Server): net.Socket[] {
  const all: net.Socket[] = [];
  server.on('connection', (s: net.Socket) => all.push(s));
  return all;
}

/** What a keep-alive client saw on one connection. */
interface Outcome {
  responses: ParsedResponse[];
  sent: number;
  /** The server closed with a FIN (not a reset), after the last response. */
  ended: boolean;
  error: string | null;
}

/**
 * A keep-alive client that sends its next request the moment the previous response is complete,
 * until a response says `Connection: close` or `stop()` is called; it never retries. Resolves when
 * the server closes the connection (or at `timeoutMs`).
 */
function backToBack(port: number, timeoutMs: number): { done: Promise<Outcome>; stop: () => void } {
  let stopped = false;
  const done = new Promise<Outcome>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    let data = Buffer.alloc(0);
    const out: Outcome = { responses: [], sent: 0, ended: false, error: null };
    const send = () => {
      out.sent++;
      socket.write('GET /next HTTP/1.1\r\nHost: h\r\n\r\n');
    };
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(out);
    };
    const timer = setTimeout(() => {
      out.error = out.error ?? 'timed out';
      finish();
    }, timeoutMs);
    socket.on('connect', send);
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      const { responses, rest } = parseResponses(data, false);
      data = Buffer.from(rest);
      for (const r of responses) {
        out.responses.push(r);
        if (r.headers.connection !== 'close' && !stopped) send();
      }
    });
    socket.on('end', () => {
      out.ended = true;
      finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      out.error = err.code ?? err.message;
      finish();
    });
  });
  return { done, stop: () => (stopped = true) };
}

describe('node engine: graceful drain', () => {
  it('answers every request of keep-alive clients sending back to back while close() runs; the last says Connection: close', async () => {
    const server = await start(hello);
    const clients = Array.from({ length: 8 }, () => backToBack(server.port, 10_000));
    await sleep(300);
    const closing = server.close();
    const outcomes = await Promise.all(clients.map((c) => c.done));
    await closing;
    for (const [i, o] of outcomes.entries()) {
      const why = `client ${i}: ${JSON.stringify({ sent: o.sent, answered: o.responses.length, ended: o.ended, error: o.error })}`;
      assert.equal(o.error, null, why);
      assert.ok(o.sent > 1, why);
      assert.equal(o.responses.length, o.sent, `every request answered; ${why}`);
      assert.ok(
        o.responses.every((r) => r.status === 200 && r.body.toString() === 'hello'),
        why,
      );
      assert.equal(o.responses.at(-1)!.headers.connection, 'close', `the last response says close; ${why}`);
      assert.ok(
        o.responses.slice(0, -1).every((r) => r.headers.connection !== 'close'),
        why,
      );
      assert.equal(o.ended, true, `the server closed with a FIN; ${why}`);
    }
  });

  it('answers a request an idle keep-alive connection sends 100 ms into the drain, with Connection: close', async () => {
    const server = await start(hello);
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((r) => socket.once('connect', r));
    let data = Buffer.alloc(0);
    let ended = false;
    let error: string | null = null;
    socket.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
    socket.on('end', () => (ended = true));
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
    socket.write('GET /first HTTP/1.1\r\nHost: h\r\n\r\n');
    for (let i = 0; i < 100 && parseResponses(data, false).responses.length < 1; i++) await sleep(10);
    const started = Date.now();
    const closing = server.close();
    await sleep(100);
    assert.equal(ended || socket.destroyed, false, 'the idle connection is still open 100 ms into the drain');
    socket.write('GET /second HTTP/1.1\r\nHost: h\r\n\r\n');
    for (let i = 0; i < 300 && !ended && error === null; i++) await sleep(10);
    const { responses } = parseResponses(data, true);
    assert.equal(error, null);
    assert.deepEqual(
      responses.map((r) => [r.status, r.headers.connection === 'close' ? 'close' : 'keep-alive']),
      [
        [200, 'keep-alive'],
        [200, 'close'],
      ],
    );
    assert.equal(ended, true, 'the server closed the connection after the answer');
    await closing;
    socket.destroy();
    // The drain-idle moment is min(keepAliveTimeout, 2 s): the close must not wait for more.
    assert.ok(Date.now() - started < 5000, `close() took ${Date.now() - started} ms`);
  });

  it('closes an idle keep-alive connection that sends nothing after the drain-idle moment, with a FIN', async () => {
    const server = await start(hello, { keepAliveTimeout: 60_000 });
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((r) => socket.once('connect', r));
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    for (let i = 0; i < 100 && !got.endsWith('hello'); i++) await sleep(10);
    const started = Date.now();
    const ended = new Promise<number>((r) => socket.once('end', () => r(Date.now() - started)));
    socket.on('end', () => socket.end());
    await server.close();
    const at = await ended;
    assert.ok(at >= 1500 && at < 3500, `closed ${at} ms into the drain (drain-idle: 2000 ms)`);
  });
});

describe('node engine: the request body the application left unread', () => {
  /** The application answers without reading the body. */
  const noRead: Application = (_e, startResponse) => {
    startResponse('200 OK', [
      ['Content-Type', 'text/plain'],
      ['Content-Length', '2'],
    ]);
    return ['no'];
  };

  it('closes instead of reading an endless chunked body to its end; the server stops reading', async () => {
    const server = await start(noRead);
    const accepted = serverSockets(server.server);
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((r) => socket.once('connect', r));
    let data = Buffer.alloc(0);
    let closed = false;
    socket.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
    socket.on('error', () => {});
    socket.once('close', () => (closed = true));
    socket.write('POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.from(`10000\r\n${'x'.repeat(0x10000)}\r\n`, 'latin1');
    // Writes as fast as the server takes them, for as long as the connection is open.
    void (async () => {
      while (!closed && !socket.destroyed) {
        if (!socket.write(chunk)) await new Promise((r) => (socket.once('drain', r), socket.once('close', r)));
      }
    })();
    try {
      for (let i = 0; i < 200 && parseResponses(data, false).responses.length < 1; i++) await sleep(10);
      const [response] = parseResponses(data, false).responses;
      assert.ok(response, 'the response came while the body was still arriving');
      assert.equal(response.headers.connection, 'close');
      const readThen = accepted[0]!.bytesRead;
      const cpuThen = process.cpuUsage();
      await sleep(1000);
      const readAfter = accepted[0]!.bytesRead;
      const cpu = process.cpuUsage(cpuThen);
      // Old behaviour: read and dropped at full speed (GBs) until the request timeout (300 s).
      assert.ok(readAfter - readThen < 4 * 1024 * 1024, `the server read ${readAfter - readThen} more bytes in the second after the response`);
      assert.ok(cpu.user + cpu.system < 500_000, `the test process used ${(cpu.user + cpu.system) / 1000} ms of CPU in that second`);
      for (let i = 0; i < 400 && !closed; i++) await sleep(10);
      assert.equal(closed, true, 'the connection closed');
      assert.ok(accepted[0]!.bytesRead < 32 * 1024 * 1024, `the server read ${accepted[0]!.bytesRead} bytes in all`);
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('reads and drops a small unread Content-Length rest and keeps the connection; a large one closes it', async () => {
    const server = await start(noRead);
    try {
      for (const [size, keep] of [
        [200_000, true],
        [8 * 1024 * 1024, false],
      ] as const) {
        const socket = net.connect({ host: '127.0.0.1', port: server.port });
        await new Promise((r) => socket.once('connect', r));
        let data = Buffer.alloc(0);
        let ended = false;
        socket.on('data', (d: Buffer) => (data = Buffer.concat([data, d])));
        socket.on('end', () => (ended = true));
        socket.on('error', () => {});
        socket.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`);
        // The head first, then the body once the response is out: the rest is unread then.
        for (let i = 0; i < 200 && parseResponses(data, false).responses.length < 1; i++) await sleep(10);
        socket.write(Buffer.alloc(Math.min(size, 1024 * 1024), 0x61));
        if (keep) {
          socket.write(Buffer.alloc(size - 1024 * 1024 > 0 ? size - 1024 * 1024 : 0));
          socket.write('GET /again HTTP/1.1\r\nHost: h\r\n\r\n');
        }
        for (let i = 0; i < 300 && !ended && parseResponses(data, false).responses.length < (keep ? 2 : 1); i++) await sleep(10);
        const { responses } = parseResponses(data, false);
        if (keep) {
          assert.notEqual(responses[0]!.headers.connection, 'close', `${size}: keep-alive`);
          assert.equal(responses.length, 2, `${size}: the next request on the same connection was answered`);
        } else {
          assert.equal(responses[0]!.headers.connection, 'close', `${size}: the head says close`);
          for (let i = 0; i < 400 && !ended; i++) await sleep(10);
          assert.equal(ended, true, `${size}: the server closed`);
        }
        socket.destroy();
      }
    } finally {
      await server.close();
    }
  });
});

describe('node engine: send timeout', () => {
  it('cuts a response the client stops reading after sendTimeout, and the body close() runs', async () => {
    let closed = 0;
    const lines: string[] = [];
    const log: Logger = { error: (m) => lines.push(m), warn: (m) => lines.push(m), info: (m) => lines.push(m) };
    const piece = Buffer.alloc(64 * 1024, 0x62);
    const app: Application = (_e, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
      const body: Body = {
        async *[Symbol.asyncIterator]() {
          for (;;) yield piece;
        },
        close: () => void closed++,
      };
      return body;
    };
    const server = await start(app, { log, sendTimeout: 300 });
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    try {
      await new Promise((r) => socket.once('connect', r));
      const gone = new Promise<void>((r) => (socket.once('close', () => r()), socket.on('error', () => {})));
      socket.write('GET /stream HTTP/1.1\r\nHost: h\r\n\r\n');
      // Reads the first bytes, then nothing more.
      await new Promise((r) => socket.once('data', r));
      socket.pause();
      const started = Date.now();
      for (let i = 0; i < 500 && closed === 0; i++) await sleep(10);
      assert.equal(closed, 1, 'the body close() ran');
      assert.ok(Date.now() - started < 4000, `cut ${Date.now() - started} ms after the client stopped reading`);
      assert.ok(
        lines.some((l) => l.includes('send timeout')),
        lines.join('\n'),
      );
      socket.resume();
      await gone;
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('does not cut a slow stream whose client reads (the timeout is about the client, not the app)', async () => {
    const app: Application = (_e, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'a;';
        await sleep(700);
        yield 'b;';
      })();
    };
    const server = await start(app, { sendTimeout: 300 });
    try {
      const res = await fetch(`${server.url}/slow`);
      assert.equal(await res.text(), 'a;b;');
    } finally {
      await server.close();
    }
  });
});

describe('node engine: clients that never start', () => {
  it('closes a TLS connection that never sends its ClientHello at handshakeTimeout', async () => {
    const server = await start(hello, {
      tls: { cert: readFileSync(path.join(TLS_DIR, 'cert.pem')), key: readFileSync(path.join(TLS_DIR, 'key.pem')) },
      handshakeTimeout: 300,
    });
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    try {
      await new Promise((r) => socket.once('connect', r));
      const started = Date.now();
      const closedAt = await new Promise<number>((resolve) => {
        socket.on('error', () => {});
        socket.once('close', () => resolve(Date.now() - started));
        setTimeout(() => resolve(-1), 5000);
      });
      assert.ok(closedAt >= 200 && closedAt < 2000, `closed after ${closedAt} ms (handshakeTimeout 300 ms; -1: still open at 5 s)`);
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it('answers 408 and closes a connection that never sends a byte, at headersTimeout', async () => {
    const server = await start(hello, { headersTimeout: 500 });
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    try {
      await new Promise((r) => socket.once('connect', r));
      const started = Date.now();
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      const closedAt = await new Promise<number>((resolve) => {
        socket.on('error', () => {});
        socket.once('close', () => resolve(Date.now() - started));
        setTimeout(() => resolve(-1), 5000);
      });
      assert.match(text, /^HTTP\/1\.1 408 /);
      // node:http checks its connections every second (connectionsCheckingInterval).
      assert.ok(closedAt >= 400 && closedAt < 3000, `closed after ${closedAt} ms`);
    } finally {
      socket.destroy();
      await server.close();
    }
  });
});
