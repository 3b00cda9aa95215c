#!/usr/bin/env node
// Lints the package as npm would publish it: packs it once (prepack builds dist/), then runs publint
// (package.json fields, exports, files) and Are the Types Wrong (types resolve for every entry point
// under node16/nodenext and bundlers) on that tarball.
//   npm run lint:package
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-lint-package-'));
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
try {
  const pack = run('npm', ['pack', '--json', '--pack-destination', dir]);
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stdout}`);
  // npm pack prints the prepack build's output first; the JSON report is the last thing on stdout.
  const report = JSON.parse(pack.stdout.slice(pack.stdout.lastIndexOf('\n[') + 1));
  const tarball = path.join(dir, report[0].filename);
  console.log(`${report[0].filename}: ${report[0].entryCount} files, ${report[0].size} bytes packed, ${report[0].unpackedSize} unpacked`);
  const bin = (name) => path.join(root, 'node_modules', '.bin', name);
  let failed = false;
  // --strict: a warning fails the lint too.
  for (const [name, args] of [
    ['publint', ['run', '--strict', '--pack', 'false', tarball]],
    // tsgi is ES modules only; from CommonJS it loads through require(esm) (Node 22.12+), which
    // TypeScript understands under "module": "nodenext" (5.8+). The node10 column is resolution
    // without "exports" (TypeScript's legacy "node" mode), which cannot see subpaths at all.
    ['attw', ['--profile', 'esm-only', '--format', 'table-flipped', tarball]],
  ]) {
    console.log(`\n== ${name} ${args.join(' ')}`);
    const r = spawnSync(bin(name), args, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) failed = true;
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
