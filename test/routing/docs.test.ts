// Every ```ts block of docs/routing.md and docs/exceptions.md is run (its asserts are the checks) and
// type-checked with tsc, written out as a user would write it, its tsgi/... imports pointed at src/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PAGES = ['routing', 'exceptions'];
const TARGETS: Record<string, string> = {
  tsgi: 'src/index.ts',
  'tsgi/routing': 'src/routing/index.ts',
  'tsgi/exceptions': 'src/exceptions/index.ts',
  'tsgi/compose': 'src/compose.ts',
  'tsgi/testing': 'src/testing/index.ts',
};

let dir: string;

function blocks(page: string): string[] {
  const md = readFileSync(path.join(repo, 'docs', `${page}.md`), 'utf8');
  return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Writes block `i` of a page as <dir>/<page>-<i>.ts, imports pointed at the sources (or left for tsc's paths). */
function write(page: string, i: number, code: string, forTsc: boolean): string {
  const text = code.replace(/from '(tsgi(?:\/[a-z]+)?)'/g, (_m, spec: string) => {
    const target = TARGETS[spec];
    assert.ok(target, `unknown import ${spec} in docs/${page}.md`);
    return forTsc ? `from '${spec}'` : `from '${pathToFileURL(path.join(repo, target)).href}'`;
  });
  const file = path.join(dir, `${page}-${i}${forTsc ? '-tsc' : ''}.ts`);
  writeFileSync(file, text);
  return file;
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tsgi-routing-docs-'));
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('docs examples run', () => {
  for (const page of PAGES) {
    it(`docs/${page}.md: every example runs and its asserts hold`, async () => {
      const list = blocks(page);
      assert.ok(list.length >= 2, `docs/${page}.md has examples`);
      for (const [i, code] of list.entries()) {
        const mod = (await import(pathToFileURL(write(page, i, code, false)).href)) as { application?: unknown };
        if ('application' in mod) assert.equal(typeof mod.application, 'function', `docs/${page}.md example ${i + 1} exports an application`);
      }
    });
  }
});

describe('docs examples type-check', () => {
  it('every example compiles under the project settings', () => {
    const files = PAGES.flatMap((page) => blocks(page).map((code, i) => write(page, i, code, true)));
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
