// A bounded soak: many keep-alive requests across a mix of scenarios (small, upload, streamed, HEAD,
// application errors, clients that leave mid-response) against the real CLI. It records the heap
// (after GC) and open descriptors before and after, and fails on growth.
// CI runs TSGI_SOAK_REQUESTS (default 20000); `npm run soak` runs 10^6.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, it } from 'node:test';
import { startCli, type RunningCli } from '../helpers/cli.js';

const TOTAL = Number(process.env.TSGI_SOAK_REQUESTS ?? 20000);
const CONCURRENCY = 16;

let cli: RunningCli;
before(async () => {
  cli = await startCli(['test/fixtures/apps/soak.ts', '--bind', '127.0.0.1:0'], {
    env: { NODE_OPTIONS: '--expose-gc' },
  });
});
after(() => cli.stop());

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(path: string, method = 'GET', body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: cli.port, path, method, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A client that asks for the streamed response and leaves after the first bytes. */
function leaver(): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: cli.port }, () => s.write('GET /stream HTTP/1.1\r\nHost: h\r\n\r\n'));
    s.once('data', () => {
      s.destroy();
      resolve();
    });
    s.on('error', () => resolve());
  });
}

async function stats(): Promise<{ heap: number; rss: number; fds: number }> {
  return JSON.parse((await get('/__stats')).body.toString());
}

const upload = Buffer.alloc(32 * 1024, 98);
async function one(i: number): Promise<void> {
  switch (i % 10) {
    case 0:
      assert.equal((await get('/upload', 'POST', upload)).body.toString(), String(upload.length));
      return;
    case 1:
      assert.equal((await get('/stream')).body.length, 4 * 256 * 1024);
      return;
    case 2:
      assert.equal((await get('/', 'HEAD')).status, 200);
      return;
    case 3:
      assert.equal((await get('/error')).status, 500);
      return;
    case 4:
      if (i % 100 === 4) return leaver();
      break;
  }
  assert.equal((await get('/')).body.toString(), 'hello');
}

async function run(count: number, offset: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await one(offset + next++);
    }),
  );
}

it(`serves ${TOTAL} mixed requests with a flat heap and no descriptor leak`, { timeout: 900_000 }, async () => {
  await run(Math.min(2000, TOTAL), 0); // warm-up: JIT, caches, pools
  agent.destroy();
  await new Promise((r) => setTimeout(r, 300));
  const before = await stats();
  await run(TOTAL, 0);
  agent.destroy();
  await new Promise((r) => setTimeout(r, 500));
  const afterStats = await stats();
  const growth = afterStats.heap - before.heap;
  console.log(
    `soak: ${TOTAL} requests; heap ${(before.heap / 1e6).toFixed(1)} → ${(afterStats.heap / 1e6).toFixed(1)} MB, ` +
      `rss ${(before.rss / 1e6).toFixed(1)} → ${(afterStats.rss / 1e6).toFixed(1)} MB, fds ${before.fds} → ${afterStats.fds}`,
  );
  assert.ok(afterStats.fds <= before.fds + 1, `descriptors grew from ${before.fds} to ${afterStats.fds}`);
  assert.ok(growth < 8e6 + before.heap * 0.25, `the heap grew by ${(growth / 1e6).toFixed(1)} MB`);
});
