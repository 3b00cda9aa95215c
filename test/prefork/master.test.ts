// The master's own troubles: it was frozen (SIGSTOP stands for a cgroup freezer, `docker pause`, a VM
// snapshot), or reloads arrive faster than workers boot. The built CLI in a subprocess, real signals.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { FAULT, childrenOf, get, waitFor, workerPids } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('prefork master: its own stalls', { timeout: 120_000 }, () => {
  it('F30: a master stopped for 5 s (timeout 2 s) keeps its healthy workers, and a stream in flight completes', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '2', '--timeout', '2']);
    try {
      const master = cli.child.pid!;
      await waitFor('both workers serving', async () => (await workerPids(cli.port)).size === 2);
      const before = (await childrenOf(master)).sort();
      // 32 ticks, 250 ms apart: 8 s of streaming from one worker, across the freeze.
      const stream = get(cli.port, '/stream?n=32&ms=250', 30_000);
      await sleep(500);
      process.kill(master, 'SIGSTOP');
      await sleep(5000);
      process.kill(master, 'SIGCONT');
      const r = await stream;
      assert.equal(r.error, undefined, 'the stream must not be cut');
      assert.equal((r.body.match(/tick \d+/g) ?? []).length, 32);
      // Two more heartbeat windows: a master that misjudged would have killed them by now.
      await sleep(2500);
      assert.deepEqual((await childrenOf(master)).sort(), before, 'the same workers must still be serving');
      assert.doesNotMatch(cli.stderr(), /WORKER TIMEOUT/);
      assert.match(cli.stderr(), /The master was not running for \d/);
      assert.equal((await get(cli.port, '/pid')).status, 200);
      assert.equal(await cli.stop('SIGTERM'), 0);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('F33: the whole deployment stopped for 4 s (Ctrl-Z, docker pause, a VM paused) is not taken for blocked workers', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '2', '--timeout', '2']);
    try {
      const master = cli.child.pid!;
      await waitFor('both workers serving', async () => (await workerPids(cli.port)).size === 2);
      const workers = await childrenOf(master);
      // Every process at once, as a terminal's SIGTSTP or a cgroup freezer stops them: the watchdog
      // threads and the event loops they watch lose the same 4 s, and neither is to blame.
      for (const pid of [master, ...workers]) process.kill(pid, 'SIGSTOP');
      await sleep(4000);
      for (const pid of [...workers, master]) process.kill(pid, 'SIGCONT');
      await sleep(2500);
      assert.doesNotMatch(cli.stderr(), /WORKER TIMEOUT/);
      assert.deepEqual((await childrenOf(master)).sort(), workers.sort(), 'the same workers must still be serving');
      assert.equal((await get(cli.port, '/pid')).status, 200);
      assert.equal(await cli.stop('SIGTERM'), 0);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('F31: ten SIGHUPs 100 ms apart coalesce: never more than two generations of workers at once, then one', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '2']);
    try {
      const master = cli.child.pid!;
      await waitFor('both workers serving', async () => (await workerPids(cli.port)).size === 2);
      let most = 0;
      let watching = true;
      const watch = (async () => {
        while (watching) {
          most = Math.max(most, (await childrenOf(master)).length);
          await sleep(10);
        }
      })();
      for (let i = 0; i < 10; i++) {
        cli.child.kill('SIGHUP');
        await sleep(100);
      }
      await waitFor('a reload to complete', () => /Reload complete/.test(cli.stderr()), 30_000);
      await waitFor('two workers again', async () => (await childrenOf(master)).length === 2, 30_000);
      watching = false;
      await watch;
      // Two old workers plus the newest generation's two; a superseded booting worker may linger a few
      // ms between its SIGKILL and the reap. Before coalescing, ten generations booted at once (22).
      assert.ok(most <= 6, `${most} workers at once`);
      assert.equal((await workerPids(cli.port)).size, 2);
      assert.equal(await cli.stop('SIGTERM'), 0);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('F32: the watchdog names a request blocked after wsgi.input.read() although a newer request came and went', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '1', '--timeout', '2']);
    const sock = net.connect({ host: '127.0.0.1', port: cli.port });
    try {
      sock.on('error', () => {});
      await new Promise((r) => sock.once('connect', r));
      // The head only: the application waits in wsgi.input.read().
      sock.write('POST /read-then-spin?ms=60000 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n');
      await sleep(300);
      assert.equal((await get(cli.port, '/pid')).status, 200, 'a newer request enters and leaves the application');
      sock.write('hello');
      await waitFor('the timeout report', () => /\[CRITICAL\] WORKER TIMEOUT \(pid \d+\): its event loop/.test(cli.stderr()), 15_000);
      assert.match(cli.stderr(), /still in flight: POST \/read-then-spin\?ms=60000 \(started/);
    } finally {
      sock.destroy();
      await cli.stop('SIGKILL');
    }
  });
});
