// Streaming 1 GiB down and 1 GiB up through the real HTTP door with flat memory (issue 6). The
// server runs in a child process (test/http/fixtures/gigabyte.ts); the test samples its RSS from
// /proc every 50 ms while the bytes flow and fails if resident memory grows by more than 256 MiB
// over its level before the transfer: backpressure must keep the data in the socket buffers and
// the generator, not in the process. Linux only (/proc).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;
// The garbage of 16,384 fresh 64 KiB chunks lets the heap grow before V8 collects: +27–40 MiB on
// Node 20, once +108 MiB on Node 24. A door that ignored backpressure would hold the whole GiB
// (measured: +1,040 MiB with Sink.write always true), so a quarter of it still tells them apart.
const LIMIT = 256 * MIB;
const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'gigabyte.ts');

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** The RSS of `pid` before the transfer and its peak during it (sampled every 50 ms). */
function watch(pid: number) {
  const base = rssOf(pid);
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  return {
    stop() {
      clearInterval(timer);
      return { base, peak, growth: peak - base };
    },
  };
}

describe('1 GiB through the HTTP door, memory flat', { skip: existsSync('/proc/self/status') ? false : 'needs /proc', timeout: 120_000 }, () => {
  let child: ChildProcess;
  let port: number;
  before(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error('the server did not start')), 20_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /port (\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
    });
  });
  after(() => {
    child.kill('SIGKILL');
  });

  it('streams 1 GiB down (64 KiB chunks from a generator, chunked) with RSS growth under 256 MiB', async (t) => {
    let got = 0;
    const w = watch(child.pid!);
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/down?mib=${GIB / MIB}`, agent: false }, (res) => {
          res.on('data', (d: Buffer) => (got += d.length));
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    const m = w.stop();
    t.diagnostic(`server RSS ${(m.base / MIB).toFixed(0)} MiB before, peak ${(m.peak / MIB).toFixed(0)} MiB during`);
    assert.equal(status, 200);
    assert.equal(got, GIB, 'every byte arrived');
    assert.ok(m.growth < LIMIT, `RSS grew by ${(m.growth / MIB).toFixed(1)} MiB (from ${(m.base / MIB).toFixed(0)} to ${(m.peak / MIB).toFixed(0)} MiB)`);
  });

  it('takes 1 GiB up (chunked, the app reads it all) with RSS growth under 256 MiB', async (t) => {
    let sent = 0;
    const w = watch(child.pid!);
    const chunk = Buffer.alloc(64 * 1024, 0x79);
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/up', agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      const pump = () => {
        while (sent < GIB) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    const m = w.stop();
    t.diagnostic(`server RSS ${(m.base / MIB).toFixed(0)} MiB before, peak ${(m.peak / MIB).toFixed(0)} MiB during`);
    assert.equal(body, String(GIB), 'the application read every byte');
    assert.ok(m.growth < LIMIT, `RSS grew by ${(m.growth / MIB).toFixed(1)} MiB (from ${(m.base / MIB).toFixed(0)} to ${(m.peak / MIB).toFixed(0)} MiB)`);
  });
});
