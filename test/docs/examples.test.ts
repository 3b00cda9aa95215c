// Every TypeScript/JavaScript block and every shell command in README.md and docs/**/*.md, checked
// against the code as a reader would use them:
//   - ```ts / ```js blocks are type-checked together by tsc under the project's settings ('tsgi' and
//     'tsgi/*' mapped to src/ as the package's exports map them to dist/), then each is run in its own
//     Node process (tsx). An exported application (any exported function of two parameters) is called
//     through tsgi/testing on the path a `curl` comment in the block names, and must not answer 5xx. A
//     block that starts a server (it names port 3000, 8000, 8001, 8051 or 9000) gets a free port on
//     127.0.0.1 instead, is sent a request (HTTP, or a bare connection for uwsgi/fastcgi), then SIGTERM.
//   - ```sh blocks: each `tsgi …` / `npx tsgi …` line starts the CLI (from src/, through tsx) on a free
//     port or a temporary Unix socket, serving the README's hello app.ts, is sent a request, then
//     stopped with SIGTERM; `node …` lines must exit 0; `curl …` lines run against a server started by
//     an earlier line of the same block. Any other command fails the test.
// A block is checked unless RULES below says otherwise, with the reason; each rule must match exactly one
// block, so a rule outlives neither its block nor a rewording of it. Snippets that show code inside an
// application may use the globals `environ`, `application`, `app` and `startResponse` (declared in the
// generated globals.d.ts, set by prelude.ts).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GEN = path.join(repo, 'test/docs/.generated');
const TSC_DIR = path.join(GEN, 'tsc');
const RUN_DIR = path.join(GEN, 'run');
const tsc = path.join(repo, 'node_modules/typescript/bin/tsc');
const CLI = path.join(repo, 'src/cli/main.ts');

/** Ports the docs use for servers; a run copy gets free ones instead. */
const DOC_PORTS = /\b(3000|8000|8001|8051|9000)\b/g;
const RUN_TIMEOUT = 40_000;
const START_TIMEOUT = 25_000;

interface Rule {
  file: string;
  /** A piece of the block's text that picks it out. */
  contains: string;
  /** Not checked at all, and why. */
  skip?: string;
  /** Type-checked but not run, and why. */
  typeOnly?: string;
  /** Run, but its exported applications not called, and why. */
  noCall?: string;
  /** A block of declarations (the types of src/spec.ts): type-checked as a .d.ts. */
  declarations?: true;
  /** Extra environment for the run, and the status the application answers on purpose. */
  env?: Record<string, string>;
  status?: number;
}

const RULES: Rule[] = [
  {
    file: 'README.md',
    contains: 'npm ci && npm start',
    skip: 'installs the dependencies and runs the whole suite, which is what CI does; npm start is the CLI the other blocks run',
  },
  {
    file: 'README.md',
    contains: 'npm install tsgi',
    skip: 'installs from the registry; test/package/consumer.test.ts installs the packed tarball into new projects instead',
  },
  {
    file: 'docs/deploy.md',
    contains: 'exec node_modules/.bin/tsgi app.ts',
    skip: 'node_modules/.bin/tsgi exists in a project that installed tsgi: test/package/consumer.test.ts runs this command there and stops it with SIGTERM',
  },
  {
    file: 'docs/errors.md',
    contains: "err.code === 'TSGI_ERR_LISTEN'",
    typeOnly: 'listens on /run/app.sock, a deployment path; test/errors.test.ts meets TSGI_ERR_LISTEN the way users do',
  },
  {
    file: 'docs/wrappers.md',
    contains: 'npx tsgi examples/guestbook/app.ts',
    skip: 'serves the guestbook from a clone of the repository; test/examples/guestbook*.test.ts run the same app through the CLI',
  },
  { file: 'docs/SPEC.md', contains: 'export type Chunk = Uint8Array | string;', declarations: true },
  { file: 'docs/bridges.md', contains: 'http://db.internal/slow-report', noCall: 'fetches http://db.internal/, a host that exists only in the example' },
  { file: 'docs/deploy.md', contains: 'uwsgi --plugin http', skip: "needs uWSGI's HTTP router (test/interop runs uWSGI in front of tsgi)" },
  {
    file: 'docs/deploy.md',
    contains: '#!/usr/bin/env -S npx tsgi-cgi app.ts',
    skip: "a CGI script's first line, run by the web server (test/cgi/bin.test.ts runs tsgi-cgi as Apache and lighttpd do)",
  },
  {
    file: 'docs/deploy.md',
    contains: '#!/usr/bin/env -S /srv/app/node_modules/.bin/tsgi-cgi',
    skip: "a CGI script's first line with the paths of a deployment under /srv (test/cgi/bin.test.ts runs tsgi-cgi)",
  },
  {
    file: 'docs/deploy.md',
    contains: 'await runCgi(application)',
    typeOnly: 'reads the request from the CGI environment and stdin, which only a web server provides (test/cgi runs runCgi)',
  },
  {
    file: 'docs/middleware/error-page.md',
    contains: 'errorPage({ enabled: process.env.NODE_ENV',
    env: { NODE_ENV: 'development' },
    status: 500,
  },
];

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
  slug: string;
  rule?: Rule;
}

function docFiles(): string[] {
  const out = ['README.md'];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(repo, dir)).sort()) {
      const rel = path.join(dir, name);
      if (statSync(path.join(repo, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.md')) out.push(rel);
    }
  };
  walk('docs');
  return out;
}

/** The fenced blocks of a Markdown file; an indented fence (in a list item) loses its indentation. */
function blocksOf(file: string): Block[] {
  const lines = readFileSync(path.join(repo, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trimStart().startsWith(fence!) && l.trim() === fence) break;
      body.push(l.startsWith(indent!) ? l.slice(indent!.length) : l.trimStart());
    }
    const slug = `${file.replace(/[^A-Za-z0-9]+/g, '_')}_L${i + 1}`;
    out.push({ file, line: i + 1, lang: lang!.toLowerCase(), code: body.join('\n') + '\n', slug });
    i = j;
  }
  return out;
}

const TS = new Set(['ts', 'typescript', 'tsx']);
const JS = new Set(['js', 'javascript', 'mjs']);
const SH = new Set(['sh', 'bash', 'shell', 'console']);

const blocks = docFiles()
  .flatMap(blocksOf)
  .filter((b) => TS.has(b.lang) || JS.has(b.lang) || SH.has(b.lang));
for (const rule of RULES) {
  const hits = blocks.filter((b) => b.file === rule.file && b.code.includes(rule.contains));
  for (const b of hits) b.rule = rule;
}

/** The package's exports, pointed at the sources: 'tsgi/util' -> src/util.ts. */
function sourcePaths(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { exports: Record<string, string | { types?: string }> };
  const paths: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(pkg.exports)) {
    const types = typeof value === 'string' ? value : value.types;
    if (types === undefined || !types.endsWith('.d.ts')) continue;
    const spec = key === '.' ? 'tsgi' : `tsgi/${key.slice(2)}`;
    paths[spec] = [path.join(repo, types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'))];
  }
  return paths;
}

const HELLO_APP = `import type { Application } from 'tsgi';

// The README's hello world: what \`tsgi app.ts\` and \`import { application } from './app.js'\` find.
export const application: Application = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['Hello, World!\\n'];
};
`;

const GLOBALS = `import type { Application, Environ, StartResponse } from 'tsgi';

// What a snippet that shows code inside an application may take as given.
declare global {
  var environ: Environ;
  var application: Application;
  var app: Application;
  var startResponse: StartResponse;
}
export {};
`;

const PRELUDE = `import { createEnviron } from 'tsgi/testing';
import type { Application, StartResponse } from 'tsgi';
import { application } from './app.js';

const start: StartResponse = () => async () => {};
Object.assign(globalThis, {
  environ: createEnviron('/caf%C3%A9', { query: 'x=1', headers: { 'User-Agent': 'docs-test' } }),
  application,
  app: application satisfies Application,
  startResponse: start,
});
`;

function driver(block: Block, requestPath: string): string {
  const call = block.rule?.noCall === undefined;
  const target = `./${block.slug}${JS.has(block.lang) ? '.mjs' : '.js'}`;
  return `import './prelude.js';
import { request } from 'tsgi/testing';
import type { Application } from 'tsgi';

const mod: Record<string, unknown> = await import('${target}');
if (${call}) {
  for (const [name, value] of Object.entries(mod)) {
    if (typeof value !== 'function' || value.length !== 2) continue;
    const res = await request(value as Application, ${JSON.stringify(requestPath)});
    console.log('@@docs ' + JSON.stringify({ export: name, status: res.statusCode, log: res.log }));
  }
}
`;
}

/** Whether a block starts a server: it calls one of the APIs that listen (comments aside). */
function startsServer(code: string): boolean {
  const bare = code.replace(/(^|\s)\/\/.*$/gm, '$1');
  return /\b(serve|makeServer|serveUwsgi|serveFastcgi|listen)\s*\(/.test(bare);
}

/** The first `curl … host:port/path` in a block, for the path to ask for. */
function curlPath(code: string): string {
  const m = /curl\b[^\n]*?(?:localhost|127\.0\.0\.1):\d+(\/[^\s'"`]*)?/.exec(code);
  return m?.[1] ?? '/';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function connects(target: { port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = 'port' in target ? net.connect(target.port, '127.0.0.1') : net.connect(target.path);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Proc {
  out: () => string;
  err: () => string;
  exited: () => boolean;
  /** The exit code, or the signal that ended the process. */
  done: Promise<number | NodeJS.Signals | null>;
  stop: () => Promise<number | NodeJS.Signals | null>;
}

function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: RUN_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let exited = false;
  const done = new Promise<number | NodeJS.Signals | null>((r) =>
    child.once('exit', (code, signal) => {
      exited = true;
      r(code ?? signal);
    }),
  );
  return {
    out: () => out,
    err: () => err,
    exited: () => exited,
    done,
    async stop() {
      if (exited) return done;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await done;
      clearTimeout(t);
      return code;
    },
  };
}

/** Waits until `target` accepts connections, or the process exits, or the time is up. */
async function awaitListening(proc: Proc, target: { port: number } | { path: string }, what: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT;
  while (Date.now() < deadline) {
    if (await connects(target)) return;
    if (proc.exited()) break;
    await sleep(150);
  }
  const code = proc.exited() ? await proc.done : 'still running';
  await proc.stop();
  assert.fail(`${what} did not listen on ${JSON.stringify(target)} (exit: ${code})\nstdout:\n${proc.out()}\nstderr:\n${proc.err()}`);
}

/** Sends GET `urlPath` until the server answers (connection refused: not listening yet). */
async function awaitHttp(proc: Proc, port: number, urlPath: string, what: string): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + START_TIMEOUT;
  while (Date.now() < deadline && !proc.exited()) {
    try {
      return await httpGet(port, urlPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw err;
    }
    await sleep(150);
  }
  const code = proc.exited() ? await proc.done : 'still running';
  await proc.stop();
  return assert.fail(`${what} did not answer on port ${port} (exit: ${code})\nstdout:\n${proc.out()}\nstderr:\n${proc.err()}`);
}

/** A run copy: free ports for the docs' ports, loopback for every host, a temporary folder for /run/tsgi. */
async function localize(code: string): Promise<{ code: string; ports: number[] }> {
  const map = new Map<string, number>();
  for (const m of code.matchAll(DOC_PORTS)) if (!map.has(m[1]!)) map.set(m[1]!, await freePort());
  const out = code
    .replace(DOC_PORTS, (p) => String(map.get(p)))
    .replace(/\blocalhost\b|\b0\.0\.0\.0\b/g, '127.0.0.1')
    .replace(/\/run\/tsgi\//g, `${RUN_DIR}/sock/`);
  return { code: out, ports: [...map.values()] };
}

/** Splits a shell line into words (plain, 'single' and "double" quoted), without the trailing comment. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:'([^']*)'|"([^"]*)"|(#.*)|(\S+))/g;
  for (const m of line.matchAll(re)) {
    if (m[3] !== undefined) break;
    const w = m[1] ?? m[2] ?? m[4];
    if (w !== undefined) out.push(w);
  }
  return out;
}

function describeBlock(b: Block): string {
  return `${b.file}:${b.line} (${b.lang})`;
}

let diagnostics = new Map<string, string[]>();
let tscOutput = '';

before(() => {
  rmSync(GEN, { recursive: true, force: true });
  mkdirSync(TSC_DIR, { recursive: true });
  mkdirSync(path.join(RUN_DIR, 'sock'), { recursive: true });
  const paths = sourcePaths();
  const files: string[] = [];
  for (const b of blocks) {
    if (SH.has(b.lang) || b.rule?.skip !== undefined) continue;
    const ext = b.rule?.declarations ? '.d.ts' : JS.has(b.lang) ? '.mjs' : '.ts';
    // `export {}` keeps each block a module of its own, so two blocks may declare the same names.
    writeFileSync(path.join(TSC_DIR, b.slug + ext), b.code + (b.rule?.declarations ? '' : '\nexport {};\n'));
    files.push(b.slug + ext);
  }
  for (const dir of [TSC_DIR, RUN_DIR]) {
    writeFileSync(path.join(dir, 'app.ts'), HELLO_APP);
    writeFileSync(path.join(dir, 'globals.d.ts'), GLOBALS);
    // Relative paths: tsx (in the run folder) reads the same mapping at run time.
    const rel: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(paths)) rel[k] = v.map((p) => path.relative(dir, p));
    const config = {
      extends: path.relative(dir, path.join(repo, 'tsconfig.json')),
      compilerOptions: { noEmit: true, rootDir: path.relative(dir, repo), allowJs: true, checkJs: false, paths: rel },
      include: dir === TSC_DIR ? files.concat('app.ts', 'globals.d.ts') : ['*.ts'],
      exclude: [],
    };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  }
  writeFileSync(path.join(RUN_DIR, 'prelude.ts'), PRELUDE);
  // The public/ folder the static-files examples serve, next to their app.ts.
  mkdirSync(path.join(RUN_DIR, 'public'));
  writeFileSync(path.join(RUN_DIR, 'public', 'index.html'), '<h1>hi there</h1>\n');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(TSC_DIR, 'tsconfig.json'), '--pretty', 'false'], {
    cwd: TSC_DIR,
    encoding: 'utf8',
    timeout: 240_000,
  });
  tscOutput = r.stdout + r.stderr;
  diagnostics = new Map();
  let current: string[] | undefined;
  for (const line of tscOutput.split('\n')) {
    const m = /^(.+?)\(\d+,\d+\): error /.exec(line);
    if (m) {
      const key = path.basename(m[1]!).replace(/\.(d\.ts|ts|mjs)$/, '');
      current = diagnostics.get(key) ?? [];
      diagnostics.set(key, current);
      current.push(line);
    } else if (line.startsWith(' ') && current) current.push(line);
    else if (line.trim() !== '') (diagnostics.get('(elsewhere)') ?? diagnostics.set('(elsewhere)', []).get('(elsewhere)')!).push(line);
  }
  if (r.status !== 0 && diagnostics.size === 0) diagnostics.set('(elsewhere)', [tscOutput || `tsc exited with ${r.status}`]);
});

describe('docs: the allow-list', () => {
  it('each rule matches exactly one block', () => {
    for (const rule of RULES) {
      const hits = blocks.filter((b) => b.file === rule.file && b.code.includes(rule.contains));
      assert.equal(hits.length, 1, `${rule.file}: ${JSON.stringify(rule.contains)} matches ${hits.length} blocks`);
    }
  });

  it('finds the blocks of every page (README.md and docs/**/*.md)', () => {
    assert.ok(blocks.length >= 40, `blocks found: ${blocks.length}`);
    assert.ok(new Set(blocks.map((b) => b.file)).size >= 12);
  });

  it('tsc reports nothing outside the blocks', () => {
    assert.deepEqual(diagnostics.get('(elsewhere)') ?? [], []);
  });
});

for (const file of [...new Set(blocks.map((b) => b.file))]) {
  describe(file, () => {
    for (const block of blocks.filter((b) => b.file === file)) {
      const name = describeBlock(block);
      const rule = block.rule;
      if (rule?.skip !== undefined) {
        it(name, { skip: rule.skip }, () => {});
        continue;
      }
      if (SH.has(block.lang)) {
        it(`${name}: its commands run`, { timeout: 120_000 }, () => runShell(block));
        continue;
      }
      it(`${name}: type-checks`, () => {
        assert.deepEqual(diagnostics.get(block.slug) ?? [], [], `${name} does not compile:\n${block.code}`);
      });
      if (rule?.declarations) continue;
      if (rule?.typeOnly !== undefined) {
        it(`${name}: runs`, { skip: rule.typeOnly }, () => {});
        continue;
      }
      it(`${name}: runs`, { timeout: 90_000 }, () => runBlock(block));
    }
  });
}

async function runBlock(block: Block): Promise<void> {
  const name = describeBlock(block);
  const { code, ports } = await localize(block.code);
  const ext = JS.has(block.lang) ? '.mjs' : '.ts';
  writeFileSync(path.join(RUN_DIR, block.slug + ext), code + '\nexport {};\n');
  writeFileSync(path.join(RUN_DIR, `run-${block.slug}.ts`), driver(block, curlPath(block.code)));
  const proc = start([`run-${block.slug}.ts`], block.rule?.env);
  if (startsServer(block.code)) {
    // A server: it must listen on the free port it was given, answer, and stop on SIGTERM.
    assert.ok(ports.length > 0, `${name}: starts a server but names none of the ports ${DOC_PORTS.source}`);
    const port = ports[0]!;
    if (/from 'tsgi\/(uwsgi|fastcgi)'/.test(block.code)) {
      await awaitListening(proc, { port }, name);
    } else {
      // The first request is the probe: some examples answer exactly one (handleRequest()).
      const res = await awaitHttp(proc, port, curlPath(block.code), name);
      assert.ok(res.status < 500, `${name}: GET ${curlPath(block.code)} answered ${res.status}\n${res.body}\n${proc.err()}`);
    }
    // Stopped by its own handler (exit 0) or by SIGTERM's default action; SIGKILL means it hung.
    const exit = await proc.stop();
    assert.ok(exit === 0 || exit === 'SIGTERM', `${name}: exit ${exit} after SIGTERM\n${proc.err()}`);
    return;
  }
  const timer = setTimeout(() => void proc.stop(), RUN_TIMEOUT);
  const exit = await proc.done;
  clearTimeout(timer);
  assert.equal(exit, 0, `${name} exited with ${exit}\nstdout:\n${proc.out()}\nstderr:\n${proc.err()}`);
  for (const line of proc.out().split('\n')) {
    if (!line.startsWith('@@docs ')) continue;
    const r = JSON.parse(line.slice(7)) as { export: string; status: number; log: string[] };
    const want = block.rule?.status;
    if (want !== undefined) assert.equal(r.status, want, `${name}: ${r.export} answered ${r.status}`);
    else assert.ok(r.status < 500, `${name}: ${r.export} answered ${r.status}\n${r.log.join('\n')}`);
  }
}

async function runShell(block: Block): Promise<void> {
  const name = describeBlock(block);
  const servers: Proc[] = [];
  const ports = new Map<string, number>();
  try {
    for (const raw of block.code.split('\n')) {
      const line = raw.replace(/^\$\s+/, '').trim();
      if (line === '' || line.startsWith('#')) continue;
      let w = words(line);
      if (w[0] === 'npx') w = w.slice(1);
      // The docs' ports become free ones, kept per block so a curl reaches the server above it.
      w = await Promise.all(
        w.map(async (word) => {
          let out = word;
          for (const m of word.matchAll(DOC_PORTS)) {
            if (!ports.has(m[1]!)) ports.set(m[1]!, await freePort());
            out = out.replace(m[1]!, String(ports.get(m[1]!)));
          }
          return out.replace(/\blocalhost\b|\b0\.0\.0\.0\b/g, '127.0.0.1').replace(/\/run\/tsgi\//g, `${RUN_DIR}/sock/`);
        }),
      );
      const [cmd, ...args] = w;
      if (cmd === 'tsgi') {
        const proc = start([CLI, ...args]);
        servers.push(proc);
        const i = args.indexOf('--bind');
        const bind = i === -1 ? '127.0.0.1:8000' : args[i + 1]!;
        const unix = /unix:(\/[^\s]+)$/.exec(bind);
        if (unix) {
          await awaitListening(proc, { path: unix[1]! }, `${name}: ${line}`);
          continue;
        }
        const port = Number(/:(\d+)$/.exec(bind)?.[1]);
        assert.ok(port > 0 && port !== 8000, `${name}: ${line}: a bind with a port (a default bind would not get a free port)`);
        await awaitListening(proc, { port }, `${name}: ${line}`);
        if (/^(uwsgi|fastcgi):/.test(bind)) continue;
        const res = await httpGet(port, '/');
        assert.equal(res.status, 200, `${name}: ${line}: GET / answered ${res.status}\n${proc.err()}`);
        assert.equal(res.body, 'Hello, World!\n');
      } else if (cmd === 'node') {
        const proc = start(args);
        const timer = setTimeout(() => void proc.stop(), RUN_TIMEOUT);
        const exit = await proc.done;
        clearTimeout(timer);
        assert.equal(exit, 0, `${name}: ${line} exited with ${exit}\n${proc.err()}`);
      } else if (cmd === 'curl') {
        assert.ok(servers.length > 0, `${name}: ${line}: curl needs a server started by an earlier line of the block`);
        const r = spawnSync('curl', ['--silent', '--show-error', '--max-time', '10', ...args], { cwd: RUN_DIR, encoding: 'utf8' });
        assert.equal(r.status, 0, `${name}: ${line}: ${r.stderr}`);
      } else {
        assert.fail(`${name}: ${line}: not a command this test runs (tsgi, npx tsgi, node, curl); run it here or add the block to RULES with a reason`);
      }
    }
  } finally {
    for (const s of servers) {
      const code = await s.stop();
      assert.equal(code, 0, `${name}: the CLI stops cleanly on SIGTERM\n${s.err()}`);
    }
    if (existsSync(path.join(RUN_DIR, 'sock'))) for (const f of readdirSync(path.join(RUN_DIR, 'sock'))) rmSync(path.join(RUN_DIR, 'sock', f), { force: true });
  }
}
