// The tsgi CLI as users run it: a subprocess, real sockets, signals.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../helpers/cli.js';
import { sleep } from '../helpers/net.js';

describe('tsgi CLI', () => {
  it('serves a TypeScript app without a build step and stops on SIGTERM with exit 0', async () => {
    const cli = await startCli(['examples/hello.ts', '--bind', '127.0.0.1:0']);
    const res = await fetch(`${cli.url}/`);
    assert.equal(await res.text(), 'Hello, World!\n');
    assert.match(cli.stderr(), /Listening at: http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)/);
    assert.equal(await cli.stop('SIGTERM'), 0);
    assert.match(cli.stderr(), /SIGTERM: shutting down gracefully/);
  });

  it('loads a JavaScript module, the default export, and a named export', async () => {
    const js = await startCli(['test/fixtures/apps/plain.mjs', '--bind', '127.0.0.1:0']);
    assert.equal(await (await fetch(`${js.url}/p`)).text(), 'js /p');
    await js.stop();
    const def = await startCli(['test/fixtures/apps/default-export.ts', '-b', '127.0.0.1:0']);
    assert.equal(await (await fetch(def.url)).text(), 'from default');
    await def.stop();
    const named = await startCli(['examples/environ.ts:application', '--bind', '127.0.0.1:0']);
    assert.match(await (await fetch(named.url)).text(), /^The Begining\n\*{30}\n/);
    await named.stop();
  });

  it('listens on several binds', async () => {
    const cli = await startCli(['examples/hello.ts', '--bind', '127.0.0.1:0', '--bind', '127.0.0.1:0']);
    for (let i = 0; i < 100 && cli.stderr().split('Listening at').length < 3; i++) await sleep(20);
    const ports = [...cli.stderr().matchAll(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(ports.length, 2);
    for (const p of ports) assert.equal((await fetch(`http://127.0.0.1:${p}/`)).status, 200);
    await cli.stop();
  });

  it('lets in-flight requests finish on SIGTERM and refuses new connections', async () => {
    const cli = await startCli(['test/fixtures/apps/slow.ts', '--bind', '127.0.0.1:0']);
    const inFlight = fetch(`${cli.url}/?ms=800`).then((r) => r.text());
    await sleep(200);
    const stopped = cli.stop('SIGTERM');
    await sleep(200);
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: cli.port });
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');
    assert.equal(await inFlight, 'slept 800');
    assert.equal(await stopped, 0);
  });

  it('prints --help generated from the settings table, and --version', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: tsgi MODULE\[:EXPORT\]/);
    for (const flag of ['--bind', '--limit-request-line', '--headers-timeout', '--keep-alive', '--graceful-timeout']) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    const version = await runCli(['--version']);
    assert.match(version.stdout, /^tsgi \d+\.\d+\.\d+/);
  });

  const failures: Array<[string, string[], Record<string, string>, RegExp, number]> = [
    ['no application', [], {}, /expected one application/, 2],
    ['an unknown flag', ['examples/hello.ts', '--nope'], {}, /unknown option --nope/, 2],
    ['a bad number', ['examples/hello.ts', '--limit-request-line', 'lots'], {}, /--limit-request-line: "lots" is not a whole number/, 2],
    ['a value out of range', ['examples/hello.ts', '--limit-request-fields', '0'], {}, /--limit-request-fields: 0 must be a whole number above 0/, 2],
    ['a bad environment value', ['examples/hello.ts'], { TSGI_KEEP_ALIVE: 'forever' }, /TSGI_KEEP_ALIVE \(setting keep-alive\): "forever" is not a number/, 2],
    ['a bad bind', ['examples/hello.ts', '--bind', 'localhost'], {}, /--bind "localhost": expected HOST:PORT/, 2],
    // The worker loads the application; the master stops with its error and a hint (F19), never loops.
    ['a missing module', ['nowhere.ts', '-b', '127.0.0.1:0'], {}, /cannot find the application module "nowhere.ts"/, 1],
    ['a missing export', ['test/fixtures/apps/plain.mjs:nothing', '-b', '127.0.0.1:0'], {}, /has no export named "nothing"/, 1],
    ['an export that is not a function', ['test/fixtures/apps/plain.mjs:notAnApp', '-b', '127.0.0.1:0'], {}, /export "notAnApp" is a number/, 1],
    [
      'a module that throws',
      ['test/fixtures/apps/broken.ts', '-b', '127.0.0.1:0'],
      {},
      /failed to load: .*this module fails on purpose.*the master stops here/s,
      1,
    ],
    ['a bad worker count', ['examples/hello.ts', '-w', '0'], {}, /--workers: 0 must be a whole number above 0/, 2],
    ['a bad WEB_CONCURRENCY', ['examples/hello.ts'], { WEB_CONCURRENCY: 'many' }, /WEB_CONCURRENCY \(setting workers\): "many" is not a whole number/, 2],
    ['a bad log format', ['examples/hello.ts', '--access-log-format', 'xml'], {}, /--access-log-format: "xml" must be one of combined, common/, 2],
    [
      'an unknown protocol',
      ['examples/hello.ts', '--bind', 'gopher://127.0.0.1:1'],
      {},
      /unknown protocol "gopher"; the protocols are http, uwsgi, fastcgi/,
      2,
    ],
    ['TLS with a certificate and no key', ['examples/hello.ts', '--certfile', 'x.pem'], {}, /--certfile and --keyfile go together/, 2],
  ];
  for (const [name, args, env, message, code] of failures) {
    it(`exits with a message naming the problem for ${name}`, async () => {
      const r = await runCli(args, env);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it('says so when the port is taken', async () => {
    const first = await startCli(['examples/hello.ts', '--bind', '127.0.0.1:0']);
    const r = await runCli(['examples/hello.ts', '--bind', `127.0.0.1:${first.port}`, '--bind-retries', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the address is already in use; retrying in 1 s \(1 of 1, setting bind-retries\)/);
    assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}: the address is already in use`));
    await first.stop();
  });

  it('takes settings from the environment, the command line winning', async () => {
    const cli = await startCli(['examples/environ.ts', '--bind', '127.0.0.1:0'], {
      env: { TSGI_SERVER_NAME: 'from-env', TSGI_BIND: '127.0.0.1:1' },
    });
    const text = await (await fetch(cli.url)).text();
    assert.match(text, /\nSERVER_NAME:from-env\n/);
    await cli.stop();
    const port = await startCli(['examples/hello.ts'], { env: { PORT: '0', HOST: '127.0.0.1' } });
    assert.equal((await fetch(port.url)).status, 200);
    await port.stop();
  });

  it('writes an access log line per request, in the format asked for, each with the request duration', async () => {
    for (const [format, pattern] of [
      ['combined', /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/logged\?x=1 HTTP\/1\.1" 200 14 "-" "tsgi-test" \d+$/m],
      ['common', /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/logged\?x=1 HTTP\/1\.1" 200 14 \d+$/m],
      ['json', /^\{.*"url\.path":"\/logged".*"http\.response\.status_code":200.*"http\.server\.request\.duration":[\d.e-]+.*\}$/m],
    ] as const) {
      const cli = await startCli(['examples/hello.ts', '--bind', '127.0.0.1:0', '--access-log', '-', '--access-log-format', format]);
      await (await fetch(`${cli.url}/logged?x=1`, { headers: { 'User-Agent': 'tsgi-test' } })).text();
      for (let i = 0; i < 50 && !pattern.test(cli.stdout()); i++) await sleep(20);
      assert.match(cli.stdout(), pattern, format);
      await cli.stop();
    }
  });
});
