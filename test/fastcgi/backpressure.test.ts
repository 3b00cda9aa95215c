// The FastCGI door over real sockets, against a peer that misbehaves with its output: one that floods
// management records (FCGI_GET_VALUES) and never reads the replies (memory must stay bounded). The
// graceful stop (drain) has its own file, drain.test.ts.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { describe, it } from 'node:test';
import { FCGI, encodePairs, encodeRecord, type FcgiRecord } from '../../src/protocol/fastcgi.js';
import { serveFastcgi } from '../../src/fastcgi/index.js';
import type { Application } from '../../src/spec.js';
import { connect } from './client.js';
import { RecordParser } from '../../src/protocol/fastcgi.js';
import { quietLog } from './apps.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const hello: Application = (_e, start) => {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return ['hello'];
};

/** Collects the records a socket receives, and whether the server closed it. */
function reader(socket: net.Socket): { records: FcgiRecord[]; ended: () => boolean } {
  const records: FcgiRecord[] = [];
  let ended = false;
  const parser = new RecordParser((r) => records.push({ ...r, content: r.content.slice() }));
  socket.on('data', (d: Buffer) => parser.push(d));
  socket.on('end', () => {
    ended = true;
    socket.end();
  });
  socket.on('error', () => {});
  return { records, ended: () => ended };
}

describe('FastCGI: a peer that does not read its replies', () => {
  it('stops reading GET_VALUES while the replies are not read: the queued replies and the heap stay bounded', async (t) => {
    const server = await serveFastcgi(hello, { port: 0, log: quietLog });
    let accepted: net.Socket | undefined;
    server.server.on('connection', (s: net.Socket) => (accepted = s));
    const socket = await connect(server.port);
    socket.pause(); // never reads
    socket.on('error', () => {});
    const ask = encodeRecord(
      FCGI.GET_VALUES,
      0,
      encodePairs([
        ['FCGI_MAX_CONNS', ''],
        ['FCGI_MAX_REQS', ''],
        ['FCGI_MPXS_CONNS', ''],
      ]),
    );
    const burst = Buffer.concat(Array.from({ length: 1000 }, () => ask));
    let stop = false;
    let sent = 0;
    const flood = (async () => {
      while (!stop && !socket.destroyed) {
        sent += burst.length;
        if (!socket.write(burst)) await new Promise((r) => (socket.once('drain', r), socket.once('close', r), setTimeout(r, 50)));
      }
    })();
    const heapBefore = process.memoryUsage().heapUsed;
    let maxQueued = 0;
    try {
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        await sleep(50);
        maxQueued = Math.max(maxQueued, accepted?.writableLength ?? 0);
      }
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
      t.diagnostic(`in 3 s: client sent ${sent} bytes, server queued at most ${maxQueued} bytes of replies, heap grew ${heapGrowth} bytes`);
      // Old behaviour: every request answered into an ever-growing buffer (1.65 GB in 10 s).
      assert.ok(maxQueued < 4 * 1024 * 1024, `the server queued up to ${maxQueued} bytes of replies (client sent ${sent})`);
      assert.ok(heapGrowth < 64 * 1024 * 1024, `the heap grew by ${heapGrowth} bytes`);
      assert.ok(sent < 64 * 1024 * 1024, `the server kept reading: the client sent ${sent} bytes`);
    } finally {
      stop = true;
      socket.destroy();
      await flood;
      await server.close();
    }
  });

  it('answers the same peer once it reads again', async () => {
    const server = await serveFastcgi(hello, { port: 0, log: quietLog });
    try {
      const socket = await connect(server.port);
      socket.pause();
      const ask = encodeRecord(FCGI.GET_VALUES, 0, encodePairs([['FCGI_MPXS_CONNS', '']]));
      const n = 50_000;
      socket.write(Buffer.concat(Array.from({ length: n }, () => ask)));
      await sleep(300);
      const { records } = reader(socket);
      socket.resume();
      for (let i = 0; i < 500 && records.length < n; i++) await sleep(10);
      assert.equal(records.length, n, 'every GET_VALUES answered once the peer read');
      assert.ok(records.every((r) => r.type === FCGI.GET_VALUES_RESULT));
      socket.destroy();
    } finally {
      await server.close();
    }
  });
});
