// What the master and a worker load, which is most of what they weigh (docs/deploy-process.md,
// "Memory"): the master runs no application, so none of the serving code; neither loads node:tls
// without TLS, nor undici (an ES import of node:http reads its WebSocket getters, which load it on
// Node 22 and later), nor what ES imports of node:fs and node:util would load.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, startCli } from '../helpers/cli.js';

/** The src/ files a module reaches through static imports (`import()` and `import type` are not followed). */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)[^'"]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
      else seen.add(spec);
    }
  };
  visit(path.join(ROOT, entry));
  return new Set([...seen].map((f) => (path.isAbsolute(f) ? path.relative(path.join(ROOT, 'src'), f) : f)));
}

describe('memory: what the processes load', () => {
  it("the master's static imports reach no door, middleware, application loader or worker code", () => {
    const graph = [...staticGraph('src/cli/main.ts')];
    const serving = graph.filter(
      (f) =>
        /^(http|middleware|uwsgi|fastcgi|node|fetch|wrappers|routing)\//.test(f) ||
        [
          'runner/handler.ts',
          'prefork/single.ts',
          'prefork/worker.ts',
          'prefork/doors.ts',
          'prefork/stack.ts',
          'prefork/reloader.ts',
          'server/load.ts',
        ].includes(f) ||
        ['node:http', 'node:https', 'node:tls', 'node:inspector', 'node:worker_threads', 'ws'].includes(f),
    );
    assert.deepEqual(serving, []);
    assert.ok(graph.includes('prefork/arbiter.ts'), 'the walk follows the imports');
  });

  it('a running master loads neither node:http, node:tls nor undici; its worker neither node:tls nor undici', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-modules-'));
    try {
      const cli = await startCli(['test/fixtures/apps/plain.mjs', '--bind', '127.0.0.1:0', '--workers', '1'], {
        env: { NODE_OPTIONS: `--import ${path.join(ROOT, 'test/fixtures/module-list.mjs')}`, TSGI_MODULE_LIST_DIR: dir },
      });
      assert.equal(await (await fetch(`${cli.url}/x`)).text(), 'js /x');
      assert.equal(await cli.stop('SIGTERM'), 0);
      const lists = new Map(readdirSync(dir).map((f) => [Number(path.basename(f, '.json')), JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as string[]]));
      const master = lists.get(cli.child.pid!);
      assert.ok(master, `the master wrote its module list (${[...lists.keys()].join(', ')})`);
      const workers = [...lists].filter(([pid]) => pid !== cli.child.pid).map(([, l]) => l);
      assert.equal(workers.length, 1);
      const heavy = (list: string[], names: RegExp) => list.filter((m) => names.test(m));
      assert.deepEqual(heavy(master, /^NativeModule (_http_server|_http_client|tls|internal\/deps\/undici\/undici)$/), []);
      assert.deepEqual(heavy(workers[0]!, /^NativeModule (tls|internal\/deps\/undici\/undici)$/), []);
      // What an ES import of node:fs or node:util loads by reading every export (fs.promises brings
      // fs/promises, readline and the REPL history; util brings assert's diff and worker_threads), the
      // performance global (perf_hooks), and node:dns/promises for a bind that is already an address:
      // 3.5 MB of RSS together, none of it used (scripts/check-layers.mjs, NO_ESM_IMPORT).
      // Node 20's ES module loader reads every module through fs/promises itself (22 and later read
      // synchronously), so there only the rest is ours to avoid.
      const loaderFs =
        Number(process.versions.node.split('.')[0]) < 22 ? '' : 'internal\\/fs\\/promises|internal\\/readline\\/interface|internal\\/repl\\/history|';
      assert.deepEqual(heavy(master, new RegExp(`^NativeModule (${loaderFs}internal\\/util\\/diff|perf_hooks|dns\\/promises)$`)), []);
      assert.deepEqual(heavy(workers[0]!, new RegExp(`^NativeModule (${loaderFs}internal\\/util\\/diff)$`)), []);
      assert.ok(workers[0]!.includes('NativeModule net'), 'the lists are of the modules loaded');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
