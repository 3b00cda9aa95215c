// Loads an application from `MODULE[:EXPORT]`, TypeScript or JavaScript, with no build step
// (settings/import-module.ts: Node's type stripping, else tsx).
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Application } from '../spec.js';
import { TsgiError } from '../errors.js';
import { TypeScriptError, exportsOf, importModule } from '../settings/import-module.js';

/** The application module is missing, fails to load, or exports no application (TSGI_ERR_APP_LOAD). */
export class LoadError extends TsgiError {
  override name = 'LoadError';
  constructor(message: string) {
    super('TSGI_ERR_APP_LOAD', message);
  }
}

/** Splits `path/to/app.ts:export` (a Windows drive letter's colon is not a separator). */
export function parseAppSpec(spec: string): { file: string; exportName: string | null } {
  const colon = spec.lastIndexOf(':');
  if (colon > 1 && !/[\\/]/.test(spec.slice(colon + 1))) {
    return { file: spec.slice(0, colon), exportName: spec.slice(colon + 1) || null };
  }
  return { file: spec, exportName: null };
}

export async function loadApp(spec: string, cwd = process.cwd()): Promise<Application> {
  const { file, exportName } = parseAppSpec(spec);
  const full = path.resolve(cwd, file);
  if (!existsSync(full)) throw new LoadError(`cannot find the application module ${JSON.stringify(file)} (looked at ${full})`);
  let mod: Record<string, unknown>;
  try {
    mod = exportsOf(await importModule(full));
  } catch (err) {
    const e = err as Error;
    if (e instanceof TypeScriptError) throw new LoadError(`cannot load the application module ${e.message}`);
    throw new LoadError(`the application module ${file} failed to load: ${e.stack ?? e.message}`);
  }
  const names = exportName ? [exportName] : ['application', 'default'];
  // A CommonJS module (a .ts file outside a `"type": "module"` package) arrives as `default`.
  const cjs = mod.default !== null && typeof mod.default === 'object' ? (mod.default as Record<string, unknown>) : {};
  for (const name of names) {
    let candidate = mod[name] ?? cjs[name];
    if (name === 'default' && typeof candidate === 'object' && candidate !== null && typeof cjs.application === 'function') {
      candidate = cjs.application;
    }
    if (typeof candidate === 'function') return candidate as Application;
    if (candidate !== undefined) {
      throw new LoadError(
        `${file}: export ${JSON.stringify(name)} is ${/^[aeiou]/.test(typeof candidate) ? 'an' : 'a'} ${typeof candidate}, not an application function`,
      );
    }
  }
  const found = [...new Set([...Object.keys(mod).filter((k) => !(k === 'default' && mod.default === cjs)), ...Object.keys(cjs)])].join(', ') || 'none';
  throw new LoadError(`${file} has no export named ${names.map((n) => JSON.stringify(n)).join(' or ')} (exports: ${found})`);
}
