// The package as a stranger meets it: `npm pack` (the tarball npm would publish), installed into a
// fresh CommonJS project and a fresh ES module project (`npm init -y`, then "type" set), where the
// installed `tsgi` CLI serves TypeScript apps with no build step (a default export; a named export
// with a tsgi.config.ts), a keep-alive client talks to it over a real socket, SIGTERM stops it; config
// files in every format load; `require('tsgi')` (CommonJS) and `import` (ESM) work, with tsgi/testing.
// tsx is not installed: Node strips the types. Where Node cannot (a Node without type stripping, an
// enum), the error names what to install, and with tsx installed the same files load.
// Needs `npm run build` first (dist/ is packed as it is) and npm; skips without npm.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, startCli } from '../helpers/cli.js';

const NO_NPM = spawnSync('npm', ['--version'], { stdio: 'ignore' }).error ? 'needs npm (not installed here)' : false;
const NATIVE_TS = Boolean((process.features as { typescript?: string | false }).typescript);
/** npm and the tsgi bin shim run `node` from PATH: make it the Node running this test. */
const ENV = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };
const INSTALL = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: ENV, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function must(cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} in ${cwd} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** GETs over one keep-alive connection: every response, and whether the later ones reused the socket. */
async function getKeepAlive(port: number, paths: string[]): Promise<Array<{ status: number; body: string; reused: boolean }>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const out = [];
    for (const p of paths) {
      out.push(
        await new Promise<{ status: number; body: string; reused: boolean }>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode!, body, reused: req.reusedSocket }));
          });
          req.on('error', reject);
        }),
      );
    }
    return out;
  } finally {
    agent.destroy();
  }
}

const APP_DEFAULT = `import type { Environ, StartResponse } from 'tsgi';
export default function (environ: Environ, start: StartResponse) {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [\`default \${environ.PATH_INFO}\`];
}
`;
// A runtime import of the package from the app, and SCRIPT_NAME from the config file below.
const APP_NAMED = `import { VERSION, type Application } from 'tsgi';
export const hello: Application = (environ, start) => {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [\`hello \${VERSION} \${environ.SCRIPT_NAME}\${environ.PATH_INFO}\`];
};
`;
const CONFIG_TS = `import { defineConfig } from 'tsgi/settings';
export default defineConfig({ bind: ['127.0.0.1:0'], scriptName: '/mounted' });
`;
const ENUM_APP = `enum Greeting { Hi = 'hi from an enum' }
export default function (_e: unknown, start: (s: string, h: Array<[string, string]>) => void) {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [Greeting.Hi];
}
`;

/** tsgi.config.* in each format, each setting workers to 3 (the .ts ones through a typed constant). */
function configFiles(type: 'commonjs' | 'module'): Record<string, string> {
  const esm = "import { defineConfig } from 'tsgi/settings';\nexport default defineConfig({ workers: 3 });\n";
  const cjs = "const { defineConfig } = require('tsgi/settings');\nmodule.exports = defineConfig({ workers: 3 });\n";
  return {
    'tsgi.config.ts': "import { defineConfig } from 'tsgi/settings';\nconst workers: number = 3;\nexport default defineConfig({ workers });\n",
    'tsgi.config.mts': "import { defineConfig } from 'tsgi/settings';\nconst workers: number = 3;\nexport default defineConfig({ workers });\n",
    'tsgi.config.cts': "const { defineConfig } = require('tsgi/settings');\nconst workers: number = 3;\nmodule.exports = defineConfig({ workers });\n",
    'tsgi.config.js': type === 'module' ? esm : cjs,
    'tsgi.config.mjs': esm,
    'tsgi.config.cjs': cjs,
    'tsgi.config.json': '{ "workers": 3 }\n',
  };
}

/** Uses the package the way each module system does, and tsgi/testing to run an app in-process. */
function checkScript(type: 'commonjs' | 'module'): string {
  const load =
    type === 'commonjs'
      ? "const tsgi = require('tsgi');\nconst { request } = require('tsgi/testing');\nconst { compose } = require('tsgi/compose');\n"
      : "import * as tsgi from 'tsgi';\nimport { request } from 'tsgi/testing';\nimport { compose } from 'tsgi/compose';\n";
  return `${load}
const app = (environ, start) => { start('201 Created', [['Content-Type', 'text/plain']]); return ['made ' + environ.PATH_INFO]; };
(async () => {
  const res = await request(compose(app), '/thing');
  console.log(JSON.stringify({ serve: typeof tsgi.serve, validate: typeof tsgi.validate, status: res.statusCode, text: res.text }));
})();
`;
}

let work: string;
let tarball: string;

before(async () => {
  if (NO_NPM) return;
  assert.ok(existsSync(path.join(ROOT, 'dist', 'index.js')), 'dist/ is missing: run `npm run build` first');
  work = mkdtempSync(path.join(os.tmpdir(), 'tsgi-consumer-'));
  // --ignore-scripts: pack dist/ as built, without rebuilding it under the other test files' feet.
  const out = await must('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
  tarball = path.join(work, (JSON.parse(out) as Array<{ filename: string }>)[0]!.filename);
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

for (const type of ['commonjs', 'module'] as const) {
  describe(`a fresh "type": "${type}" project with the packed tarball installed`, { skip: NO_NPM, timeout: 300_000 }, () => {
    let dir: string;
    const bin = () => path.join(dir, 'node_modules', '.bin', 'tsgi');
    const tsgi = (args: string[], cwd = dir) => run(bin(), args, cwd, 30_000);

    before(async () => {
      dir = path.join(work, type);
      mkdirSync(dir);
      await must('npm', ['init', '-y'], dir);
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, type }, null, 2));
      await must('npm', ['install', ...INSTALL, tarball], dir);
      writeFileSync(path.join(dir, 'app.ts'), APP_DEFAULT);
      writeFileSync(path.join(dir, 'enum-app.ts'), ENUM_APP);
      mkdirSync(path.join(dir, 'configured'));
      writeFileSync(path.join(dir, 'configured', 'named.ts'), APP_NAMED);
      writeFileSync(path.join(dir, 'configured', 'tsgi.config.ts'), CONFIG_TS);
      writeFileSync(path.join(dir, 'check.js'), checkScript(type));
    });

    it('installs without tsx (an optional peer) and without a build step', () => {
      assert.equal(existsSync(path.join(dir, 'node_modules', 'tsx')), false);
      assert.ok(existsSync(path.join(dir, 'node_modules', 'tsgi', 'dist', 'cli', 'main.js')));
      assert.ok(existsSync(path.join(dir, 'node_modules', 'tsgi', 'LICENSE')));
    });

    it('without tsx, where Node cannot load the TypeScript, the error names what to install', async () => {
      // A Node that strips types refuses an enum; an older one refuses all TypeScript.
      const r = await tsgi([NATIVE_TS ? 'enum-app.ts' : 'app.ts', '--check-config']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /npm install --save-dev tsx/);
      assert.match(r.stderr, NATIVE_TS ? /enum/ : /does not strip TypeScript types/);
      if (!NATIVE_TS) await must('npm', ['install', ...INSTALL, '--save-dev', 'tsx'], dir); // what the error says to do
    });

    it('tsgi app.ts (export default) serves a keep-alive client and stops on SIGTERM', async () => {
      const cli = await startCli(['app.ts', '--bind', '127.0.0.1:0'], { cwd: dir, bin: bin(), env: { PATH: ENV.PATH } });
      try {
        const [a, b] = await getKeepAlive(cli.port, ['/one', '/two']);
        assert.deepEqual([a!.status, a!.body, b!.status, b!.body], [200, 'default /one', 200, 'default /two']);
        assert.equal(b!.reused, true, 'the second request came on the same connection');
      } finally {
        assert.equal(await cli.stop('SIGTERM'), 0, cli.stderr());
      }
      assert.doesNotMatch(cli.stderr(), /Failed to load the ES module|ExperimentalWarning/);
    });

    it("docs/deploy.md's container command (exec node_modules/.bin/tsgi): SIGTERM reaches tsgi, which drains and exits 0", async () => {
      // The shell is replaced by tsgi (exec), so the signal a container runtime sends to its process
      // reaches the server itself, which stops gracefully (exit 0).
      const cli = await startCli(['-c', 'exec node_modules/.bin/tsgi app.ts --bind 127.0.0.1:0 --single-process'], {
        cwd: dir,
        bin: '/bin/sh',
        env: { PATH: ENV.PATH },
      });
      try {
        const [a] = await getKeepAlive(cli.port, ['/one']);
        assert.equal(a!.status, 200);
      } finally {
        assert.equal(await cli.stop('SIGTERM'), 0, cli.stderr());
      }
      assert.match(cli.stderr(), /SIGTERM: shutting down gracefully/);
    });

    it('tsgi named.ts:hello with a tsgi.config.ts (defineConfig) next to it', async () => {
      const cwd = path.join(dir, 'configured');
      // No --bind: the config file's 127.0.0.1:0 (the default would be port 8000), and its script-name
      // (SCRIPT_NAME for every request; PATH_INFO stays the whole path).
      const cli = await startCli(['named.ts:hello'], { cwd, bin: bin(), env: { PATH: ENV.PATH } });
      try {
        const [a, b] = await getKeepAlive(cli.port, ['/x', '/y']);
        const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
        assert.deepEqual([a!.body, b!.body], [`hello ${version} /mounted/x`, `hello ${version} /mounted/y`]);
        assert.equal(b!.reused, true);
      } finally {
        assert.equal(await cli.stop('SIGTERM'), 0, cli.stderr());
      }
    });

    it("a wrong export name lists the module's real exports", async () => {
      const r = await tsgi(['named.ts:nope', '--check-config'], path.join(dir, 'configured'));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /named\.ts has no export named "nope" \(exports: hello\)/);
    });

    it('reads tsgi.config in .ts, .mts, .cts, .js, .mjs, .cjs and .json', async () => {
      for (const [name, text] of Object.entries(configFiles(type))) {
        const cwd = path.join(dir, `config-${path.extname(name).slice(1)}`);
        mkdirSync(cwd);
        writeFileSync(path.join(cwd, name), text);
        const r = await tsgi(['--print-config'], cwd);
        assert.equal(r.code, 0, `${name}:\n${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^workers\\s+= 3\\s+# ${name.replace('.', '\\.')}$`, 'm'), name);
      }
    });

    it(type === 'commonjs' ? "require('tsgi') and tsgi/testing" : "import from 'tsgi' and tsgi/testing", async () => {
      const out = JSON.parse(await must(process.execPath, ['check.js'], dir)) as Record<string, unknown>;
      assert.deepEqual(out, { serve: 'function', validate: 'function', status: 201, text: 'made /thing' });
    });

    it('with tsx installed, what Node cannot strip loads through tsx', {
      skip: type === 'commonjs' && NATIVE_TS ? 'proved once, in the ES module project' : false,
    }, async () => {
      if (NATIVE_TS) await must('npm', ['install', ...INSTALL, '--save-dev', 'tsx'], dir);
      const cli = await startCli(['enum-app.ts', '--bind', '127.0.0.1:0'], { cwd: dir, bin: bin(), env: { PATH: ENV.PATH } });
      try {
        const [a] = await getKeepAlive(cli.port, ['/']);
        assert.equal(a!.body, 'hi from an enum');
      } finally {
        assert.equal(await cli.stop('SIGTERM'), 0, cli.stderr());
      }
    });
  });
}
