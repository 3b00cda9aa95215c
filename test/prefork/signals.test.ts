// The prefork master as users run it: the built CLI in a subprocess on 127.0.0.1, signals, real
// load. Every wait is bounded polling on a log line, a pid or a connection; durations are measured
// and only bounded from above where "at once rather than hung" is the point.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { FAULT, alive, childrenOf, get, load, tryConnect, waitFor, workerPids } from './helpers.js';

const count = (text: string, re: RegExp) => (text.match(new RegExp(re.source, 'g')) ?? []).length;

describe('prefork master: signals', { timeout: 120_000 }, () => {
  it('F10: three SIGHUPs under concurrent load: no failed request, every worker pid replaced', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '2']);
    try {
      const master = cli.child.pid!;
      await waitFor('two workers', async () => (await childrenOf(master)).length === 2);
      const before = new Set(await childrenOf(master));
      const l = load(cli.port, '/slow?ms=20', 8);
      for (let i = 1; i <= 3; i++) {
        await waitFor('some load', () => l.stats.ok > 20 * i);
        cli.child.kill('SIGHUP');
        await waitFor(`reload ${i} complete`, () => count(cli.stderr(), /Reload complete/) === i, 30_000);
      }
      await waitFor('load after the last reload', () => l.stats.ok > 80);
      const stats = await l.stop();
      assert.equal(stats.failed, 0, `failed requests: ${stats.errors.join('; ')}`);
      assert.ok(stats.ok > 0);
      await waitFor('the old workers to finish draining', async () => (await childrenOf(master)).length === 2);
      const after = new Set(await childrenOf(master));
      for (const pid of after) assert.ok(!before.has(pid), `worker ${pid} survived the reloads`);
      assert.ok([...before].every((p) => !alive(p)));
      assert.equal(await cli.stop('SIGTERM'), 0);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('F11: SIGTERM during a streaming response: it completes; a new connection is refused at once; exit 0', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '2', '--graceful-timeout', '20']);
    try {
      // 24 ticks, 250 ms apart: 6 s of streaming.
      const stream = get(cli.port, '/stream?n=24&ms=250', 30_000);
      await waitFor('the stream to start', () => cli.stderr().includes('Listening at'));
      await new Promise((r) => setTimeout(r, 600));
      const t0 = Date.now();
      const exited = cli.stop('SIGTERM');
      await waitFor('SIGTERM to be taken', () => cli.stderr().includes('SIGTERM: shutting down gracefully'));
      const refused = await waitFor(
        'the listening socket to close',
        async () => {
          const r = await tryConnect(cli.port, 2000);
          return r === 'connected' ? null : r;
        },
        5000,
      );
      const refusedAfter = Date.now() - t0;
      assert.equal(refused, 'ECONNREFUSED', 'a new connection must be refused, never left hanging');
      assert.ok(refusedAfter < 2000, `refused ${refusedAfter} ms after SIGTERM`);
      const r = await stream;
      assert.equal(r.error, undefined);
      assert.equal(count(r.body, /tick \d+/), 24);
      assert.match(r.body, /done\n$/);
      assert.equal(await exited, 0);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('F7: kill -9 of one worker: the others keep serving and it is replaced, the reason in words', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '2']);
    try {
      const master = cli.child.pid!;
      await waitFor('two workers', async () => (await childrenOf(master)).length === 2);
      // Both must be ready (serving): a worker killed while it boots is a boot failure, not F7.
      await waitFor('both workers serving', async () => (await workerPids(cli.port)).size === 2);
      const [victim, other] = await childrenOf(master);
      const l = load(cli.port, '/pid', 4);
      await waitFor('some load', () => l.stats.ok > 10);
      process.kill(victim!, 'SIGKILL');
      await waitFor('the replacement', async () => {
        const kids = await childrenOf(master);
        return kids.length === 2 && !kids.includes(victim!) && kids.includes(other!);
      });
      await waitFor('load after the kill', () => l.stats.ok > 40);
      const stats = await l.stop();
      // Connections the dead worker had accepted die with it (F7: "same"); nothing else fails.
      assert.ok(stats.failed <= 4, `failed: ${stats.failed} ${stats.errors.join('; ')}`);
      assert.match(cli.stderr(), new RegExp(`Worker ${victim} killed by SIGKILL — out of memory\\?`));
      assert.equal((await get(cli.port, '/pid')).status, 200);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('F6 and heartbeat: a streaming response outlives --timeout; a blocked event loop is reported with its request, then replaced', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '1', '--timeout', '1']);
    try {
      const master = cli.child.pid!;
      // 3 s of streaming with --timeout 1: the loop keeps turning, the worker is not stuck.
      const r = await get(cli.port, '/stream?n=12&ms=250', 20_000);
      assert.equal(count(r.body, /tick \d+/), 12);
      assert.doesNotMatch(cli.stderr(), /WORKER TIMEOUT/);
      const [stuck] = await childrenOf(master);
      const spin = get(cli.port, '/spin?ms=60000', 20_000);
      await waitFor('the timeout report', () => /\[CRITICAL\] WORKER TIMEOUT \(pid \d+\): its event loop/.test(cli.stderr()));
      assert.match(cli.stderr(), new RegExp(`WORKER TIMEOUT \\(pid ${stuck}\\): its event loop has not turned for [\\d.]+ s.*GET /spin\\?ms=60000 \\(started`));
      // The master reads the blocked thread's JavaScript stack (SIGUSR1 + inspector) before the kill:
      // innermost the app's busy loop, in the fixture's file.
      await waitFor('the stack', () => cli.stderr().includes(`WORKER TIMEOUT (pid ${stuck}): JavaScript stack`), 10_000);
      assert.match(
        cli.stderr(),
        /JavaScript stack of its main thread, innermost first:\n {4}at spinUntil \([^)]*test\/prefork\/fixtures\/fault\.ts:\d+:\d+\)\n {4}at /,
      );
      const res = await spin;
      assert.equal(res.status, 0, 'the stuck request is cut (the client sees the connection close)');
      await waitFor('the replacement', async () => {
        const kids = await childrenOf(master);
        return kids.length === 1 && kids[0] !== stuck;
      });
      assert.match(cli.stderr(), new RegExp(`Worker ${stuck} was killed after its event loop stopped answering`));
      assert.equal((await get(cli.port, '/pid')).status, 200);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('heartbeat: a worker blocked inside a system call has no JavaScript stack to read; the log says so and it is replaced', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-fifo-'));
    const fifo = path.join(dir, 'never-written');
    execFileSync('mkfifo', [fifo]);
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '1', '--timeout', '1']);
    try {
      const master = cli.child.pid!;
      const [stuck] = await childrenOf(master);
      const blocked = get(cli.port, `/fifo?path=${encodeURIComponent(fifo)}`, 20_000);
      await waitFor('the stack report', () => cli.stderr().includes(`WORKER TIMEOUT (pid ${stuck}): its JavaScript stack could not be read`), 15_000);
      assert.match(cli.stderr(), /blocked inside native code/);
      assert.equal((await blocked).status, 0);
      await waitFor('the replacement', async () => {
        const kids = await childrenOf(master);
        return kids.length === 1 && kids[0] !== stuck;
      });
      assert.equal((await get(cli.port, '/pid')).status, 200);
    } finally {
      await cli.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('F9: --max-requests: the worker is replaced after its requests, every response complete', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '1', '--max-requests', '3']);
    try {
      const first = (await get(cli.port, '/pid')).body;
      assert.equal((await get(cli.port, '/pid')).body, first);
      const third = await get(cli.port, '/stream?n=4&ms=100');
      assert.equal(count(third.body, /tick \d+/), 4, 'the in-flight response completes');
      await waitFor('a new worker', async () => {
        const r = await get(cli.port, '/pid');
        return r.status === 200 && r.body !== first;
      });
      assert.match(cli.stderr(), /served 3 requests \(max-requests\)/);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('F8: a worker exiting with code 3 at run time is respawned, not taken for a boot failure; F1: an app error is a 500 and the worker lives', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '1']);
    try {
      const pid = (await get(cli.port, '/pid')).body;
      const raised = await get(cli.port, '/raise');
      assert.equal(raised.status, 500);
      assert.equal((await get(cli.port, '/pid')).body, pid, 'the worker survives an application error');
      await get(cli.port, '/exit?code=3');
      await waitFor('the respawned worker', async () => {
        const r = await get(cli.port, '/pid');
        return r.status === 200 && r.body !== pid;
      });
      assert.match(cli.stderr(), /exited with code 3/);
      assert.equal(cli.child.exitCode, null, 'the master keeps running');
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('F17: the workers exit when the master dies', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '2']);
    const master = cli.child.pid!;
    await waitFor('two workers', async () => (await childrenOf(master)).length === 2);
    const kids = await childrenOf(master);
    await cli.stop('SIGKILL');
    await waitFor('the orphaned workers to exit', () => kids.every((p) => !alive(p)), 10_000);
  });

  it('F12: SIGINT stops at once (cutting in-flight responses), exit 0', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '2']);
    const stream = get(cli.port, '/stream?n=100&ms=200', 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    const code = await cli.stop('SIGINT');
    const took = Date.now() - t0;
    assert.equal(code, 0);
    assert.ok(took < 5000, `quick stop took ${took} ms`);
    const r = await stream;
    assert.ok(count(r.body, /tick/) < 100);
    assert.match(cli.stderr(), /SIGINT: quick shutdown/);
  });

  it('TTIN/TTOU add and remove a worker; USR1 reopens logs', async () => {
    const cli = await startCli([FAULT, '-b', '127.0.0.1:0', '-w', '1']);
    try {
      const master = cli.child.pid!;
      cli.child.kill('SIGTTIN');
      await waitFor('two workers', async () => (await childrenOf(master)).length === 2);
      cli.child.kill('SIGTTOU');
      await waitFor('one worker', async () => (await childrenOf(master)).length === 1);
      cli.child.kill('SIGUSR1');
      await waitFor('the reopen', () => cli.stderr().includes('SIGUSR1: reopening the log files'));
      assert.equal((await workerPids(cli.port, 3)).size, 1);
    } finally {
      await cli.stop('SIGKILL');
    }
  });
});
