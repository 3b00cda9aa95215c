// Loads an application from `MODULE[:EXPORT]`, TypeScript or JavaScript, with no build step
// (settings/import-module.ts: Node's type stripping, else tsx).
import path from 'node:path';
import type { Application } from '../spec.js';
import { TsgiError } from '../errors.js';
import { TypeScriptError, exportsOf, importModule } from '../settings/import-module.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { existsSync } = process.getBuiltinModule('node:fs');

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
    throw new LoadError(`the application module ${file} failed to load: ${describeLoadFailure(e)}`);
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

/**
 * What a failed import says. A module that does not compile (a SyntaxError from Node, or the
 * transformer's "Transform failed" with its `file:line:col: ERROR: ...` lines) is told by its position
 * and message only: the stack of the loader that found it names no line of the user's. An error the
 * module threw while it ran keeps its stack, which does point into the user's code.
 */
export function describeLoadFailure(e: Error): string {
  const text = e.stack ?? e.message;
  const compile = e instanceof SyntaxError || /^Transform failed with \d+ error/.test(e.message);
  if (!compile) return text;
  const lines = (e.message.startsWith('Transform failed') ? e.message : text)
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\s+at /.test(l) && !/^(Error: )?Transform failed with/.test(l));
  // Node's own form: `file:line`, the source line, a caret, then `SyntaxError: message`: one line of it.
  const where = /:\d+$/.test(lines[0] ?? '') ? lines[0] : undefined;
  const what = lines.find((l) => /^SyntaxError\b/.test(l));
  if (where !== undefined && what !== undefined) return `${where}: ${what}`;
  return lines.join('\n').trim();
}
