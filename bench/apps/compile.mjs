// The apps of `npm run bench` and `npm run bench:instructions` as written (TypeScript), and their
// type-stripped JavaScript. The tsgi rows serve them compiled, as node:http and the frameworks serve
// JavaScript: a .ts app makes each worker carry tsx's loader thread (about 27 MB of RSS), a cost of
// the TypeScript convenience rather than of the server; bench/run.mjs's `tsgi-ts` row measures it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const TS_APPS = {
  hello: 'examples/hello.ts',
  environ: 'examples/environ.ts',
  mib: 'bench/apps/tsgi.ts:mib',
  upload: 'bench/apps/tsgi.ts:upload',
  stream: 'bench/apps/tsgi.ts:stream',
  bridge: 'bench/servers/tsgi-hono.ts',
  routes: 'bench/apps/routes.ts',
  multipart: 'bench/apps/tsgi.ts:multipart',
};

/**
 * Type-strips each app with esbuild (tsx's own transformer) into ROOT/.bench/apps/ (imports of 'tsgi'
 * resolve to dist/) and answers the CLI's MODULE[:EXPORT] spec of each, relative to ROOT.
 */
export async function compileApps(root) {
  const { transform } = await import('esbuild');
  const out = path.join(root, '.bench', 'apps');
  mkdirSync(out, { recursive: true });
  const specs = {};
  for (const [name, spec] of Object.entries(TS_APPS)) {
    const [file, exp] = spec.split(':');
    const target = path.join(out, path.basename(file).replace(/\.ts$/, '.mjs'));
    const { code } = await transform(readFileSync(path.join(root, file), 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' });
    writeFileSync(target, code);
    specs[name] = path.relative(root, target) + (exp ? `:${exp}` : '');
  }
  return specs;
}
