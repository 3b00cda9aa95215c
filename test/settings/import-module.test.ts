// Module shapes as users' files arrive: an ES module's namespace, CommonJS's { default: module.exports },
// and the CommonJS that tsc and tsx emit for `export default` (module.exports.default, marked __esModule),
// which used to surface as "export default is a object" and "default: unknown setting".
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadApp } from '../../src/server/load.js';
import { exportsOf } from '../../src/settings/import-module.js';
import { readConfigFile } from '../../src/settings/resolve.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-import-module-'));
const file = (name: string, text: string) => {
  writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
};
/** What `tsc --module commonjs` writes for `export default X; export const other = 1`. */
const tscOutput = (x: string) => `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.other = 1;\nexports.default = ${x};\n`;

describe('exportsOf', () => {
  it('keeps an ES module namespace as it is', () => {
    const app = () => [];
    assert.deepEqual(exportsOf({ default: app, other: 1 }), { default: app, other: 1 });
  });
  it('unwraps CommonJS marked __esModule: export default is module.exports.default', () => {
    const app = () => [];
    const moduleExports = Object.defineProperty({ default: app, other: 1 }, '__esModule', { value: true });
    assert.deepEqual(exportsOf({ default: moduleExports, __esModule: true, 'module.exports': moduleExports, other: 1 }), { default: app, other: 1 });
  });
  it('leaves plain CommonJS (module.exports = { ... }) under default', () => {
    const inner = { application: () => [] };
    assert.deepEqual(exportsOf({ default: inner, 'module.exports': inner }), { default: inner });
  });
});

describe('CommonJS compiled from TypeScript', () => {
  it('a config file: export default defineConfig(...) gives the settings, not { default }', async () => {
    assert.deepEqual(await readConfigFile(file('tsgi.config.cjs', tscOutput('{ workers: 3 }'))), { workers: 3 });
  });
  it('an app: export default function is the application; a wrong name lists the real exports', async () => {
    const spec = file('app.cjs', tscOutput('function app(e, start) { start("200 OK", []); return ["x"]; }'));
    assert.equal(typeof (await loadApp(spec)), 'function');
    await assert.rejects(loadApp(`${spec}:nope`), /has no export named "nope" \(exports: other, default\)/);
  });
});
