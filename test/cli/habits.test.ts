// What people coming from other servers type, and what tsgi answers: the built CLI as users run it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { get } from '../prefork/helpers.js';

const waitFor = async (what: string, cond: () => boolean, ms = 15000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('CLI habits from other servers', { timeout: 60_000 }, () => {
  it('-p 3000 (a port in other tools, the pidfile here, as in gunicorn) warns and says how to serve on 3000', async () => {
    const r = await runCli(['examples/hello.ts', '-p', '3000', '--check-config']);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /warning: --pidfile \(-p\) 3000 writes the master's pid to a file named '3000'/);
    assert.match(r.stderr, /--bind 0\.0\.0\.0:3000 \(or PORT=3000\)/);
  });

  it("--port and --host get a hint naming --bind, not node:util's parser message", async () => {
    for (const flag of ['--port', '--host']) {
      const r = await runCli(['examples/hello.ts', flag, '3000']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`unknown option ${flag}: tsgi listens where --bind says`));
      assert.doesNotMatch(r.stderr, /To specify a positional argument/);
    }
  });

  it('a misspelt flag names the one meant', async () => {
    const r = await runCli(['examples/hello.ts', '--wokers', '2']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option --wokers \(did you mean --workers\?\)/);
  });

  it('--check-config refuses an address that cannot be one, and resolves a host name', async () => {
    const bad = await runCli(['examples/hello.ts', '--check-config', '--bind', '1.2.3.4.5:80']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /"1\.2\.3\.4\.5" is not an IPv4 address/);
    const name = await runCli(['examples/hello.ts', '--check-config', '--bind', 'bad_host!:80']);
    assert.match(name.stderr, /is not a host name or an IP address/);
    const ok = await runCli(['examples/hello.ts', '--check-config', '--bind', 'localhost:8123']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /it would listen at http:\/\/localhost:8123 \((127\.0\.0\.1|::1)\)/);
  });

  it("an application that does not compile gets one line naming the place, not the loader's stack", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-syntax-'));
    try {
      writeFileSync(path.join(dir, 'app.ts'), 'export function application(e: unknown, s: Function) {\n  s("200 OK", [];\n}\n');
      const r = await runCli([path.join(dir, 'app.ts'), '--check-config']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /app\.ts failed to load: .*app\.ts:2\b.*(Expected|expected|SyntaxError)/);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack lines');
      assert.ok(r.stderr.trim().split('\n').length <= 2, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help fits an 80-column terminal', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    const long = r.stdout.split('\n').filter((l) => l.length > 80 && /\s/.test(l.trim()));
    assert.deepEqual(long, []);
    assert.match(r.stdout, /--workers/);
  });

  it("--reload watches the application's own folder when it lies outside the working directory", async () => {
    const appDir = mkdtempSync(path.join(tmpdir(), 'tsgi-reload-app-'));
    const cwd = mkdtempSync(path.join(tmpdir(), 'tsgi-reload-cwd-'));
    const app = path.join(appDir, 'app.mjs');
    const write = (text: string) =>
      writeFileSync(app, `export function application(e, start) { start('200 OK', [['Content-Type', 'text/plain']]); return ['${text}']; }\n`);
    write('one');
    const cli = await startCli([app, '--bind', '127.0.0.1:0', '--reload'], { cwd });
    try {
      assert.equal(await (await fetch(cli.url)).text(), 'one');
      assert.match(cli.stderr(), new RegExp(`--reload: watching .* and ${appDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      await new Promise((r) => setTimeout(r, 300));
      write('two');
      await waitFor('the reload', () => /Reload complete/.test(cli.stderr()));
      // A new connection: fetch's kept one may still be answered once by the draining old worker (with
      // Connection: close), which is the drain doing its job.
      assert.equal((await get(cli.port, '/')).body, 'two');
    } finally {
      await cli.stop('SIGKILL');
      rmSync(appDir, { recursive: true, force: true });
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
