#!/usr/bin/env node
// Runs the test suite with Node's test runner, TypeScript loaded through tsx.
//   node scripts/run-tests.mjs            every test under test/ (interop tests need their peers)
//   node scripts/run-tests.mjs http util  only files whose path contains one of the words
// Node 20's --test does not expand globs or pick up .ts files, hence this small walker.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

let files = walk(path.join(root, 'test'));
if (process.env.TSGI_SKIP_INTEROP === '1') files = files.filter((f) => !f.includes(`${path.sep}interop${path.sep}`));
// TSGI_SKIP_SLOW=1: leave out the long suites that prove tsgi's own machinery more than the Node it runs
// on (corpus, parity, fuzz, soak, 1 GiB streams, one-byte bodies, keep-alive reloads, the docs, types,
// browser and consumer-package suites). CI runs them once, on the machine's Node, and the rest on another.
const SLOW = [
  'http/soak',
  'http/stream-1gib',
  'body-pieces',
  'gunicorn-corpus',
  'protocol/parity',
  'fuzz',
  'docs/examples',
  'test/types/',
  'prefork/keepalive',
  'test/examples/',
  'test/package/',
];
if (process.env.TSGI_SKIP_SLOW === '1') files = files.filter((f) => !SLOW.some((s) => path.relative(root, f).includes(s)));
if (filters.length > 0) files = files.filter((f) => filters.some((w) => path.relative(root, f).includes(w)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
// Many suites run the built CLI (dist/): a fresh clone has none until the first build (npm test builds
// every time; this only covers `npm ci && node scripts/run-tests.mjs WORD`).
if (!existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
  process.stdout.write('run-tests: no dist/ yet, building it first (npm run build)\n');
  const b = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...files.map((f) => path.relative(root, f))];
if (process.env.TSGI_TEST_CONCURRENCY) args.splice(2, 0, `--test-concurrency=${process.env.TSGI_TEST_CONCURRENCY}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

// The HTTP door's suites again against the node engine (node:http; the first pass ran the default,
// tsgi's own src/http/net): both engines are held to the same hostile catalogue, oracle, fuzzing, behaviour
// and process-model fault tests. TSGI_ENGINE set by the caller runs one only.
const ENGINE_SUITES = [
  ...['hostile', 'oracle', 'fuzz', 'server', 'stream-1gib', 'soak'].map((n) => path.join(root, 'test', 'http', `${n}.test.ts`)),
  ...['signals', 'faults'].map((n) => path.join(root, 'test', 'prefork', `${n}.test.ts`)),
];
const again = files.filter((f) => ENGINE_SUITES.includes(f));
if (again.length > 0 && process.env.TSGI_ENGINE === undefined) {
  process.stdout.write(`\nrun-tests: the HTTP suites again with the node engine (TSGI_ENGINE=node)\n`);
  const a = ['--import', 'tsx', '--test', '--test-reporter=spec', ...again.map((f) => path.relative(root, f))];
  const r2 = spawnSync(process.execPath, a, { cwd: root, stdio: 'inherit', env: { ...process.env, TSGI_ENGINE: 'node' } });
  process.exit(r2.status ?? 1);
}
process.exit(0);
