// Requests per server CPU-second of several hello servers measured side by side: every server is up at
// once on core 0 (the idle ones cost nothing), and wrk on core 1 loads them in turn for short windows
// (A B C, then C B A, ...), so that a slow or fast moment of the host falls on all of them alike. Each
// server's figure is its requests over its CPU time summed over its windows; each process is a fresh
// start, repeated `--procs` times.
//
// Why: `npm run bench` runs each server for 3 s in turn, a fresh process each round, and on this shared
// host the same server's rate moved ±15% between adjacent seconds (docs/benchmarks.md, "Session of
// 2026-12-03, afternoon"); a round's ratio then says as much about the round as about the servers. Side by
// side, node:http's figure over five processes stayed within 59–63k requests per CPU-second where separate
// runs gave 50–70k; a disturbance longer than a window still shows (one process set of four here once ran
// every row at two thirds of its rate, unevenly), hence the range next to each median. `npm run bench` stays
// the report of record (its targets, every peer, RSS); this is for a verdict near its line, or an A/B of two
// builds (`--baseline DIR`).
//
//   node bench/side-by-side.mjs [--procs N] [--windows N] [--seconds S] [--close | --uwsgi] [--baseline DIR]
//                               [--json FILE]
//
// Rows: node:http, the floor (bench/servers/node-net.mjs), tsgi `--single-process` and tsgi with one worker
// (this checkout's dist/: `npm run build` first), and with --baseline the same two from DIR/dist. Needs wrk
// and taskset. Servers listen on 127.0.0.1 only and are stopped before the script ends.
//
// --uwsgi: nginx over uwsgi in front of each row (the target "nginx -> tsgi over uwsgi >= 0.9x nginx -> the
// floor"): an nginx of its own per row, on core 0 with its backend, wrk on the nginx; a server's CPU is its
// nginx's and its backend's, as in `npm run bench`, and the ratios are × the floor (node:http has no uwsgi).
// --json FILE: also write each row's figures there (`npm run bench` reads them for its Targets section).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { frontConf, nginxArgs } from './nginx.mjs';
import { cpuSeconds, descendants } from './proc.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: o } = parseArgs({
  options: {
    procs: { type: 'string', default: '4' },
    windows: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '1' },
    close: { type: 'boolean', default: false },
    uwsgi: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    json: { type: 'string' },
  },
});
const PROCS = Number(o.procs);
const WINDOWS = Number(o.windows);
const SECONDS = Number(o.seconds);
for (const tool of ['wrk', 'taskset', ...(o.uwsgi ? ['nginx'] : [])]) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    process.stderr.write(`side-by-side: ${tool} is missing (apt-get install wrk util-linux)\n`);
    process.exit(2);
  }
}

// The hello app as `npm run bench` compiles it (bench/apps/compile.mjs writes .bench/apps/).
const { compileApps } = await import('./apps/compile.mjs');
const HELLO = path.join(root, (await compileApps(root)).hello);
const tsgi =
  (dist, ...extra) =>
  (port) => [path.join(dist, 'cli/main.js'), HELLO, '--bind', `${o.uwsgi ? 'uwsgi://' : ''}127.0.0.1:${port}`, '--log-level', 'warning', ...extra];
// [label, argv for a port, the id of the same server in `npm run bench`]
const rows = [
  ...(o.uwsgi ? [] : [['node:http', (port) => [path.join(root, 'bench/servers/node-http.mjs'), String(port), 'hello'], 'node']]),
  ['floor', (port) => [path.join(root, 'bench/servers/node-net.mjs'), String(port), o.uwsgi ? 'uwsgi' : 'http'], 'node-net'],
  ['tsgi --single-process', tsgi(path.join(root, 'dist'), '--single-process'), 'tsgi-single'],
  ['tsgi (1 worker)', tsgi(path.join(root, 'dist')), 'tsgi'],
];
if (o.baseline) {
  const dist = path.join(path.resolve(o.baseline), 'dist');
  rows.push(['baseline --single-process', tsgi(dist, '--single-process'), 'tsgi-single-base'], ['baseline (1 worker)', tsgi(dist), 'tsgi-base']);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const wrk = (port, seconds) =>
  execFileSync('taskset', ['-c', '1', 'wrk', '-t1', '-c50', ...(o.close ? ['-H', 'Connection: close'] : []), `-d${seconds}s`, `http://127.0.0.1:${port}/`], {
    encoding: 'utf8',
    timeout: (seconds + 10) * 1000,
  });

const base = 9410;
const perProc = rows.map(() => []);
let servers = [];
const stopAll = () => {
  for (const s of servers) {
    for (const c of [s.child, s.front]) {
      try {
        if (c) process.kill(-c.pid, 'SIGTERM');
      } catch {}
    }
    if (s.dir) rmSync(s.dir, { recursive: true, force: true });
  }
  servers = [];
};
process.on('exit', stopAll);
try {
  for (let p = 0; p < PROCS; p++) {
    // With --uwsgi, the backend listens 100 ports up and its nginx on the row's port.
    const back = o.uwsgi ? 100 : 0;
    servers = rows.map(([name, args], k) => ({
      name,
      port: base + k,
      child: spawn('taskset', ['-c', '0', process.execPath, ...args(base + back + k)], { stdio: 'ignore', detached: true, cwd: root }),
    }));
    if (o.uwsgi) {
      for (const s of servers) {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-side-nginx-'));
        const conf = frontConf(dir, s.port, 'uwsgi', s.port + back);
        s.front = spawn('taskset', ['-c', '0', 'nginx', ...nginxArgs(dir, conf)], { stdio: 'ignore', detached: true });
        s.dir = dir;
      }
    }
    await sleep(1500);
    for (const s of servers) wrk(s.port, 1); // warm-up
    const sums = servers.map(() => ({ n: 0, cpu: 0 }));
    for (let w = 0; w < WINDOWS; w++) {
      const order = w % 2 === 0 ? [...servers.keys()] : [...servers.keys()].reverse();
      for (const k of order) {
        const pids = [servers[k].child, servers[k].front].filter(Boolean).flatMap((c) => descendants(c.pid));
        const c0 = cpuSeconds(pids);
        const out = wrk(servers[k].port, SECONDS);
        sums[k].cpu += cpuSeconds(pids) - c0;
        sums[k].n += Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      }
    }
    sums.forEach((s, k) => perProc[k].push(s.n / s.cpu));
    const ref = sums[0].n / sums[0].cpu;
    process.stdout.write(
      `${p + 1}/${PROCS}: ${sums.map((s, k) => `${rows[k][0]} ${Math.round(s.n / s.cpu)} (${(s.n / s.cpu / ref).toFixed(2)}×)`).join(', ')}\n`,
    );
    stopAll();
    await sleep(700);
  }
} finally {
  stopAll();
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const ref = perProc[0];
const what = o.uwsgi ? 'nginx over uwsgi' : o.close ? 'Connection: close' : 'keep-alive';
process.stdout.write(`\nreq per server CPU-s, ${what} hello; × ${rows[0][0]} of the same process set (median, range):\n`);
for (let k = 0; k < rows.length; k++) {
  const ratios = perProc[k].map((v, p) => v / ref[p]);
  process.stdout.write(
    `  ${rows[k][0].padEnd(26)} ${String(Math.round(median(perProc[k]))).padStart(7)}  ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})\n`,
  );
}
if (o.json) {
  const json = {
    mode: o.uwsgi ? 'uwsgi' : o.close ? 'close' : 'keep-alive',
    procs: PROCS,
    windows: WINDOWS,
    seconds: SECONDS,
    reference: rows[0][2],
    rows: rows.map(([label, , id], k) => ({ id, label, perCpu: perProc[k], ratios: perProc[k].map((v, p) => v / ref[p]) })),
  };
  writeFileSync(o.json, `${JSON.stringify(json, null, 2)}\n`);
}
