// Imports the modules users write (applications and config files) in TypeScript or JavaScript, in ES
// module or CommonJS packages, with no build step.
//
// TypeScript is loaded by Node itself where it strips types (by default from Node 22.18; from 22.6 with
// --experimental-strip-types). tsx, an optional peer dependency, is the fallback for what stripping
// cannot do: a Node without it, syntax that needs a transform (enum, namespace, parameter properties),
// `.tsx`, TypeScript under node_modules, and imports written with the compiled file's name
// (`./util.js` for util.ts). When tsx is needed and missing, the error says why and what to install.
//
// One case Node refuses that tsx never did: `import`/`export` in a `.ts` file of a `"type": "commonjs"`
// package (what `npm init -y` writes). TypeScript users write that syntax whatever the package type,
// so such files are loaded as ES modules, as Node's own syntax detection does for a package with no
// "type" (a resolve hook, switched on only after Node refused the file).
import module from 'node:module';
import path from 'node:path';
import { TsgiError } from '../errors.js';
import { pathToFileURL } from 'node:url';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { existsSync } = process.getBuiltinModule('node:fs');

/** TypeScript that this Node cannot strip and tsx is not installed to load (TSGI_ERR_TYPESCRIPT). */
export class TypeScriptError extends TsgiError {
  override name = 'TypeScriptError';
  constructor(message: string) {
    super('TSGI_ERR_TYPESCRIPT', message);
  }
}

const TYPESCRIPT = /\.[cm]?tsx?$/;

/** Whether this Node strips TypeScript types itself. */
export function nodeStripsTypes(): boolean {
  const feature = (process.features as { typescript?: string | false }).typescript;
  if (feature !== undefined) return Boolean(feature);
  // 22.6-22.9 have the flag but not process.features.typescript.
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.includes('--experimental-strip-types');
}

let tsxRegistered = false;

/**
 * Lets `import()` load TypeScript through tsx (both hooks: a .ts file in a CommonJS package loads as
 * CommonJS). `why` says why tsx is needed, for the error when it is not installed.
 */
export async function registerTypeScript(why = 'this module needs tsx'): Promise<void> {
  if (tsxRegistered) return;
  let esm: { register: () => unknown };
  let cjs: { register: () => unknown };
  try {
    esm = (await import('tsx/esm/api')) as typeof esm;
    cjs = (await import('tsx/cjs/api')) as typeof cjs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new TypeScriptError(`${why}, so tsgi loads it with tsx, which is not installed: npm install --save-dev tsx`);
  }
  esm.register();
  cjs.register();
  tsxRegistered = true;
}

let esmInCommonJs = false;
let hookInstalled = false;

/** Loads `.ts` files of "type": "commonjs" packages as ES modules from now on (false: no hook API here). */
function loadTypeScriptAsEsm(): boolean {
  const registerHooks = (module as { registerHooks?: (hooks: object) => unknown }).registerHooks;
  if (typeof registerHooks !== 'function') return false;
  if (!hookInstalled) {
    type Resolved = { url: string; format?: string | null };
    registerHooks({
      resolve(specifier: string, context: unknown, next: (s: string, c: unknown) => Resolved): Resolved {
        const r = next(specifier, context);
        const ts = r.format === 'commonjs-typescript' && /\.ts$/.test(new URL(r.url).pathname); // not .cts
        if (esmInCommonJs && ts && !r.url.includes('/node_modules/')) return { ...r, format: 'module-typescript' };
        return r;
      },
    });
    hookInstalled = true;
  }
  esmInCommonJs = true;
  return true;
}

let adviceDropped = false;
/**
 * Node warns "Failed to load the ES module: app.ts. Make sure to set "type": "module"" as it refuses
 * import/export in a CommonJS package's .ts file; tsgi then loads the file as an ES module, so that
 * advice would mislead. Node's own printer is the 'warning' listener: every other warning still reaches it.
 */
function dropEsmAdvice(): void {
  if (adviceDropped) return;
  adviceDropped = true;
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w: Error) => {
    if (/^Failed to load the ES module: .*\.ts\. /.test(w.message)) return;
    for (const print of printers) print.call(process, w);
  });
}

/** Why tsx is needed for the error Node's own loading gave, or null when tsx would not help. */
function needsTsx(err: unknown): string | null {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX':
      return `it uses TypeScript that Node's type stripping does not run (${e.message.split('\n')[0]})`;
    case 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING':
      return 'it imports TypeScript from node_modules, which Node does not strip';
    case 'ERR_UNKNOWN_FILE_EXTENSION':
      return /\.[cm]?tsx\b/.test(e.message) ? 'Node does not load .tsx files' : null;
    case 'ERR_MODULE_NOT_FOUND': {
      // `./util.js` (or `./util`) written for util.ts: tsc's convention, which tsx resolves and Node does not.
      const missing = /Cannot find module '([^']+)'/.exec(e.message)?.[1];
      if (!missing || !path.isAbsolute(missing)) return null;
      const stem = missing.replace(/\.[cm]?jsx?$/, '');
      const found = ['.ts', '.tsx', '.mts', '.cts', '/index.ts'].map((x) => stem + x).find((f) => existsSync(f));
      return found ? `it imports ${path.basename(missing)} meaning ${path.basename(found)}, which only tsx resolves` : null;
    }
  }
  if (e instanceof ReferenceError && /\b(module|exports|require|__dirname|__filename) is not defined in ES module scope/.test(e.message)) {
    return 'it mixes CommonJS (require, module.exports) with import/export in a "type": "commonjs" package';
  }
  return null;
}

/** Node's refusal of import/export in a CommonJS-typed file. */
function isEsmInCommonJs(err: unknown): boolean {
  return err instanceof SyntaxError && /Cannot use import statement outside a module|Unexpected token 'export'/.test(err.message);
}

function withQuery(url: string, query: string): string {
  return url + (url.includes('?') ? '&' : '?') + query;
}

/** Imports `file` (a path); `query` (e.g. `t=123`) makes a fresh copy of it for a reload. */
export async function importModule(file: string, query = ''): Promise<Record<string, unknown>> {
  const url = query ? withQuery(pathToFileURL(file).href, query) : pathToFileURL(file).href;
  if (!TYPESCRIPT.test(file) || tsxRegistered) return (await import(url)) as Record<string, unknown>;
  if (!nodeStripsTypes()) {
    await registerTypeScript(`${path.basename(file)}: Node ${process.version} does not strip TypeScript types (22.18 and later do)`);
    return (await import(url)) as Record<string, unknown>;
  }
  let why: string | null;
  dropEsmAdvice();
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    why = needsTsx(err);
    if (isEsmInCommonJs(err)) {
      if (!loadTypeScriptAsEsm()) why = `Node ${process.version} cannot load import/export in .ts files of a "type": "commonjs" package (22.15 and later can)`;
      else {
        try {
          return (await import(withQuery(url, 'tsgi-esm'))) as Record<string, unknown>;
        } catch (again) {
          why = needsTsx(again);
          if (why === null) throw again;
        }
      }
    }
    if (why === null) throw err;
  }
  esmInCommonJs = false; // tsx loads CommonJS packages' .ts files as CommonJS, as tsc would compile them
  await registerTypeScript(`${path.basename(file)}: ${why}`);
  return (await import(withQuery(url, 'tsgi-tsx'))) as Record<string, unknown>;
}

/**
 * A module's exports as its author wrote them. Importing CommonJS gives `{ default: module.exports,
 * ...the names Node detected }`; the CommonJS that TypeScript and tsx emit puts `export default` on
 * `module.exports.default` and marks the object with `__esModule`.
 */
export function exportsOf(mod: Record<string, unknown>): Record<string, unknown> {
  const d = mod.default as { __esModule?: unknown } | null | undefined;
  const source = d !== null && (typeof d === 'object' || typeof d === 'function') && d.__esModule === true ? (d as Record<string, unknown>) : mod;
  const out: Record<string, unknown> = { ...source };
  delete out.__esModule;
  delete out['module.exports'];
  return out;
}
