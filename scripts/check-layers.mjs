#!/usr/bin/env node
// The layers of src/ (docs/engine.md, "Layout"): no folder imports a folder that imports it back, and
// the pure layers import nothing that does I/O, and the server's own layers take node:fs and node:util
// with process.getBuiltinModule (NO_ESM_IMPORT). Run by `npm run lint`; exits 1 with the offending edges.
//   node scripts/check-layers.mjs
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const src = path.join(root, 'src');
const walk = (d) =>
  readdirSync(d).flatMap((n) => {
    const f = path.join(d, n);
    return statSync(f).isDirectory() ? walk(f) : f.endsWith('.ts') ? [f] : [];
  });

// A module is its folder; a file directly in src/ is a module of its own (spec.ts, util.ts, …).
const moduleOf = (file) => {
  const rel = path.relative(src, file);
  return path.dirname(rel) === '.' ? rel : path.dirname(rel);
};

/** Folders that must stay free of I/O: they may import only these Node built-ins (none, here). */
const PURE = { protocol: [], runner: [] };
/**
 * Files outside those folders that the lowest layers import, so they must be as free of I/O: no Node
 * built-in, and no import but of each other (the settings table and its defaults are read by the
 * doors; settings/resolve.ts, which reads config files, is not).
 */
const PURE_FILES = ['errors.ts', 'settings/table.ts', 'settings/defaults.ts'];
const IMPORT = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|getBuiltinModule\(\s*['"]([^'"]+)['"]\s*\)/g;
/**
 * Built-ins that src/ takes with process.getBuiltinModule() rather than `import { x } from`: an ES module
 * import of a built-in reads every export to build its namespace, and the lazy exports of these two load
 * ~35 more internal modules (fs.promises brings fs/promises, readline and the REPL history; util brings
 * assert's diff, worker_threads, ...): 3.5 MB more RSS in the master and in every worker, on Node 24.
 * `import type` is free and allowed.
 */
const NO_ESM_IMPORT = ['node:fs', 'node:fs/promises', 'node:util'];
/**
 * The layers an application imports, which may run where process.getBuiltinModule does not exist (the
 * Fetch bridge on other runtimes): they keep ES imports, and cost their memory only when an app uses them.
 */
const APP_LAYERS = ['wrappers', 'middleware', 'fetch', 'node', 'routing', 'exceptions', 'testing'];
const VALUE_IMPORT = /(?:^|\n)\s*import\s+(?!type\b)[^'"]*?from\s*['"]([^'"]+)['"]/g;

const edges = new Map();
const problems = [];
for (const file of walk(src)) {
  const from = moduleOf(file);
  const text = readFileSync(file, 'utf8');
  const pureFile = PURE_FILES.includes(path.relative(src, file).split(path.sep).join('/'));
  for (const m of text.matchAll(VALUE_IMPORT)) {
    if (NO_ESM_IMPORT.includes(m[1]) && !APP_LAYERS.includes(moduleOf(file).split(path.sep)[0])) {
      problems.push(`${path.relative(root, file)} imports ${m[1]} as an ES module: use process.getBuiltinModule('${m[1]}') (NO_ESM_IMPORT)`);
    }
  }
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (pureFile) {
      const target = spec.startsWith('.')
        ? path
            .relative(src, path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'))
            .split(path.sep)
            .join('/')
        : spec;
      if (!PURE_FILES.includes(target)) problems.push(`${path.relative(root, file)} imports ${spec}: it must stay free of I/O (PURE_FILES)`);
    }
    const top = from.split(path.sep)[0];
    if (!spec.startsWith('.')) {
      if (top in PURE && spec.startsWith('node:') && !PURE[top].includes(spec)) {
        problems.push(`${path.relative(root, file)} imports ${spec}: src/${top}/ does no I/O`);
      }
      continue;
    }
    const to = moduleOf(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from).add(to);
  }
}

// Tarjan's strongly connected components: any component of more than one module is a cycle.
let index = 0;
const stack = [],
  onStack = new Set(),
  idx = new Map(),
  low = new Map();
const connect = (v) => {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1) {
      const inComp = new Set(comp);
      const detail = comp.flatMap((a) => [...(edges.get(a) ?? [])].filter((b) => inComp.has(b)).map((b) => `${a} -> ${b}`));
      problems.push(`import cycle between ${comp.sort().join(', ')}: ${detail.join('; ')}`);
    }
  }
};
for (const v of edges.keys()) if (!idx.has(v)) connect(v);

if (problems.length > 0) {
  for (const p of problems) console.error(`check-layers: ${p}`);
  process.exit(1);
}
console.log(`check-layers: ${edges.size} modules, no import cycle, protocol/ and runner/ free of I/O, and ${PURE_FILES.join(', ')}`);
