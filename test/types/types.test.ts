// The public types hold what docs/SPEC.md promises: the fixtures in test/types/fixtures must compile,
// and each `// @ts-expect-error TSnnnn` line in them must fail with exactly that error. tsc runs twice
// per lib setting: once on the fixtures as they are (every directive used, nothing else wrong), once on
// a copy with the directives blanked out (the errors land on exactly the marked lines, with the marked
// codes), so a directive cannot be satisfied by some other mistake on its line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const tsc = path.join(repo, 'node_modules/typescript/bin/tsc');
const generated = path.join(here, '.generated');
const DIRECTIVE = /\/\/ @ts-expect-error\b(.*)$/;

const CONFIGS = [
  { name: 'project settings (ES2023, @types/node)', file: 'tsconfig.json', folders: ['fixtures'] },
  { name: 'with the DOM lib (as `tsc --init` makes a project)', file: 'tsconfig.dom.json', folders: ['fixtures', 'fixtures/dom'] },
];

interface Diagnostic {
  file: string;
  line: number;
  code: string;
  text: string;
}

function runTsc(config: string, cwd: string): { status: number | null; diagnostics: Diagnostic[]; output: string } {
  const r = spawnSync(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd, encoding: 'utf8', timeout: 180_000 });
  const output = r.stdout + r.stderr;
  const diagnostics: Diagnostic[] = [];
  for (const m of output.matchAll(/^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/gm)) {
    diagnostics.push({ file: path.resolve(cwd, m[1]!), line: Number(m[2]), code: m[3]!, text: m[4]! });
  }
  return { status: r.status, diagnostics, output };
}

function fixtureFiles(folders: string[]): string[] {
  return folders.flatMap((f) =>
    readdirSync(path.join(here, f))
      .filter((n) => n.endsWith('.ts'))
      .map((n) => path.join(f, n)),
  );
}

describe('public types', () => {
  for (const config of CONFIGS) {
    describe(config.name, () => {
      it('the fixtures compile, every @ts-expect-error used', () => {
        const r = runTsc(path.join(here, config.file), here);
        assert.equal(r.status, 0, r.output);
      });

      it('each @ts-expect-error marks exactly the error it names', () => {
        const out = path.join(generated, path.basename(config.file, '.json'));
        rmSync(out, { recursive: true, force: true });
        const expected = new Map<string, string>(); // "file:line" -> code
        for (const rel of fixtureFiles(config.folders)) {
          const lines = readFileSync(path.join(here, rel), 'utf8').split('\n');
          const target = path.join(out, rel);
          lines.forEach((line, i) => {
            const m = DIRECTIVE.exec(line);
            if (!m) return;
            const code = /^\s*(TS\d+)\b/.exec(m[1]!)?.[1];
            assert.ok(code, `${rel}:${i + 1}: name the expected error, as in // @ts-expect-error TS2345 why`);
            expected.set(`${target}:${i + 2}`, code);
            lines[i] = line.replace(DIRECTIVE, `// (expects ${code})`);
          });
          mkdirSync(path.dirname(target), { recursive: true });
          writeFileSync(target, lines.join('\n'));
        }
        assert.ok(expected.size >= 10, `the fixtures hold the refusals (found ${expected.size})`);
        // The copy keeps the original's compiler options and 'tsgi' mapping.
        const configFile = path.join(out, 'tsconfig.json');
        const include = config.folders.map((f) => `${f}/*.ts`);
        writeFileSync(configFile, JSON.stringify({ extends: path.join(here, config.file), include, exclude: [] }));
        const r = runTsc(configFile, out);
        const unplaced = r.output.split('\n').filter((l) => /error TS\d+/.test(l) && !/^.+\(\d+,\d+\): error /.test(l));
        assert.deepEqual(unplaced, [], 'tsc failed outside the fixtures');
        const seen = new Map<string, Diagnostic[]>();
        for (const d of r.diagnostics) {
          const key = `${d.file}:${d.line}`;
          seen.set(key, [...(seen.get(key) ?? []), d]);
        }
        const problems: string[] = [];
        for (const [key, code] of expected) {
          const got = seen.get(key) ?? [];
          if (got.length === 0 || got.some((d) => d.code !== code)) {
            problems.push(`${path.relative(out, key)}: expected ${code}, got ${got.map((d) => `${d.code} ${d.text}`).join('; ') || 'no error'}`);
          }
        }
        for (const [key, got] of seen) {
          if (!expected.has(key)) problems.push(`${path.relative(out, key)}: unexpected ${got.map((d) => `${d.code} ${d.text}`).join('; ')}`);
        }
        assert.deepEqual(problems, [], r.output);
      });
    });
  }
});
