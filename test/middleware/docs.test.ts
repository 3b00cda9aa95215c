// The runnable example at the top of each page in docs/compose.md and docs/middleware/ is run here, as the
// user would write it into app.ts (tsgi/... imports pointed at src/), and type-checked with tsc.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { Application } from '../../src/spec.js';
import { request } from '../../src/testing/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PAGES = [
  'compose',
  'middleware/static',
  'middleware/compress',
  'middleware/proxy',
  'middleware/access-log',
  'middleware/request-id',
  'middleware/error-page',
];
const TARGETS: Record<string, string> = {
  tsgi: 'src/index.ts',
  'tsgi/middleware': 'src/middleware/index.ts',
  'tsgi/util': 'src/util.ts',
  'tsgi/testing': 'src/testing/index.ts',
};

let dir: string;

/** The first ```ts block of a page. */
function example(page: string): string {
  const md = readFileSync(path.join(repo, 'docs', `${page}.md`), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(md);
  assert.ok(m, `docs/${page}.md has a ts example`);
  return m[1]!;
}

/** Writes a page's example as <dir>/<name>/app.ts, its tsgi imports pointed at the sources. */
function writeExample(page: string, forTsc: boolean): string {
  const name = page.replace('/', '-');
  const folder = path.join(dir, name);
  mkdirSync(folder, { recursive: true });
  const code = example(page).replace(/from '(tsgi(?:\/[a-z]+)?)'/g, (_m, spec: string) => {
    const target = TARGETS[spec];
    assert.ok(target, `unknown import ${spec} in docs/${page}.md`);
    return forTsc ? `from '${spec}'` : `from '${pathToFileURL(path.join(repo, target)).href}'`;
  });
  const file = path.join(folder, 'app.ts');
  writeFileSync(file, code);
  return file;
}

async function load(page: string): Promise<Application> {
  const file = writeExample(page, false);
  const mod = (await import(pathToFileURL(file).href)) as { application?: Application };
  assert.equal(typeof mod.application, 'function', `docs/${page}.md exports application`);
  return mod.application!;
}

/** Runs `fn` with process.stdout captured (the access-log examples write there). */
async function capturingStdout<T>(fn: () => Promise<T>): Promise<[T, string]> {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    return [await fn(), out];
  } finally {
    process.stdout.write = write;
  }
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tsgi-docs-'));
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n'); // app.ts is an ES module, as in the project
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('docs examples run', () => {
  it('compose.md', async () => {
    const app = await load('compose');
    const [texts, out] = await capturingStdout(async () => [
      (await request(app, '/api/users/7')).text,
      (await request(app, '/api/v2/users/7')).text,
      (await request(app, '/about')).text,
    ]);
    assert.deepEqual(texts, [
      'api v1: SCRIPT_NAME=/api PATH_INFO=/users/7\n',
      'api v2: SCRIPT_NAME=/api/v2 PATH_INFO=/users/7\n',
      'site: SCRIPT_NAME= PATH_INFO=/about\n',
    ]);
    assert.equal(out.trim().split('\n').length, 3, 'one access-log line per request');
  });

  it('middleware/static.md', async () => {
    mkdirSync(path.join(dir, 'middleware-static', 'public'), { recursive: true });
    writeFileSync(path.join(dir, 'middleware-static', 'public', 'index.html'), '<h1>hi there</h1>\n');
    const app = await load('middleware/static');
    const file = await request(app, '/static/index.html');
    assert.equal(file.text, '<h1>hi there</h1>\n');
    assert.equal(file.header('Cache-Control'), 'public, max-age=60');
    const range = await request(app, '/static/index.html', { headers: { Range: 'bytes=0-9' } });
    assert.equal(range.statusCode, 206);
    assert.equal((await request(app, '/elsewhere')).text, 'dynamic page for /elsewhere\n');
  });

  it('middleware/compress.md', async () => {
    const app = await load('middleware/compress');
    const res = await request(app, '/', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(res.header('Content-Encoding'), 'gzip');
    assert.match(zlib.gunzipSync(res.body).toString(), /All work and no play/);
  });

  it('middleware/proxy.md', async () => {
    const app = await load('middleware/proxy');
    const res = await request(app, '/', {
      headers: { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'www.example.com' },
    });
    assert.equal(res.text, 'client 203.0.113.7, this app lives at https://www.example.com/\n');
  });

  it('middleware/access-log.md', async () => {
    const app = await load('middleware/access-log');
    const [res, out] = await capturingStdout(() => request(app, '/hello?x=1', { headers: { 'User-Agent': 'demo' } }));
    assert.equal(res.text, 'hello\n');
    const line = JSON.parse(out) as Record<string, unknown>;
    assert.equal(line['url.path'], '/hello');
    assert.equal(line['url.query'], 'x=1');
    assert.equal(line['user_agent.original'], 'demo');
    assert.equal(line['http.response.body.size'], 6);
    assert.equal(typeof line['request.id'], 'string');
  });

  it('middleware/request-id.md', async () => {
    const app = await load('middleware/request-id');
    const [res] = await capturingStdout(() => request(app, '/', { headers: { 'X-Request-ID': 'abc-123' } }));
    assert.equal(res.header('X-Request-ID'), 'abc-123');
    assert.equal(res.text, 'your request is abc-123\n');
  });

  it('middleware/error-page.md', async () => {
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'development';
    try {
      const app = await load('middleware/error-page');
      const res = await request(app, '/', { headers: { Accept: '*/*' } });
      assert.equal(res.statusCode, 500);
      assert.match(res.text, /^500 Internal Server Error\n\nError: no user 42\n\s+at loadUser/);
      assert.match(res.text, /Caused by Error: database unreachable/);
    } finally {
      if (saved === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = saved;
    }
  });
});

describe('docs examples type-check', () => {
  it('every example compiles under the project settings', () => {
    const files = PAGES.map((p) => writeExample(p, true));
    const paths: Record<string, string[]> = {};
    for (const [spec, target] of Object.entries(TARGETS)) paths[spec] = [path.join(repo, target)];
    const config = {
      extends: path.join(repo, 'tsconfig.json'),
      compilerOptions: { noEmit: true, baseUrl: dir, paths, rootDir: '/', typeRoots: [path.join(repo, 'node_modules/@types')] },
      include: [],
      files,
    };
    const configFile = path.join(dir, 'tsconfig.json');
    writeFileSync(configFile, JSON.stringify(config));
    const tsc = path.join(repo, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', configFile], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
