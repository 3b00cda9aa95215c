// The request-body faults, as one suite run against a door (test/http/body-pieces.test.ts runs it on
// both HTTP engines, test/uwsgi/body-pieces.test.ts on the uwsgi door). Each reproduces a measured
// fault of the old readers with a real client over a real socket, and holds the fix to a bound:
//   - 300,000 one-byte chunks read by read(): took > 30 s with the event loop blocked throughout
//     (Array.shift() per piece); now linear: bounded time, the loop never blocked > 200 ms;
//   - 100 KB sent one byte per TCP segment: froze the loop 3.4 s; now never > 200 ms;
//   - readline() over one-byte pieces: rescanned every piece after each one; now linear;
//   - one-byte chunks queued before the application reads: 34 MB per connection (the high-water mark
//     counted payload bytes, so 262,144 one-byte pieces could queue); now the queue is charged 128
//     bytes per piece and copies small ones together (src/protocol/body.ts): at most ~330 KiB
//     charged per connection. Asserted: heap growth under 1 MiB per connection, 3x that margin.
// The event loop's blocks are counted in time the server process ran (body-server.ts says why).
// The bounds are correctness bounds, generous for a loaded machine, not benchmarks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { byteByByte, oneByteChunks, request, requestHead, startServer, whole, type BodyServer, type Door } from './body-client.js';

const MAX_BLOCK_MS = 200;
/**
 * On the node door, node:http's parser (llhttp) turns one socket read of a chunked body into thousands of
 * synchronous 'data' events before tsgi's code runs again: that burst is node:http's, and on a loaded CI
 * host it reached 282.9 ms (2026-12-03) with readline() over 200,000 one-byte chunks. The faults these
 * tests guard against blocked the loop for 3.4 to 73 s, so 1 s still tells linear from quadratic there.
 */
const blockBound = (door: Door): number => (door === 'node' ? 1000 : MAX_BLOCK_MS);
const PER_CONNECTION = 1024 * 1024;

export function bodyFaultSuite(door: Door): void {
  describe(`request bodies cut small (${door} door)`, { timeout: 180_000 }, () => {
    let server: BodyServer;
    before(async () => {
      server = await startServer(door);
    });
    after(() => server.stop());

    it(`300,000 one-byte chunks read by read(): bounded time, the event loop never blocked > ${blockBound(door)} ms`, async (t) => {
      const body = oneByteChunks(300_000);
      await server.reset();
      const t0 = performance.now();
      const reply = await request(server.port, requestHead(door, '/read', 'chunked'), (s) => whole(s, body));
      const ms = performance.now() - t0;
      const { maxLagMs, maxBlockMs } = await server.stats();
      t.diagnostic(`${door}: ${Math.round(ms)} ms, longest loop block ${maxBlockMs.toFixed(1)} ms (wall-clock lag ${maxLagMs.toFixed(1)} ms)`);
      assert.deepEqual(reply, { status: 200, body: '300000' });
      assert.ok(ms < 20_000, `took ${Math.round(ms)} ms`);
      assert.ok(maxBlockMs < blockBound(door), `the event loop was blocked ${maxBlockMs.toFixed(1)} ms`);
    });

    it(`100 KB sent one byte per TCP segment: the event loop never blocked > ${blockBound(door)} ms`, async (t) => {
      const body = Buffer.alloc(100_000, 0x78);
      await server.reset();
      const t0 = performance.now();
      const reply = await request(server.port, requestHead(door, '/read', body.length), (s) => byteByByte(s, body));
      const ms = performance.now() - t0;
      const { maxLagMs, maxBlockMs } = await server.stats();
      t.diagnostic(`${door}: ${Math.round(ms)} ms, longest loop block ${maxBlockMs.toFixed(1)} ms (wall-clock lag ${maxLagMs.toFixed(1)} ms)`);
      assert.deepEqual(reply, { status: 200, body: '100000' });
      assert.ok(maxBlockMs < blockBound(door), `the event loop was blocked ${maxBlockMs.toFixed(1)} ms`);
    });

    it('readline() over one-byte pieces (4 lines of 50,000 bytes, one byte a chunk): linear', async (t) => {
      const body = oneByteChunks(200_000, 50_000);
      await server.reset();
      const t0 = performance.now();
      const reply = await request(server.port, requestHead(door, '/readline', 'chunked'), (s) => whole(s, body));
      const ms = performance.now() - t0;
      const { maxLagMs, maxBlockMs } = await server.stats();
      t.diagnostic(`${door}: ${Math.round(ms)} ms, longest loop block ${maxBlockMs.toFixed(1)} ms (wall-clock lag ${maxLagMs.toFixed(1)} ms)`);
      assert.deepEqual(reply, { status: 200, body: '4 200000' });
      assert.ok(ms < 20_000, `took ${Math.round(ms)} ms`);
      assert.ok(maxBlockMs < blockBound(door), `the event loop was blocked ${maxBlockMs.toFixed(1)} ms`);
    });

    it('one-byte chunks queued before the application reads: heap growth under 1 MiB per connection', async (t) => {
      const N = 6;
      // 1,500,000 one-byte chunks each (1.43 MiB of body): more than the 262,144 pieces the old
      // readers let queue, and more than the bound in bytes alone, so the heap shows whether the
      // door stopped reading (a queue that took it all would hold over 1.4 MiB a connection).
      const CHUNKS = 1_500_000;
      const body = oneByteChunks(CHUNKS);
      const t0 = performance.now();
      const base = (await server.stats()).heap;
      const replies = Array.from({ length: N }, () => request(server.port, requestHead(door, '/hold', 'chunked'), (s) => void s.write(body)));
      // Until every request is in the application and the queues have stopped growing.
      let heap = base;
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 250));
        const st = await server.stats();
        const settled = st.held === N && Math.abs(st.heap - heap) < Math.max(64 * 1024, (st.heap - base) * 0.02);
        heap = st.heap;
        if (settled) break;
      }
      const per = (heap - base) / N;
      const queued = performance.now() - t0;
      await server.release();
      for (const r of await Promise.all(replies)) assert.deepEqual(r, { status: 200, body: String(CHUNKS) });
      t.diagnostic(
        `${door}: heap +${Math.round((heap - base) / 1024)} KiB for ${N} connections, ${Math.round(per / 1024)} KiB each ` +
          `(queued in ${Math.round(queued)} ms, read in ${Math.round(performance.now() - t0 - queued)} ms)`,
      );
      assert.ok(per < PER_CONNECTION, `${Math.round(per / 1024)} KiB per connection`);
    });
  });
}
