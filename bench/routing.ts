// Micro-benchmark: matching a request path against 50 routes, tsgi/routing against Hono's routers.
//   npm run build && node --import tsx bench/routing.ts
// It times the built dist/ (what users run): under tsx's on-the-fly transform of src/, bindToEnviron()
// measured 3x slower.
// The routes are GitHub-API-like (the shape of Hono's own router benchmark; bench/github-routes.mjs,
// shared with `npm run bench -- --only routes`): 50 rules, 23 of them static, the rest with one to three parameters. Each router matches the same 10 paths (static,
// parameterised, deep, and a miss) in turn; the figure is nanoseconds per match, the median of 5
// rounds of ~400 ms each. Hono's RegExpRouter returns parameter indexes and decodes lazily, while
// tsgi's match() returns converted values; both routes take plain strings here (`<x>` / `:x`). (`/gist/:id`,
// not `/gists/:id`: RegExpRouter refuses a parameter next to the static `/gists/public`.)
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import type * as Routing from '../src/routing/index.js';
import type * as Testing from '../src/testing/index.js';
import { REQUESTS as REQUEST_TABLE, ROUTES, tsgiRule } from './github-routes.mjs';

// The built code, typed by its sources (a static import of dist/ would break tsc on a fresh checkout).
const built = (file: string) => new URL(`../dist/${file}`, import.meta.url).href;
const { RouteMap, Rule } = (await import(built('routing/index.js'))) as typeof Routing;
const { createEnviron } = (await import(built('testing/index.js'))) as typeof Testing;

// The table is shared with the `routes` scenario of `npm run bench` (bench/github-routes.mjs).
const REQUESTS = REQUEST_TABLE.map(([m, p]) => [m, p] as const);

if (ROUTES.length !== 50) throw new Error(`expected 50 routes, have ${ROUTES.length}`);

function measure(name: string, match: (method: string, path: string) => unknown): void {
  // Check every router finds the same routes before timing it.
  const found = REQUESTS.map(([m, p]) => match(m, p) !== null);
  if (found.join() !== 'true,true,true,true,true,true,true,true,true,false') throw new Error(`${name}: wrong matches ${found}`);
  const rounds: number[] = [];
  let sink = 0;
  for (let round = 0; round < 6; round++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const deadline = start + 400_000_000n;
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < 1000; i++) {
        const [m, p] = REQUESTS[n++ % REQUESTS.length]!;
        if (match(m, p) !== null) sink++;
      }
      now = process.hrtime.bigint();
    }
    if (round > 0) rounds.push(Number(now - start) / n); // round 0 warms the JIT up
  }
  rounds.sort((a, b) => a - b);
  console.log(`${name.padEnd(44)} ${rounds[2]!.toFixed(0).padStart(6)} ns/match   (${(1e9 / rounds[2]!).toFixed(0)} matches/s)${sink < 0 ? '' : ''}`);
}

// Hono: handlers are the route's index.
function hono<R extends { add(m: string, p: string, h: number): void; match(m: string, p: string): unknown }>(router: R) {
  ROUTES.forEach(([m, p], i) => router.add(m, p, i));
  return (m: string, p: string) => {
    const r = router.match(m, p) as [unknown[]];
    return r[0].length > 0 ? r : null;
  };
}

const map = new RouteMap(ROUTES.map(([m, p], i) => new Rule(tsgiRule(p), { endpoint: `r${i}`, methods: [m] })));
const adapter = map.bind('api.example.com');
// resolve() answers a miss with a value, as Hono's match() does; match() throws NotFound instead.
const tsgiResolve = (m: string, p: string) => {
  const r = adapter.resolve(p, m);
  return 'endpoint' in r ? r : null;
};
const tsgiMatch = (m: string, p: string) => {
  try {
    return adapter.match(p, m);
  } catch {
    return null;
  }
};
// Per request as dispatch() does it: bind to the environ, then match.
const environs = new Map(REQUESTS.map(([m, p]) => [`${m} ${p}`, createEnviron(p, { method: m })]));
const tsgiEnviron = (m: string, p: string) => {
  const r = map.bindToEnviron(environs.get(`${m} ${p}`)!).resolve();
  return 'endpoint' in r ? r : null;
};

console.log(`node ${process.version}, 50 routes, ${REQUESTS.length} request paths in turn (1 of them a 404)\n`);
measure('hono RegExpRouter', hono(new RegExpRouter<number>()));
measure('hono TrieRouter', hono(new TrieRouter<number>()));
measure('hono SmartRouter (RegExp+Trie, new Hono())', hono(new SmartRouter<number>({ routers: [new RegExpRouter(), new TrieRouter()] })));
measure('tsgi RouteMap: adapter.resolve(path, method)', tsgiResolve);
measure('tsgi RouteMap: bindToEnviron(environ).resolve()', tsgiEnviron);
measure('tsgi RouteMap: adapter.match() (404 throws)', tsgiMatch);
