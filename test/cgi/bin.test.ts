// tsgi-cgi (src/cgi/bin.ts) as a web server runs it: a child process with the request in its
// environment, the response read from its stdout.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const BIN = path.join(ROOT, 'src/cgi/bin.ts');
const APP = path.join(HERE, 'fixtures/app.ts');
const TSX = import.meta.resolve('tsx');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-cgi-bin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs argv with exactly `env` (plus PATH); `onStdout` sees each chunk and may signal the child. */
function run(
  argv: string[],
  env: Record<string, string>,
  opts: { stdin?: string; onStdout?: (c: Buffer, kill: (s: NodeJS.Signals) => void) => void } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out.push(c);
      opts.onStdout?.(c, (s) => child.kill(s));
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(opts.stdin ?? '');
  });
}

const node = (...args: string[]) => [process.execPath, '--import', TSX, BIN, ...args];
const body = (r: Result) => r.stdout.subarray(r.stdout.indexOf('\r\n\r\n') + 4);

describe('tsgi-cgi', { timeout: 60_000 }, () => {
  test("answers one request: wsgiref's bytes for GET /hello, exit 0", async () => {
    const r = await run(node(APP), { REQUEST_METHOD: 'GET', PATH_INFO: '/hello', SERVER_NAME: 'wire.test', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.1' });
    assert.equal(r.stdout.toString('latin1'), readFileSync(path.join(HERE, 'fixtures/cgi-wsgiref-hello.bin'), 'latin1'), r.stderr);
    assert.equal(r.code, 0);
  });

  test('POST: the body from stdin; arguments after MODULE (script path, ISINDEX words) are ignored', async () => {
    const r = await run(
      node(`${APP}:application`, '/srv/cgi-bin/app.cgi', 'word'),
      { REQUEST_METHOD: 'POST', PATH_INFO: '/echo', CONTENT_LENGTH: '5' },
      { stdin: 'hello' },
    );
    const echo = JSON.parse(body(r).toString()) as { body: string; environ: Record<string, string> };
    assert.equal(echo.body, 'hello', r.stderr);
    assert.equal(echo.environ['wsgi.run_once'], 'true');
  });

  test('environment bytes that are not UTF-8 reach PATH_INFO exactly (latin-1), as Apache passes them', async () => {
    const cmd = `PATH_INFO=$'/caf\\xe9/echo' REQUEST_METHOD=GET exec ${node(APP).join(' ')}`;
    const r = await run(['/bin/bash', '-c', cmd], {});
    const echo = JSON.parse(body(r).toString('latin1')) as { environ: Record<string, string> };
    // JSON carried the native string as UTF-8: U+00E9 is the byte E9.
    assert.equal(Buffer.from(JSON.stringify(echo.environ.PATH_INFO), 'latin1').toString('utf8'), JSON.stringify('/caf\u00e9/echo'), r.stderr);
  });

  test('as the first line of a script: #!/usr/bin/env -S ... tsgi-cgi app.ts', async () => {
    const script = path.join(dir, 'hello.cgi');
    writeFileSync(script, `#!/usr/bin/env -S ${node(APP).join(' ')}\n`);
    chmodSync(script, 0o755);
    const r = await run([script], { REQUEST_METHOD: 'GET', PATH_INFO: '/hello' });
    assert.match(r.stdout.toString(), /^Status: 200 OK\r\n[^]*\r\n\r\nHello, World!\n$/, r.stderr);
  });

  test('the process exits when the response is out, even with a timer left running', async () => {
    const r = await run(node(APP), { PATH_INFO: '/timer' });
    assert.equal(r.code, 0);
    assert.equal(body(r).toString(), 'left a timer\n');
  });

  test('SIGTERM from the web server stops the body, runs its close(), and exits', async () => {
    const marker = path.join(dir, 'closed.txt');
    let killed = false;
    const r = await run(
      node(APP),
      { PATH_INFO: '/forever', TSGI_TEST_MARKER: marker },
      {
        onStdout: (_c, kill) => {
          if (!killed) (killed = true), kill('SIGTERM');
        },
      },
    );
    assert.equal(r.code, 1);
    assert.equal(existsSync(marker) && readFileSync(marker, 'utf8'), 'closed\n', r.stderr);
  });

  test("a module that cannot load: wsgiref's 500 on stdout, the reason on stderr, exit 1", async () => {
    const r = await run(node(path.join(dir, 'missing.ts')), { REQUEST_METHOD: 'GET' });
    assert.equal(r.code, 1);
    assert.match(r.stdout.toString(), /^Status: 500 Internal Server Error\r\n[^]*A server error occurred\. {2}Please contact the administrator\.$/);
    assert.match(r.stderr, /cannot find the application module/);
  });

  test('no MODULE: usage on stderr, exit 2', async () => {
    const r = await run(node(), {});
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: tsgi-cgi MODULE/);
  });
});
