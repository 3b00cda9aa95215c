// Every ```ts example in docs/wrappers.md is run here, as the user would write it into app.ts (tsgi/...
// imports pointed at src/), and type-checked with tsc under the project's settings.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Application } from '../../src/spec.js';
import { request } from '../../src/testing/index.js';
import { validate } from '../../src/validate.js';
import { multipart } from './support.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TARGETS: Record<string, string> = {
  tsgi: 'src/index.ts',
  'tsgi/wrappers': 'src/wrappers/index.ts',
  'tsgi/exceptions': 'src/exceptions/index.ts',
  'tsgi/middleware': 'src/middleware/index.ts',
  'tsgi/util': 'src/util.ts',
  'tsgi/testing': 'src/testing/index.ts',
};

let dir: string;

/** The ```ts blocks of docs/wrappers.md, in order. */
function examples(): string[] {
  const md = readFileSync(path.join(repo, 'docs', 'wrappers.md'), 'utf8');
  return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Writes example `i` as <dir>/example-i/app.ts, its tsgi imports pointed at the sources (or left for tsc's paths). */
function writeExample(i: number, forTsc: boolean): string {
  const folder = path.join(dir, `example-${i}`);
  mkdirSync(folder, { recursive: true });
  const code = examples()[i]!.replace(/from '(tsgi(?:\/[a-z]+)?)'/g, (_m, spec: string) => {
    const target = TARGETS[spec];
    assert.ok(target, `unknown import ${spec} in docs/wrappers.md example ${i}`);
    return forTsc ? `from '${spec}'` : `from '${pathToFileURL(path.join(repo, target)).href}'`;
  });
  const file = path.join(folder, forTsc ? 'check.ts' : 'app.ts');
  writeFileSync(file, code);
  return file;
}

async function load(i: number): Promise<Application> {
  const mod = (await import(pathToFileURL(writeExample(i, false)).href)) as { application?: Application };
  assert.equal(typeof mod.application, 'function', `example ${i} exports application`);
  return validate(mod.application!);
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tsgi-wrappers-docs-'));
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/wrappers.md examples run', () => {
  it('has the four examples this test knows', () => {
    assert.equal(examples().length, 4);
  });

  it('1: greeting with a cookie, JSON echo', async () => {
    const app = await load(0);
    const first = await request(app, '/?name=Zoë');
    assert.equal(first.text, 'Hello, Zoë!\n');
    const cookie = first.header('Set-Cookie')!;
    assert.match(cookie, /^name=Zo%C3%AB; Max-Age=86400; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.equal((await request(app, '/', { headers: { Cookie: cookie.split(';')[0]! } })).text, 'Hello, Zoë!\n');
    assert.equal((await request(app, '/')).text, 'Hello, stranger!\n');
    const echo = await request(app, '/echo', { json: { a: 1 } });
    assert.deepEqual(JSON.parse(echo.text), { youSent: { a: 1 } });
    assert.equal((await request(app, '/echo', { body: 'x', headers: { 'Content-Type': 'text/plain' } })).statusCode, 415);
  });

  it('2: upload form', async () => {
    const app = await load(1);
    assert.match((await request(app, '/')).text, /<form method="post"/);
    const { body, contentType } = multipart([
      { name: 'title', value: 'Trip' },
      { name: 'file', value: 'hello', filename: 'notes.txt', contentType: 'text/plain' },
      { name: 'file', value: Buffer.alloc(600 * 1024), filename: '../../evil name.bin' },
    ]);
    const res = await request(app, '/', { body, headers: { 'Content-Type': contentType } });
    assert.equal(res.statusCode, 201, res.text);
    const out = JSON.parse(res.text) as { title: string; saved: Array<{ name: string; original: string; size: number; type: string }> };
    assert.equal(out.title, 'Trip');
    assert.deepEqual(
      out.saved.map((s) => [s.original, s.size, s.type]),
      [
        ['notes.txt', 5, 'text/plain'],
        ['evil name.bin', 600 * 1024, 'text/plain'],
      ],
    );
    const uploads = path.join(dir, 'example-1', 'uploads');
    assert.deepEqual(readdirSync(uploads).sort(), out.saved.map((s) => s.name).sort());
    const none = multipart([{ name: 'title', value: 'x' }]);
    assert.equal((await request(app, '/', { body: none.body, headers: { 'Content-Type': none.contentType } })).statusCode, 400);
  });

  it('3: file with validators and ranges, ETag page, 404', async () => {
    const app = await load(2);
    const full = await request(app, '/report.txt');
    assert.equal(full.statusCode, 200);
    assert.equal(full.body.length, 1700);
    const etag = full.header('ETag')!;
    assert.equal((await request(app, '/report.txt', { headers: { 'If-None-Match': etag } })).statusCode, 304);
    const part = await request(app, '/report.txt', { headers: { Range: 'bytes=0-99' } });
    assert.equal(part.statusCode, 206);
    assert.equal(part.body.length, 100);
    assert.equal((await request(app, '/report.txt?download')).header('Content-Disposition'), 'attachment; filename="report.txt"');
    const status = await request(app, '/status');
    assert.equal(status.text, 'all systems nominal\n');
    assert.equal((await request(app, '/status', { headers: { 'If-None-Match': status.header('ETag')! } })).statusCode, 304);
    const missing = await request(app, '/nope');
    assert.equal(missing.statusCode, 404);
    assert.match(missing.text, /Nothing at \/nope/);
    assert.ok(existsSync(path.join(dir, 'example-2', 'report.txt')));
  });

  it('4: Request.from in a plain application, a Response mounted', async () => {
    const app = await load(3);
    const fr = await request(app, '/', { headers: { 'Accept-Language': 'fr-CA, de;q=0.5' } });
    assert.equal(fr.text, 'Bonjour!\n');
    assert.equal(fr.header('Content-Language'), 'fr');
    assert.equal((await request(app, '/')).text, 'Hello!\n');
    assert.match((await request(app, '/robots.txt')).text, /^User-agent: \*/);
  });
});

describe('docs/wrappers.md examples type-check', () => {
  it('every example compiles under the project settings', () => {
    const files = examples().map((_, i) => writeExample(i, true));
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
