#!/usr/bin/env node
// npm run bench: tsgi side by side with raw node:http (the reference, ratio 1.0), the Node frameworks,
// the Python WSGI servers and nginx, all measured in the same run so that the ratios hold on a noisy
// machine. Timings are reported, never asserted.
//
//   npm run bench                                  every scenario, its default rows: 3 rounds of 3 s (about 16 min)
//   npm run bench -- --quick                       smoke run: 1 round of 2 s (about 4 min)
//   npm run bench -- --only hello,environ --servers tsgi,node,uwsgi
//   npm run bench -- --only routes,multipart      a scenario's group id (multipart: -file and -fields) works too
//   npm run bench -- --write-docs                  also writes docs/benchmarks.md
//   npm run bench -- --all                         also each scenario's extra rows
//   npm run bench -- --list                        the scenarios and rows, then exit
//   BENCH_ONLY=hello* BENCH_SERVERS=tsgi* BENCH_ROUNDS=5 BENCH_SECONDS=10 npm run bench
//   BENCH_TSGI_LAUNCHER=1   nginx -> tsgi rows through bench/servers/tsgi-door.mjs, not the CLI
//   BENCH_TSGI_ARGS='...'   more CLI flags for every tsgi row
//   BENCH_SIDE_BY_SIDE=0 / BENCH_SIDE_PROCS=N   no side-by-side run for the Targets / its process sets (5)
//   BENCH_KEEP_TMP=1        keep the scratch folder (server logs, nginx configs) under $TMPDIR/tsgi-bench-*
//
// On a fresh machine it installs what is missing: wrk, nginx-light, uwsgi-core, uwsgi-plugin-python3,
// python3-gunicorn, python3-waitress and python3-werkzeug with apt-get (as root, or with sudo -n), the Node peers
// (devDependencies) with npm install; rows whose peer is still missing are skipped with the reason.
//
// Method (research: peer-bench.md). Every server starts fresh for each measurement on 127.0.0.1,
// pinned with taskset to core 0 (nginx and its backend share it), except the 2-worker rows, which may
// use both cores; wrk runs from a second process pinned to core 1. Readiness: the port accepts a
// connection, then a curl-like request must get status 200 and the expected body. Then a warm-up run
// of wrk, then the measured run with --latency. Rounds go round-robin over the rows of a scenario (the
// starting row rotates each round; a target judged in every round has its row run right beside its
// reference: pairRounds), and the tables give medians over the rounds. RSS is summed over
// the server's process group right after the measured run; CPU is read from /proc over the measured
// run. Every process is started in its own process group and killed with it, on errors too.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  readSync,
  fstatSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NOT_FOUND_BODY, REQUESTS as ROUTE_REQUESTS, routeBody } from './github-routes.mjs';
import { TS_APPS, compileApps } from './apps/compile.mjs';
import { frontConf, nginxArgs, nginxConf } from './nginx.mjs';
import { reusePortMissing } from './servers/common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rel = (...p) => path.join(root, ...p);
const CLI = rel('dist/cli/main.js');
const PY_DIR = rel('bench/python');
const MIB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------
// Options

const USAGE = `Usage: npm run bench -- [options]
  --quick              smoke run: 1 round, 2 s measured, 1 s warm-up
  --rounds N           rounds per row (default 3; env BENCH_ROUNDS)
  --seconds N          measured seconds per run (default 3; env BENCH_SECONDS)
  --warmup N           warm-up seconds before each measured run (default 1; env BENCH_WARMUP)
  --only LIST          scenarios, comma-separated ids or groups, 'prefix*' allowed (env BENCH_ONLY)
  --servers LIST       rows, comma-separated ids, 'prefix*' allowed (env BENCH_SERVERS); the
                       reference node:http row always runs
  --write-docs [FILE]  also write the report to docs/benchmarks.md (or FILE)
  --json FILE          also write every measurement as JSON
  --no-install         never apt-get / npm install missing peers (env BENCH_NO_INSTALL=1)
  --no-build           do not run npm run build first
  --all                also the extra rows of each scenario (env BENCH_ALL=1; about twice as long)
  --no-side-by-side    do not run bench/side-by-side.mjs for the Targets (env BENCH_SIDE_BY_SIDE=0)
  --list               list scenarios and rows, then exit
`;

function parseOptions(argv, env) {
  const o = {
    quick: env.BENCH_QUICK === '1',
    rounds: env.BENCH_ROUNDS,
    seconds: env.BENCH_SECONDS,
    warmup: env.BENCH_WARMUP,
    only: env.BENCH_ONLY ?? '',
    servers: env.BENCH_SERVERS ?? '',
    docs: null,
    json: null,
    install: env.BENCH_NO_INSTALL !== '1',
    build: true,
    list: false,
    all: env.BENCH_ALL === '1',
    sideBySide: env.BENCH_SIDE_BY_SIDE !== '0',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) fail(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--quick':
        o.quick = true;
        break;
      case '--rounds':
        o.rounds = value();
        break;
      case '--seconds':
        o.seconds = value();
        break;
      case '--warmup':
        o.warmup = value();
        break;
      case '--only':
        o.only = value();
        break;
      case '--servers':
        o.servers = value();
        break;
      case '--write-docs':
        o.docs = inline ?? (argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'docs/benchmarks.md');
        break;
      case '--json':
        o.json = value();
        break;
      case '--no-install':
        o.install = false;
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--list':
        o.list = true;
        break;
      case '--all':
        o.all = true;
        break;
      case '--no-side-by-side':
        o.sideBySide = false;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        fail(`unknown option ${a}\n${USAGE}`);
    }
  }
  const int = (v, dflt, name) => {
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) fail(`${name} must be a whole number >= 1, not ${JSON.stringify(v)}`);
    return n;
  };
  o.rounds = int(o.rounds, o.quick ? 1 : 3, 'rounds');
  o.seconds = int(o.seconds, o.quick ? 2 : 3, 'seconds');
  o.warmup = int(o.warmup, 1, 'warmup');
  const list = (s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  o.only = list(o.only);
  o.servers = list(o.servers);
  return o;
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

const matches = (patterns, id) => patterns.length === 0 || patterns.some((p) => (p.endsWith('*') ? id.startsWith(p.slice(0, -1)) : p === id));

// ---------------------------------------------------------------------------------------------------
// Machine and tools

const cores = os.cpus().length;
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const PIN = hasTaskset && cores >= 2;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
const SOMAXCONN = Number(readText('/proc/sys/net/core/somaxconn')?.trim()) || 128;

function readText(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function which(name) {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const f = path.join(d, name);
    if (existsSync(f)) return f;
  }
  return null;
}

// Debian's Python (the one python3-gunicorn and python3-waitress install into), else whatever is on PATH.
const pythonBin = () => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : which('python3'));
const pyHas = (mod) => {
  const py = pythonBin();
  return py !== null && spawnSync(py, ['-c', `import ${mod}`]).status === 0;
};
const uwsgiHasPython = () => {
  const u = which('uwsgi');
  if (!u) return false;
  const r = spawnSync(u, ['--need-plugin', 'python3', '--help'], { encoding: 'utf8', timeout: 10000 });
  return r.status === 0;
};
const nodeHas = (pkg) => existsSync(rel('node_modules', pkg, 'package.json'));

// What a row needs: a test, and the Debian package or npm devDependency that provides it.
const NEEDS = {
  nginx: { test: () => which('nginx') !== null, apt: ['nginx-light'] },
  uwsgi: { test: uwsgiHasPython, apt: ['uwsgi-core', 'uwsgi-plugin-python3'] },
  gunicorn: { test: () => pyHas('gunicorn'), apt: ['python3-gunicorn'] },
  waitress: { test: () => pyHas('waitress'), apt: ['python3-waitress'] },
  werkzeug: { test: () => pyHas('werkzeug'), apt: ['python3-werkzeug'] },
  fastify: { test: () => nodeHas('fastify'), npm: true },
  express: { test: () => nodeHas('express'), npm: true },
  hono: { test: () => nodeHas('hono') && nodeHas('@hono/node-server'), npm: true },
  'fastify-multipart': { test: () => nodeHas('fastify') && nodeHas('@fastify/multipart'), npm: true },
};

function canInstallApt() {
  if (!which('apt-get')) return null;
  if (process.getuid?.() === 0) return [];
  if (which('sudo') && spawnSync('sudo', ['-n', 'true']).status === 0) return ['sudo', '-n'];
  return null;
}

function aptInstall(pkgs) {
  const prefix = canInstallApt();
  if (prefix === null) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => {
    const [cmd, ...rest] = [...prefix, 'apt-get', ...args];
    return spawnSync(cmd, rest, { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0;
  };
  log(`bench: installing ${pkgs.join(' ')} from the Debian packages`);
  return run(['update', '-qq']) && run(['install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
}

/** Installs what the selected rows need and can get; returns the reasons the others must skip. */
function ensureTools(rows, install) {
  const wanted = new Set(rows.flatMap((r) => r.needs ?? []));
  if (which('wrk') === null && install) aptInstall(['wrk']);
  if (which('wrk') === null) fail('wrk is missing: apt-get install wrk');
  if (!which('bash')) fail('bash is missing');
  const missing = [...wanted].filter((n) => !NEEDS[n].test());
  if (install) {
    const apt = [...new Set(missing.flatMap((n) => NEEDS[n].apt ?? []))];
    if (apt.length > 0) aptInstall(apt);
    if (missing.some((n) => NEEDS[n].npm)) {
      log('bench: installing the Node peers (devDependencies) with npm install');
      spawnSync('npm', ['install', '--no-audit', '--no-fund', '--include=dev'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    }
  }
  const why = new Map();
  for (const n of wanted) {
    if (NEEDS[n].test()) continue;
    why.set(n, NEEDS[n].apt ? `${n} missing (apt-get install ${NEEDS[n].apt.join(' ')})` : `${n} missing (npm install)`);
  }
  return why;
}

// ---------------------------------------------------------------------------------------------------
// Processes: each server in its own process group, killed with the group

const live = new Set();
let tmpRoot = null;

function log(line) {
  process.stderr.write(line + '\n');
}

/** Spawns `spec` ({cmd, args, cwd, env}) in a new process group, output to `logFile`, pinned to `core` (or not). */
function spawnGroup(spec, logFile, core) {
  const fd = openSync(logFile, 'a');
  const [cmd, args] = core !== null && PIN ? ['taskset', ['-c', String(core), spec.cmd, ...spec.args]] : [spec.cmd, spec.args];
  // TMPDIR: the run's own folder, so the temporary files of a server killed mid-upload go with it.
  const env = spec.env ?? cleanEnv({ TMPDIR: path.dirname(logFile) });
  const child = spawn(cmd, args, { cwd: spec.cwd ?? root, env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  child.exited = false;
  child.exitCode_ = null;
  child.exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      child.exited = true;
      child.exitCode_ = code ?? signal;
      resolve();
    });
    child.once('error', (err) => {
      child.exited = true;
      child.exitCode_ = err.message;
      resolve();
    });
  });
  child.logFile = logFile;
  live.add(child);
  return child;
}

/** Every pid in the process group of `leader`, and their descendants. */
function groupPids(leader) {
  const procs = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readText(`/proc/${name}/stat`);
    if (!stat) continue;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    procs.push({ pid: Number(name), ppid: Number(f[1]), pgrp: Number(f[2]), state: f[0], utime: Number(f[11]), stime: Number(f[12]) });
  }
  const set = new Map(procs.filter((p) => p.pgrp === leader || p.pid === leader).map((p) => [p.pid, p]));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!set.has(p.pid) && set.has(p.ppid)) {
        set.set(p.pid, p);
        grew = true;
      }
    }
  }
  return [...set.values()].filter((p) => p.state !== 'Z');
}

function killGroupSync(child) {
  if (!child.pid) return;
  const pids = child.exited ? [] : groupPids(child.pid).map((p) => p.pid);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

async function stopGroup(child) {
  killGroupSync(child);
  await Promise.race([child.exitPromise, sleep(3000)]);
  live.delete(child);
}

function cleanupAll() {
  for (const child of live) killGroupSync(child);
  live.clear();
  if (tmpRoot && process.env.BENCH_KEEP_TMP !== '1') {
    try {
      rmSync(tmpRoot, { recursive: true, force: true });
    } catch {}
  }
}

process.on('exit', cleanupAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`bench: ${sig}, stopping every server`);
    cleanupAll();
    process.exit(130);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The servers start with a clean environment, as in peer-bench.md.
function cleanEnv(extra = {}) {
  return {
    PATH: `${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: '/',
    LANG: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    ...extra,
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function connects(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.setTimeout(1000, () => {
      sock.destroy();
      resolve(false);
    });
  });
}

function tail(file, max = 600) {
  try {
    const fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    closeSync(fd);
    return buf.toString('utf8').trim().split('\n').filter(Boolean).slice(-3).join(' / ');
  } catch {
    return '';
  }
}

async function waitListening(child, port, what, ms = 20000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exited) return `${what} exited (${child.exitCode_}): ${tail(child.logFile) || 'no output'}`;
    if (await connects(port)) return null;
    await sleep(50);
  }
  return `${what} was not listening on ${port} after ${ms / 1000} s: ${tail(child.logFile)}`;
}

// ---------------------------------------------------------------------------------------------------
// Apps: what each scenario asks and what a correct answer is

const APPS = {
  hello: { check: (b) => b.toString('latin1') === 'Hello, World!\n' || `body ${JSON.stringify(b.toString('latin1').slice(0, 80))}` },
  environ: {
    check: (b) => {
      const s = b.toString('latin1');
      return (s.startsWith('The Begining\n') && s.endsWith('\nThe End') && s.includes('REQUEST_METHOD:GET')) || `body ${JSON.stringify(s.slice(0, 80))}`;
    },
  },
  mib: { check: (b) => (b.length === MIB && b[0] === 0x78 && b[MIB - 1] === 0x78) || `${b.length} bytes, not 1 MiB of 'x'` },
  upload: { method: 'POST', body: Buffer.alloc(MIB, 'x'), check: (b) => b.toString() === String(MIB) || `body ${JSON.stringify(b.toString().slice(0, 80))}` },
  stream: { count: true, check: (n) => n === 100 * MIB || `${n} bytes, not 100 MiB` },
  // Every request of the mix, each with its status and bytes (the scenario's probes).
  routes: {},
  // The body and the answer come from the scenario (multipartScenario).
  multipart: {},
};

/** The probes of the routes scenario: every request of the mix, and what it must answer. */
const routeProbes = () =>
  ROUTE_REQUESTS.map(([method, path, rule, values]) => {
    const want = rule === null ? NOT_FOUND_BODY : routeBody(rule, values);
    return {
      method,
      path,
      status: rule === null ? 404 : 200,
      check: (b) => b.toString('utf8') === want || `${method} ${path}: body ${JSON.stringify(b.toString('utf8').slice(0, 80))}`,
    };
  });

/** One request, then status `status` (default 200) and the expected body, else the reason. `light`: status only. */
function httpProbe(port, probe, headers, light) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: probe.path ?? '/', method: probe.method ?? 'GET', headers, agent: false });
    req.setTimeout(30000, () => req.destroy(new Error('no answer in 30 s')));
    req.once('error', (err) => resolve(`request failed: ${err.message}`));
    req.once('response', (res) => {
      const status = probe.status ?? 200;
      if (res.statusCode !== status) {
        res.resume();
        return resolve(`${probe.method ?? 'GET'} ${probe.path ?? '/'}: status ${res.statusCode}, not ${status}`);
      }
      if (light) {
        res.destroy();
        return resolve(null);
      }
      const chunks = [];
      let n = 0;
      res.on('data', (c) => {
        n += c.length;
        if (!probe.count) chunks.push(c);
      });
      res.once('error', (err) => resolve(`response failed: ${err.message}`));
      res.once('end', () => {
        const verdict = probe.check(probe.count ? n : Buffer.concat(chunks));
        resolve(verdict === true ? null : `unexpected answer: ${verdict}`);
      });
    });
    req.end(probe.body);
  });
}

/** Curl-like requests (the scenario's probes, else its app's one): each must get its status and body; else the reason. */
async function httpCheck(port, scenario, light) {
  const app = APPS[scenario.app];
  const probes = scenario.probes ?? [{ ...app, path: scenario.path }];
  for (const probe of probes) {
    const headers = { ...(scenario.checkHeaders ?? {}), ...(probe.headers ?? {}) };
    if (probe.body && !headers['Content-Type']) headers['Content-Type'] = 'application/octet-stream';
    if (probe.body) headers['Content-Length'] = probe.body.length;
    const bad = await httpProbe(port, probe, headers, light);
    if (bad !== null) return bad;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// nginx

const nginxSpec = (dir, conf) => ({ cmd: which('nginx') ?? 'nginx', args: nginxArgs(dir, conf) });

/** Static files for the nginx ceiling rows: 1 MiB and 100 MiB of 'x'. */
function ceilingFiles() {
  const www = path.join(tmpRoot, 'www');
  if (!existsSync(path.join(www, 'stream'))) {
    mkdirSync(www, { recursive: true });
    writeFileSync(path.join(www, 'mib'), Buffer.alloc(MIB, 'x'));
    const fd = openSync(path.join(www, 'stream'), 'w');
    const chunk = Buffer.alloc(MIB, 'x');
    for (let i = 0; i < 100; i++) writeFileSync(fd, chunk);
    closeSync(fd);
    // nginx's worker runs as an unprivileged user (nobody) when started as root.
    chmodSync(tmpRoot, 0o711);
    chmodSync(www, 0o755);
  }
  return www;
}

// ---------------------------------------------------------------------------------------------------
// Rows. Each row: how to start it for an app on a port (alternatives tried in order, the first that
// listens is kept), whether it is pinned to core 0, what it needs, and an optional nginx front.

// The apps as written (TypeScript) and their compiled JavaScript, which the tsgi rows serve
// (bench/apps/compile.mjs says why).
const TSGI_APPS = { ...TS_APPS };
const node = (script, ...args) => ({ cmd: process.execPath, args: [rel('bench/servers', script), ...args.map(String)] });
// BENCH_TSGI_ARGS: more CLI flags for every tsgi row (e.g. '--log-level warning').
const tsgiArgs = (process.env.BENCH_TSGI_ARGS ?? '').split(/\s+/).filter(Boolean);
const tsgiCli = (app, bind, ...extra) => ({ via: 'CLI', cmd: process.execPath, args: [CLI, TSGI_APPS[app], '--bind', bind, ...extra, ...tsgiArgs] });
const tsgiCliTs = (app, bind, ...extra) => ({ via: 'CLI', cmd: process.execPath, args: [CLI, TS_APPS[app], '--bind', bind, ...extra, ...tsgiArgs] });
const tsgiDoor = (proto, app, port) => ({ via: 'bench/servers/tsgi-door.mjs', ...node('tsgi-door.mjs', proto, TSGI_APPS[app], port) });
// BENCH_TSGI_LAUNCHER=1: serve the uwsgi and FastCGI rows with bench/servers/tsgi-door.mjs (one
// process, no master) even when the CLI could.
const tsgiDoors = (alternatives) => (process.env.BENCH_TSGI_LAUNCHER === '1' ? alternatives.slice(1) : alternatives);
const uwsgiSpec = (app, socketFlag, addr, processes = 1) => ({
  cmd: which('uwsgi') ?? 'uwsgi',
  args: [
    '--plugin',
    'python3',
    '--master',
    '--processes',
    String(processes),
    '--listen',
    String(Math.min(1024, SOMAXCONN)),
    '--die-on-term',
    '--need-app',
    '--disable-logging',
    '--chdir',
    PY_DIR,
    '--wsgi-file',
    'apps.py',
    '--callable',
    app,
    socketFlag,
    addr,
  ],
  cwd: PY_DIR,
});
const py = (...args) => ({ cmd: pythonBin() ?? 'python3', args, cwd: PY_DIR });

const ROWS = [
  {
    id: 'node',
    label: 'node:http',
    ref: true,
    pinned: true,
    note: 'reference',
    notes: {
      routes: 'reference: a hand-written switch over the segments (bench/servers/routes-switch.mjs)',
      multipart: 'reference: @fastify/busboy, files to temporary files (bench/servers/multipart-busboy.mjs)',
    },
    start: ({ app, port }) => [node('node-http.mjs', port, app)],
  },
  {
    id: 'node-w2',
    label: 'node:http cluster, 2 workers',
    pinned: false,
    note: '*2 cores*; SCHED_NONE (workers accept on the shared socket)',
    start: ({ app, port }) => [node('node-http.mjs', port, app, 2)],
  },
  {
    id: 'node-w2-reuse',
    label: 'node:http cluster, 2 workers, a reusePort socket each',
    pinned: false,
    note: '*2 cores*; SO_REUSEPORT: each worker accepts on a socket of its own, the kernel spreads the connections',
    compareTo: 'node-w2',
    start: ({ app, port }) => {
      const why = reusePortMissing();
      if (why) throw new Skip(why);
      return [node('node-http.mjs', port, app, 2, 'reuseport')];
    },
  },
  {
    id: 'node-net',
    label: 'node:net responder (floor)',
    pinned: true,
    note: 'fixed bytes per read, no parsing: no Node server can do less',
    notes: {
      upload:
        'finds the head end and Content-Length, counts the body bytes of each read (a new buffer per read, a scavenge every 16 MiB of them as tsgi does), keeps none: no Node server can hand an upload to its application with less',
    },
    start: ({ app, port }) => {
      if (app !== 'hello' && app !== 'upload') throw new Skip(`the floor answers hello and upload only, not ${app}`);
      return [node('node-net.mjs', port, app === 'upload' ? 'upload' : 'http')];
    },
  },
  {
    id: 'node-fork',
    label: 'node:net responder under a forking parent (master floor)',
    pinned: true,
    note: 'a parent that only `fork()`s the floor and waits: the least a Node master holds (RSS: the parent, then the child)',
    start: ({ app, port }) => {
      if (app !== 'hello') throw new Skip(`the master floor answers hello only, not ${app}`);
      return [node('node-fork.mjs', port, 'http')];
    },
  },
  {
    id: 'tsgi',
    label: '**tsgi** (1 worker)',
    pinned: true,
    note: 'master + 1 worker',
    notes: {
      routes: 'master + 1 worker; tsgi/routing `routes()` (bench/apps/routes.ts)',
      multipart: 'master + 1 worker; tsgi/wrappers `request.form()` / `files()`, files to temporary files',
    },
    start: ({ app, port }) => [tsgiCli(app, `127.0.0.1:${port}`)],
  },
  {
    id: 'tsgi-single',
    label: 'tsgi `--single-process`',
    pinned: true,
    note: 'one process: no master, no watchdog thread',
    start: ({ app, port }) => [tsgiCli(app, `127.0.0.1:${port}`, '--single-process')],
  },
  {
    // BENCH_BASELINE=DIR: the same CLI row from another checkout (built: DIR/dist), to measure a change
    // against the commit before it in one run (e.g. `git worktree add /tmp/base <commit> && cd /tmp/base &&
    // npm ci && npm run build`, then BENCH_BASELINE=/tmp/base npm run bench -- --servers tsgi,tsgi-base).
    id: 'tsgi-base',
    label: 'tsgi (1 worker), the baseline checkout',
    pinned: true,
    note: 'BENCH_BASELINE: the commit the change is measured against',
    start: ({ app, port }) => {
      const base = process.env.BENCH_BASELINE;
      if (!base) throw new Skip('BENCH_BASELINE is not set');
      return [
        { ...tsgiCli(app, `127.0.0.1:${port}`), args: [path.join(base, 'dist/cli/main.js'), TSGI_APPS[app], '--bind', `127.0.0.1:${port}`, ...tsgiArgs] },
      ];
    },
  },
  {
    id: 'tsgi-ts',
    label: 'tsgi (1 worker), the app as .ts',
    pinned: true,
    note: "master + 1 worker; tsx's loader thread in the worker",
    start: ({ app, port }) => [tsgiCliTs(app, `127.0.0.1:${port}`)],
  },
  {
    id: 'tsgi-node',
    label: 'tsgi `--engine node` (1 worker)',
    pinned: true,
    note: 'master + 1 worker; the HTTP door on node:http',
    start: ({ app, port }) => [tsgiCli(app, `127.0.0.1:${port}`, '--engine', 'node')],
  },
  {
    id: 'tsgi-node-w2',
    label: 'tsgi `--engine node` (`-w 2`)',
    pinned: false,
    note: '*2 cores*',
    compareTo: 'node-w2',
    start: ({ app, port }) => [tsgiCli(app, `127.0.0.1:${port}`, '--engine', 'node', '-w', '2')],
  },
  {
    id: 'tsgi-w2',
    label: '**tsgi** (`-w 2`)',
    pinned: false,
    note: '*2 cores*',
    compareTo: 'node-w2',
    start: ({ app, port }) => [tsgiCli(app, `127.0.0.1:${port}`, '-w', '2')],
  },
  { id: 'fastify', label: 'fastify', pinned: true, needs: ['fastify'], note: 'logger off', start: ({ app, port }) => [node('fastify.mjs', port, app)] },
  {
    id: 'express',
    label: 'express 5',
    pinned: true,
    needs: ['express'],
    note: 'defaults (ETag, X-Powered-By)',
    start: ({ app, port }) => [node('express.mjs', port, app)],
  },
  {
    id: 'hono',
    label: 'hono + @hono/node-server',
    pinned: true,
    needs: ['hono'],
    notes: { routes: '`new Hono()` (SmartRouter)' },
    start: ({ app, port }) => [node('hono.mjs', port, app)],
  },
  {
    id: 'fastify-multipart',
    label: 'fastify + @fastify/multipart',
    pinned: true,
    needs: ['fastify-multipart'],
    note: 'logger off; `request.parts()`, files to temporary files',
    start: ({ app, port }) => [node('fastify.mjs', port, app)],
  },
  {
    id: 'gunicorn-werkzeug',
    label: "Werkzeug's `Request` under gunicorn (sync, 1 worker)",
    pinned: true,
    needs: ['gunicorn', 'werkzeug'],
    note: '`request.form` / `files` (werkzeug.formparser), files to temporary files; the sync worker closes every connection',
    start: ({ app, port }) => [py('-m', 'gunicorn', '--workers', '1', '--bind', `127.0.0.1:${port}`, '--log-level', 'warning', `apps:${app}`)],
  },
  {
    id: 'gunicorn',
    label: 'gunicorn (sync, 1 worker)',
    pinned: true,
    needs: ['gunicorn'],
    note: 'sync worker closes every connection',
    start: ({ app, port }) => [py('-m', 'gunicorn', '--workers', '1', '--bind', `127.0.0.1:${port}`, '--log-level', 'warning', `apps:${app}`)],
  },
  {
    id: 'uwsgi',
    label: 'uWSGI `--http-socket`',
    pinned: true,
    needs: ['uwsgi'],
    note: 'closes every connection (wrk counts a read error each)',
    start: ({ app, port }) => [uwsgiSpec(app, '--http-socket', `127.0.0.1:${port}`)],
  },
  {
    id: 'waitress',
    label: 'waitress (4 threads)',
    pinned: true,
    needs: ['waitress'],
    start: ({ app, port }) => [py('-m', 'waitress', `--listen=127.0.0.1:${port}`, `apps:${app}`)],
  },
  {
    id: 'nginx-tsgi-uwsgi',
    label: 'nginx → **tsgi** (uwsgi)',
    pinned: true,
    needs: ['nginx'],
    front: 'uwsgi',
    compareTo: 'nginx-uwsgi',
    note: 'both on core 0',
    start: ({ app, back }) => tsgiDoors([tsgiCli(app, `uwsgi://127.0.0.1:${back}`), tsgiDoor('uwsgi', app, back)]),
  },
  {
    id: 'nginx-tsgi-fastcgi',
    label: 'nginx → **tsgi** (FastCGI)',
    pinned: true,
    needs: ['nginx'],
    front: 'fastcgi',
    compareTo: 'nginx-uwsgi',
    note: 'both on core 0; upstream keepalive',
    start: ({ app, back }) => tsgiDoors([tsgiCli(app, `fastcgi://127.0.0.1:${back}`), tsgiDoor('fastcgi', app, back)]),
  },
  {
    id: 'nginx-node-uwsgi',
    label: 'nginx → node:net uwsgi responder (floor)',
    pinned: true,
    needs: ['nginx'],
    front: 'uwsgi',
    compareTo: 'nginx-uwsgi',
    note: 'both on core 0; fixed bytes, then close: no Node uwsgi backend can do less',
    start: ({ app, back }) => {
      if (app !== 'hello') throw new Skip(`the floor answers hello only, not ${app}`);
      return [node('node-net.mjs', back, 'uwsgi')];
    },
  },
  {
    id: 'nginx-uwsgi',
    label: 'nginx → uWSGI (uwsgi)',
    pinned: true,
    needs: ['nginx', 'uwsgi'],
    front: 'uwsgi',
    note: 'both on core 0',
    start: ({ app, back }) => [uwsgiSpec(app, '--socket', `127.0.0.1:${back}`)],
  },
  {
    id: 'nginx',
    label: 'nginx (ceiling)',
    pinned: true,
    needs: ['nginx'],
    start: ({ app, port, dir }) => {
      const location = {
        hello: 'default_type text/plain;\n            return 200 "Hello, World!\\n";',
        mib: 'default_type application/octet-stream;\n            try_files /mib =404;',
        stream: 'default_type application/octet-stream;\n            try_files /stream =404;',
      }[app];
      if (!location) throw new Skip(`no nginx ceiling for ${app}`);
      const conf = nginxConf(dir, port, location.replace('try_files', `root ${ceilingFiles()};\n            try_files`));
      return [nginxSpec(dir, conf)];
    },
    notes: { hello: '`return 200`', mib: 'static file, sendfile', stream: 'static file, sendfile, with Content-Length' },
  },
  {
    id: 'hono-node-server',
    label: 'Hono app on @hono/node-server',
    pinned: true,
    needs: ['hono'],
    file: 'bench/servers/hono-node-server.mjs',
    start: ({ port }) => [node('hono-node-server.mjs', port, 'hello')],
  },
  {
    id: 'tsgi-hono',
    label: '**tsgi** hosting the Hono app (`fromFetchHandler`)',
    pinned: true,
    needs: ['hono'],
    file: 'bench/servers/tsgi-hono.ts',
    compareTo: 'hono-node-server',
    start: ({ port }) => [tsgiCli('bridge', `127.0.0.1:${port}`)],
  },
];
const ROW = new Map(ROWS.map((r) => [r.id, r]));

class Skip extends Error {}

// ---------------------------------------------------------------------------------------------------
// Scenarios

const SCENARIOS = [
  {
    id: 'hello',
    title: 'Hello world, 50 keep-alive connections',
    app: 'hello',
    connections: 50,
    rows: [
      'node',
      'node-w2',
      'node-w2-reuse',
      'node-net',
      'node-fork',
      'tsgi',
      'tsgi-single',
      'tsgi-ts',
      'tsgi-node',
      'tsgi-w2',
      'tsgi-node-w2',
      'fastify',
      'express',
      'hono',
      'gunicorn',
      'uwsgi',
      'waitress',
      'nginx-tsgi-uwsgi',
      'nginx-tsgi-fastcgi',
      'nginx-node-uwsgi',
      'nginx-uwsgi',
      'nginx',
    ],
    extra: ['tsgi-base'],
  },
  {
    id: 'hello-c200',
    title: 'Hello world, 200 keep-alive connections',
    app: 'hello',
    connections: 200,
    rows: ['node', 'node-w2', 'tsgi', 'tsgi-node', 'tsgi-w2', 'tsgi-node-w2', 'uwsgi', 'nginx'],
    extra: ['fastify', 'hono', 'nginx-tsgi-uwsgi', 'nginx-tsgi-fastcgi', 'nginx-uwsgi'],
  },
  {
    id: 'hello-close',
    title: 'Hello world, `Connection: close` (a new connection per request), 50 connections',
    app: 'hello',
    connections: 50,
    wrk: ['-H', 'Connection: close'],
    checkHeaders: { Connection: 'close' },
    rows: ['node', 'node-w2', 'node-w2-reuse', 'node-net', 'tsgi', 'tsgi-node', 'tsgi-w2', 'tsgi-node-w2', 'waitress', 'nginx'],
    extra: ['tsgi-base', 'fastify', 'hono', 'nginx-tsgi-uwsgi', 'nginx-tsgi-fastcgi', 'nginx-uwsgi'],
    text: 'gunicorn (sync) and uWSGI `--http-socket` close every connection anyway: their hello rows above are this case.',
  },
  {
    id: 'environ',
    title: "The seed's environ app, 50 keep-alive connections",
    app: 'environ',
    connections: 50,
    rows: [
      'node',
      'tsgi',
      'tsgi-single',
      'tsgi-node',
      'fastify',
      'express',
      'hono',
      'gunicorn',
      'uwsgi',
      'waitress',
      'nginx-tsgi-uwsgi',
      'nginx-tsgi-fastcgi',
      'nginx-uwsgi',
    ],
    extra: ['tsgi-base', 'node-w2', 'tsgi-w2', 'tsgi-node-w2'],
    text: "The Node frameworks build the dump by hand from the request (bench/servers/common.mjs), with the same keys and values as tsgi's environ (the wsgi.* keys, SERVER_SOFTWARE and RAW_URI included, as String() prints them), so node:http and tsgi send byte-identical bodies (595 bytes for curl's request on a 5-digit port; 768 while String(wsgi.file_wrapper) printed the function's source; before this the hand-built dump lacked those keys and was 329 bytes, so the tsgi rows did more work and sent more bytes than the reference); the Python servers' bodies differ a little (each has its own environ).",
  },
  {
    id: 'mib',
    title: '1 MiB response, 16 keep-alive connections',
    app: 'mib',
    connections: 16,
    transfer: true,
    rows: ['node', 'tsgi', 'tsgi-node', 'fastify', 'hono', 'gunicorn', 'uwsgi', 'waitress', 'nginx-tsgi-uwsgi', 'nginx-tsgi-fastcgi', 'nginx-uwsgi', 'nginx'],
    extra: ['node-w2', 'tsgi-w2', 'tsgi-node-w2', 'express'],
  },
  {
    id: 'upload',
    title: '1 MiB upload (POST, the app reads it all and answers its length), 16 keep-alive connections',
    app: 'upload',
    connections: 16,
    wrk: ['-s', rel('bench/wrk/upload.lua')],
    rows: [
      'node',
      'node-net',
      'tsgi',
      'tsgi-node',
      'fastify',
      'hono',
      'gunicorn',
      'uwsgi',
      'waitress',
      'nginx-tsgi-uwsgi',
      'nginx-tsgi-fastcgi',
      'nginx-uwsgi',
    ],
    extra: ['tsgi-base', 'node-w2', 'tsgi-w2', 'tsgi-node-w2', 'express'],
    text: "node:http counts the body's pieces as they arrive (the node:net floor counts the bytes of each read against Content-Length, with no HTTP parser), tsgi and the Python apps read it in 64 KiB pieces (`read(65536)`), none keeps it (a single `read(1 MiB)` made uWSGI 30 times slower); the frameworks keep it whole, as their APIs do (fastify's buffer parser, `express.raw`, hono's `arrayBuffer()`). nginx reads each upload whole (client_body_buffer_size 2m) before passing it on.",
  },
  {
    id: 'upload-stream',
    // `--only upload` runs it with the 1 MiB upload.
    group: 'upload',
    title: 'Streamed 100 MiB upload (POST, the app reads it in 64 KiB pieces and answers its length), 2 keep-alive connections',
    app: 'upload',
    connections: 2,
    timeout: 30,
    transfer: true,
    heavyCheck: true,
    // A request takes a second or so: whole requests only, as the 100 MiB multipart file (see its note).
    client: 'post-body',
    rows: ['node', 'node-net', 'tsgi', 'tsgi-node', 'uwsgi'],
    extra: ['tsgi-base', 'gunicorn'],
    text: "The 1 MiB upload's apps (`read(65536)` until the end, nothing kept; node:http counts its 'data' pieces, the node:net floor the bytes of each read) with a body 100 times as long, loaded by bench/clients/post-body.mjs as the 100 MiB multipart file is: a request takes about a second, and wrk would count only those that end inside its window. MiB/s is requests × 100 MiB / the time of whole requests; MiB per server CPU-s is what the machine's load moves least.",
    prepare(dir) {
      const body = Buffer.alloc(100 * MIB, 'x');
      const bodyFile = path.join(dir, 'upload-stream.body');
      writeFileSync(bodyFile, body);
      this.wrkArgs = [bodyFile];
      this.contentType = 'application/octet-stream';
      this.uploadBytes = body.length;
      const want = String(body.length);
      this.probes = [
        {
          method: 'POST',
          body,
          headers: { 'Content-Type': 'application/octet-stream' },
          check: (b) => b.toString() === want || `body ${JSON.stringify(b.toString().slice(0, 80))}, not ${want}`,
        },
      ];
    },
  },
  {
    id: 'stream',
    title: 'Streamed 100 MiB response (64 KiB chunks from a generator, no Content-Length), 4 connections',
    app: 'stream',
    connections: 4,
    timeout: 30,
    transfer: true,
    heavyCheck: true,
    rows: ['node', 'tsgi', 'tsgi-node', 'gunicorn', 'uwsgi', 'waitress', 'nginx-tsgi-uwsgi', 'nginx-tsgi-fastcgi', 'nginx-uwsgi'],
    extra: ['fastify', 'express', 'hono', 'nginx'],
  },
  {
    id: 'routes',
    title: 'Routing: 50 GitHub-API-like routes, a mix of 10 requests (one a 404), 50 keep-alive connections',
    app: 'routes',
    connections: 50,
    wrk: ['-s', rel('bench/wrk/routes.lua')],
    wrkArgs: ROUTE_REQUESTS.map(([method, path]) => `${method} ${path}`),
    wrkArgsText: "'GET /user' … (the 10 requests of bench/github-routes.mjs)",
    probes: routeProbes(),
    misses: 1 / ROUTE_REQUESTS.length,
    rows: ['node', 'tsgi', 'hono', 'fastify'],
    extra: ['tsgi-base', 'tsgi-node'],
    text: "The 50 routes of bench/routing.ts (bench/github-routes.mjs: 23 static, the rest with one to three parameters); wrk sends, in turn, 3 static paths, 5 with parameters (up to 5 segments deep), a DELETE, and one path no route matches. Every server answers a match with the same bytes (the rule, then `name=value` per parameter, text/plain) and the miss with the same 404 page (tsgi/exceptions' NotFound; the others send it as a constant). tsgi's endpoints are plain TSGI applications (`withArgs`); hono and fastify use their own routers with the `:name` rules; node:http matches with a hand-written switch.",
  },
  multipartScenario('file'),
  multipartScenario('fields'),
  {
    id: 'bridge',
    title: 'Bridges: one Hono hello-world app, hosted by @hono/node-server and by tsgi through `fromFetchHandler`, 50 keep-alive connections',
    app: 'hello',
    connections: 50,
    rows: ['node', 'hono-node-server', 'tsgi-hono'],
  },
];

/**
 * The multipart scenarios (group `multipart`): wrk posts one prebuilt multipart/form-data body, written
 * by prepare() into the scratch folder: `file`, one 100 MiB file part (a random 64 KiB block repeated:
 * binary, as uploads are); `fields`, 1,000 small fields. Every app answers its counts of fields, files
 * and file bytes; the files go to temporary files (none kept in memory whole). MiB/s is of the
 * request bodies: completed requests × body size / time.
 */
function multipartScenario(kind) {
  const file = kind === 'file';
  return {
    id: `multipart-${kind}`,
    group: 'multipart',
    title: file
      ? 'Multipart upload: one 100 MiB file (POST multipart/form-data), 2 keep-alive connections'
      : 'Multipart upload: a form of 1,000 small fields (POST multipart/form-data, 110 KB), 16 keep-alive connections',
    app: 'multipart',
    connections: file ? 2 : 16,
    timeout: file ? 30 : 5,
    transfer: file,
    heavyCheck: file,
    peakRss: true,
    // wrk's fixed window would count a handful of second-long requests: the 100 MiB file has its own client.
    ...(file ? { client: 'post-body' } : { wrk: ['-s', rel('bench/wrk/multipart.lua')], wrkArgsText: 'BODY_FILE BOUNDARY' }),
    rows: ['node', 'tsgi', 'fastify-multipart', 'gunicorn-werkzeug'],
    extra: ['tsgi-base', 'tsgi-node'],
    text: file
      ? "Every row is loaded by the same small Node client (bench/clients/post-body.mjs), not wrk: a request takes about a second here, and wrk counts only the requests that end inside its window (a 2 s window counted 0 to 2 per row) while the upload it cuts off costs the server CPU. The client runs whole requests for at least the set time; MiB/s is requests × the body (100 MiB and the part's few headers) / that time. Peak RSS: the largest RSS each process reached (VmHWM, warm-up included), summed. The Python row runs Debian's Werkzeug."
      : 'Every field counted; Werkzeug and tsgi run with their default limit of 1,000 parts (the form just fits). Peak RSS as above.',
    prepare(dir) {
      const boundary = `----tsgi-bench-${randomBytes(12).toString('hex')}`;
      let body;
      if (file) {
        const block = randomBytes(64 * 1024);
        const delimiter = Buffer.from(`\r\n--${boundary}`);
        if (Buffer.concat([block, block]).includes(delimiter)) throw new Error('the random block holds the boundary: run again');
        const head = Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        );
        body = Buffer.concat([head, ...Array.from({ length: 1600 }, () => block), Buffer.from(`\r\n--${boundary}--\r\n`)]);
      } else {
        const parts = Array.from({ length: 1000 }, (_, i) => `--${boundary}\r\nContent-Disposition: form-data; name="field${i}"\r\n\r\nvalue number ${i}\r\n`);
        body = Buffer.from(`${parts.join('')}--${boundary}--\r\n`);
      }
      const bodyFile = path.join(dir, `multipart-${kind}.body`);
      writeFileSync(bodyFile, body);
      const want = file ? `0 fields, 1 files, ${100 * MIB} file bytes\n` : '1000 fields, 0 files, 0 file bytes\n';
      this.wrkArgs = [bodyFile, boundary];
      this.contentType = `multipart/form-data; boundary=${boundary}`;
      this.uploadBytes = body.length;
      this.probes = [
        {
          method: 'POST',
          body,
          headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
          check: (b) => b.toString() === want || `body ${JSON.stringify(b.toString().slice(0, 80))}, not ${JSON.stringify(want)}`,
        },
      ];
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// One measurement

const chosenVariant = new Map();
const fallbackWhy = new Map();

/** Starts `row` for `scenario`; returns the process groups and the HTTP port, or throws Skip. */
async function startRow(row, scenario, runDir) {
  if (row.file && !existsSync(rel(row.file))) throw new Skip(`${row.file} does not exist yet`);
  const port = await freePort();
  const back = row.front ? await freePort() : null;
  const ctx = { app: scenario.app, port, back, dir: runDir };
  const alternatives = row.start(ctx);
  const core = row.pinned ? 0 : null;
  const failures = [];
  const procs = [];
  let via;
  for (let i = chosenVariant.get(row.id) ?? 0; i < alternatives.length; i++) {
    const alt = alternatives[i];
    const child = spawnGroup(alt, path.join(runDir, `server-${i}.log`), core);
    const why = await waitListening(child, back ?? port, alt.via ?? path.basename(alt.cmd));
    if (why === null) {
      if (i > 0 && !chosenVariant.has(row.id)) fallbackWhy.set(row.id, failures.join('; '));
      chosenVariant.set(row.id, i);
      procs.push(child);
      if (alt.via && alt.via !== 'CLI') via = `via ${alt.via}`;
      if (i > 0) via += ` (the ${alternatives[0].via ?? 'first way'} failed: ${fallbackWhy.get(row.id) ?? '?'})`;
      break;
    }
    failures.push(why);
    await stopGroup(child);
  }
  if (procs.length === 0) throw new Skip(failures.join('; '));
  if (row.front) {
    const conf = frontConf(runDir, port, row.front, back);
    const nginx = spawnGroup(nginxSpec(runDir, conf), path.join(runDir, 'nginx.log'), core);
    procs.push(nginx);
    const why = await waitListening(nginx, port, 'nginx');
    if (why !== null) {
      for (const p of procs) await stopGroup(p);
      throw new Skip(why);
    }
  }
  return { procs, port, via };
}

function treeStats(procs) {
  let ticks = 0;
  let rssKb = 0;
  let maxKb = 0;
  let hwmKb = 0;
  let count = 0;
  // Each process's RSS, group leader first (tsgi's and uWSGI's master, then their workers).
  const each = [];
  const eachOwn = [];
  for (const child of procs) {
    const leaderFirst = (a, b) => (a.pid === child.pid ? -1 : b.pid === child.pid ? 1 : a.pid - b.pid);
    for (const p of groupPids(child.pid).sort(leaderFirst)) {
      ticks += p.utime + p.stime;
      const status = readText(`/proc/${p.pid}/status`) ?? '';
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
      if (!Number.isNaN(hwm)) hwmKb += hwm;
      if (!Number.isNaN(kb)) {
        rssKb += kb;
        maxKb = Math.max(maxKb, kb);
        each.push(kb / 1024);
        // Its own pages (private, clean or dirty): RSS also counts the pages of the node binary and its
        // libraries that every Node process on the machine maps and shares (about 37 MB of a 45 MB master).
        const rollup = readText(`/proc/${p.pid}/smaps_rollup`) ?? '';
        const own = Number(/Private_Dirty:\s+(\d+)/.exec(rollup)?.[1]) + Number(/Private_Clean:\s+(\d+)/.exec(rollup)?.[1]);
        eachOwn.push(own / 1024);
        count++;
      }
    }
  }
  return { ticks, rssMb: rssKb / 1024, maxRssMb: maxKb / 1024, peakMb: hwmKb / 1024, count, eachMb: each, eachOwnMb: eachOwn };
}

/** The machine's CPU ticks so far: busy (ours and other programs'), and steal (the hypervisor ran another guest). */
function busyTicks() {
  const f = (readText('/proc/stat') ?? '').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return { busy: f[0] + f[1] + f[2] + f[5] + f[6], steal: f[7] || 0 };
}

let wrkChild = null;

function runWrk(port, scenario, seconds, latency) {
  const args = [
    '-t1',
    `-c${scenario.connections}`,
    `-d${seconds}s`,
    '--timeout',
    `${scenario.timeout ?? 5}s`,
    ...(latency ? ['--latency'] : []),
    ...(scenario.wrk ?? []),
    `http://127.0.0.1:${port}${scenario.path ?? '/'}`,
    ...(scenario.wrkArgs ? ['--', ...scenario.wrkArgs] : []),
  ];
  // bash's `times` reports wrk's CPU time, to tell when the client was the bottleneck.
  const script = '"$0" "$@"; s=$?; times; exit $s';
  const cmd = [...(PIN ? ['taskset', '-c', '1'] : []), 'bash', '-c', script, which('wrk'), ...args];
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    wrkChild = child;
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + (scenario.timeout ?? 5) + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      wrkChild = null;
      resolve(parseWrk(out, err, code));
    });
  });
}
process.on('exit', () => wrkChild?.kill('SIGKILL'));

/**
 * The load of a scenario with `client: 'post-body'`: bench/clients/post-body.mjs (pinned like wrk) posts
 * the scenario's body, whole requests only; its JSON line in the shape parseWrk gives.
 */
function runClient(port, scenario, seconds) {
  const [bodyFile] = scenario.wrkArgs;
  const args = [
    rel('bench/clients/post-body.mjs'),
    `http://127.0.0.1:${port}/`,
    bodyFile,
    scenario.contentType,
    String(seconds),
    String(scenario.connections),
    String(scenario.timeout ?? 5),
  ];
  const cmd = [...(PIN ? ['taskset', '-c', '1'] : []), process.execPath, ...args];
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    wrkChild = child;
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + (scenario.timeout ?? 5) + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      wrkChild = null;
      let r = null;
      try {
        r = JSON.parse(out);
      } catch {}
      if (code !== 0 || r === null || r.requests === 0) {
        const why = r?.requests === 0 ? `no request completed (${JSON.stringify(r.errors)})` : (err || out).trim().split('\n').slice(-2).join(' / ');
        return resolve({ ok: false, error: why || `exit ${code}` });
      }
      const ok2xx = Object.entries(r.statuses).reduce((n, [status, count]) => (status.startsWith('2') ? n + count : n), 0);
      resolve({
        ok: true,
        error: '',
        rps: r.requests / r.seconds,
        requests: r.requests,
        p50: r.p50,
        p99: r.p99,
        mibps: NaN,
        errors: r.errors,
        non2xx: r.requests - ok2xx,
        wrkCpu: r.cpu,
      });
    });
  });
}

const runLoad = (port, scenario, seconds, latency) => (scenario.client ? runClient(port, scenario, seconds) : runWrk(port, scenario, seconds, latency));

const SIZE = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function parseWrk(out, err, code) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  const ms = (label) => {
    const m = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return { us: v / 1000, ms: v, s: v * 1000, m: v * 60000 }[m[2]];
  };
  const t = /Transfer\/sec:\s+([\d.]+)([KMGT]?B)/.exec(out);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const cpu = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(out.trim());
  return {
    ok: code === 0 && /Requests\/sec/.test(out),
    error: code === 0 ? '' : (err || out).trim().split('\n').slice(-2).join(' / '),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50: ms('50'),
    p99: ms('99'),
    mibps: t ? (Number(t[1]) * SIZE[t[2]]) / MIB : NaN,
    errors: se ? { connect: +se[1], read: +se[2], write: +se[3], timeout: +se[4] } : { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    wrkCpu: cpu ? Number(cpu[1]) * 60 + Number(cpu[2]) + Number(cpu[3]) * 60 + Number(cpu[4]) : NaN,
  };
}

async function measure(row, scenario, round, opts) {
  const runDir = mkdtempSync(path.join(tmpRoot, `${scenario.id}-${row.id}-`));
  let server;
  try {
    server = await startRow(row, scenario, runDir);
    const bad = await httpCheck(server.port, scenario, scenario.heavyCheck && round > 0);
    if (bad !== null) throw new Skip(`check failed: ${bad}`);
    const warm = await runLoad(server.port, scenario, opts.warmup, false);
    if (!warm.ok) throw new Skip(`wrk failed: ${warm.error}`);
    const before = treeStats(server.procs);
    const busy0 = busyTicks();
    const r = await runLoad(server.port, scenario, opts.seconds, true);
    const busy1 = busyTicks();
    const after = treeStats(server.procs);
    if (!r.ok) throw new Skip(`wrk failed: ${r.error}`);
    const cpu = (after.ticks - before.ticks) / CLK_TCK;
    return {
      ...r,
      // An upload's MiB/s is of the request bodies (wrk's Transfer/sec counts the responses).
      ...(scenario.uploadBytes ? { mibps: (r.rps * scenario.uploadBytes) / MIB } : {}),
      seconds: opts.seconds,
      via: server.via,
      serverCpu: cpu,
      otherCpu: Math.max(0, (busy1.busy - busy0.busy) / CLK_TCK - cpu - (Number.isNaN(r.wrkCpu) ? 0 : r.wrkCpu)),
      // Time the virtual machine's CPUs were runnable but not running (a busy host): the rounds of one
      // row differ most when this does.
      stealCpu: (busy1.steal - busy0.steal) / CLK_TCK,
      rss: after.rssMb,
      maxRss: after.maxRssMb,
      peakRss: after.peakMb,
      procs: after.count,
      eachRss: after.eachMb,
      eachOwn: after.eachOwnMb,
    };
  } finally {
    if (server) for (const p of server.procs) await stopGroup(p);
    else for (const p of [...live]) if (p.logFile?.startsWith(runDir)) await stopGroup(p);
  }
}

// ---------------------------------------------------------------------------------------------------
// Report

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtInt = (x) => (Number.isNaN(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const fmtRate = (x) => (Number.isNaN(x) ? '—' : x >= 100 ? fmtInt(x) : x.toFixed(1));
const fmtMs = (x) => (Number.isNaN(x) ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtK = (x) => (x >= 10000 ? `${Math.round(x / 1000)}k` : String(Math.round(x)));

function summarize(runs) {
  const get = (k) => median(runs.map((r) => r[k]));
  const rps = runs.map((r) => r.rps);
  return {
    rps: get('rps'),
    min: Math.min(...rps),
    max: Math.max(...rps),
    p50: get('p50'),
    p99: get('p99'),
    mibps: get('mibps'),
    rss: get('rss'),
    maxRss: get('maxRss'),
    peakRss: get('peakRss'),
    requests: get('requests'),
    procs: get('procs'),
    // Per process, when every run had the same processes.
    eachRss: runs.every((r) => r.eachRss?.length === runs[0].eachRss?.length)
      ? (runs[0].eachRss ?? []).map((_, i) => median(runs.map((r) => r.eachRss[i])))
      : [],
    eachOwn: runs.every((r) => r.eachOwn?.length === runs[0].eachOwn?.length)
      ? (runs[0].eachOwn ?? []).map((_, i) => median(runs.map((r) => r.eachOwn[i])))
      : [],
    cpu: get('serverCpu'),
    wrkCpu: get('wrkCpu'),
    other: get('otherCpu'),
    steal: get('stealCpu'),
    perCpu: median(runs.map((r) => (r.serverCpu > 0 ? r.requests / r.serverCpu : NaN))),
    mibPerCpu: median(runs.map((r) => (r.serverCpu > 0 ? (r.mibps * r.seconds) / r.serverCpu : NaN))),
    errors: ['connect', 'read', 'write', 'timeout'].map((k) => [k, median(runs.map((r) => r.errors[k]))]).filter(([, v]) => v > 0),
    non2xx: median(runs.map((r) => r.non2xx)),
  };
}

const cell = (text) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

/** `113 (2: 47 + 66)`: the sum, then each process (leader first) when there are few, else the largest. */
function rssCell(s) {
  if (s.procs <= 1) return `${s.rss.toFixed(0)} (${s.procs})`;
  if (s.eachRss.length === s.procs && s.procs <= 3) return `${s.rss.toFixed(0)} (${s.procs}: ${s.eachRss.map((x) => x.toFixed(0)).join(' + ')})`;
  return `${s.rss.toFixed(0)} (${s.procs}; largest ${s.maxRss.toFixed(0)})`;
}

function scenarioTable(scenario, results, opts) {
  const res = results.get(scenario.id);
  const ref = res.get('node');
  // Big bodies: the ratio is of bytes per second (a streamed run completes only a few responses).
  const by = scenario.transfer ? 'mibps' : 'rps';
  const refRps = ref?.runs.length ? summarize(ref.runs)[by] : NaN;
  const showRange = opts.rounds > 1;
  const mibCol = scenario.transfer || scenario.uploadBytes;
  const head = [
    'row',
    'req/s',
    ...(showRange ? ['range'] : []),
    ...(mibCol ? ['MiB/s'] : []),
    scenario.transfer ? 'MiB/s × node:http' : '× node:http',
    'p50 ms',
    'p99 ms',
    'RSS MB (procs)',
    ...(scenario.peakRss ? ['peak RSS MB'] : []),
    scenario.transfer ? 'MiB per server CPU-s' : 'req per server CPU-s',
    'notes',
  ];
  const align = head.map((h) => (h === 'row' || h === 'notes' ? '---' : '---:'));
  const lines = [`| ${head.join(' | ')} |`, `| ${align.join(' | ')} |`];
  const others = [];
  const steals = [];
  for (const id of scenario.rows) {
    const row = ROW.get(id);
    const r = res.get(id);
    if (!r) continue;
    const notes = [];
    const n = row.notes?.[scenario.app] ?? row.note;
    if (n) notes.push(n);
    if (r.runs.length === 0) {
      notes.push(`**skipped**: ${r.skip ?? 'not run'}`);
      const dash = head.slice(1, -1).map(() => '—');
      lines.push(`| ${row.label} | ${dash.join(' | ')} | ${cell(notes.join('; '))} |`);
      continue;
    }
    const s = summarize(r.runs);
    others.push(s.other);
    steals.push(s.steal);
    if (r.via) notes.push(r.via);
    if (s.wrkCpu >= 0.9 * opts.seconds) notes.push('wrk-bound');
    if (row.compareTo && results.get(scenario.id).get(row.compareTo)?.runs.length) {
      const c = summarize(results.get(scenario.id).get(row.compareTo).runs)[by];
      notes.push(`${(s[by] / c).toFixed(2)}× ${ROW.get(row.compareTo).label.replace(/\*\*/g, '')}`);
    }
    if (s.errors.length) notes.push(`socket errors/run: ${s.errors.map(([k, v]) => `${k} ${fmtK(v)}`).join(', ')}`);
    if (scenario.misses !== undefined) {
      // The mix's miss answers 404 by design; only a share far from it is news.
      const share = s.requests > 0 ? s.non2xx / s.requests : NaN;
      const text = `404s/run: ${fmtK(s.non2xx)} of ${fmtK(s.requests)} (the miss)`;
      notes.push(Math.abs(share - scenario.misses) <= 0.02 ? text : `**${text}, not 1 in ${Math.round(1 / scenario.misses)}**`);
    } else if (s.non2xx > 0) notes.push(`**non-2xx/run: ${fmtK(s.non2xx)}**`);
    if (r.skip) notes.push(`some rounds failed: ${r.skip}`);
    const cells = [
      fmtRate(s.rps),
      ...(showRange ? [`${fmtRate(s.min)}–${fmtRate(s.max)}`] : []),
      ...(mibCol ? [s.mibps >= 100 ? fmtInt(s.mibps) : s.mibps.toFixed(1)] : []),
      Number.isNaN(refRps) ? '—' : (s[by] / refRps).toFixed(2),
      fmtMs(s.p50),
      fmtMs(s.p99),
      rssCell(s),
      ...(scenario.peakRss ? [s.peakRss.toFixed(0)] : []),
      fmtInt(scenario.transfer ? s.mibPerCpu : s.perCpu),
    ];
    lines.push(`| ${row.label} | ${cells.join(' | ')} | ${cell(notes.join('; '))} |`);
  }
  const args = [
    `-t1 -c${scenario.connections}`,
    `--timeout ${scenario.timeout ?? 5}s`,
    ...(scenario.wrk ?? []).map((a) => (a.includes(' ') ? `'${a}'` : a.startsWith(root) ? path.relative(root, a) : a)),
    ...(scenario.wrkArgs ? ['URL', '--', scenario.wrkArgsText ?? scenario.wrkArgs.join(' ')] : []),
  ];
  const load = scenario.client
    ? `\`node bench/clients/post-body.mjs\` (${scenario.connections} keep-alive connections, each posting the body request after request), ${opts.warmup} s warm-up, then at least ${opts.seconds} s (the requests under way finish and count)`
    : `\`wrk ${args.join(' ')}\`, ${opts.warmup} s warm-up, then ${opts.seconds} s with \`--latency\``;
  const out = [
    `### ${scenario.title}`,
    '',
    `\`${scenario.id}\`: ${load}. Other programs used a median ${median(others).toFixed(1)} CPU-s per run${steals.some((v) => v > 0) ? `; the host took a median ${median(steals).toFixed(1)} CPU-s per run from this machine's CPUs (steal: runnable, not running)` : ''}.${scenario.text ? ' ' + scenario.text : ''}`,
    '',
    ...lines,
    '',
  ];
  return out.join('\n');
}

// What each deployment holds in memory, from the hello runs: the processes side by side (docs/deploy-process.md, "Memory").
const MEMORY_ROWS = [
  ['node', 'the process'],
  ['tsgi-single', 'the process'],
  ['tsgi', 'master + worker (with its watchdog thread)'],
  ['node-fork', 'a parent that only forked + the node:net responder (the master floor)'],
  ['tsgi-w2', 'master + 2 workers'],
  ['uwsgi', 'master + worker'],
  ['gunicorn', 'arbiter + worker'],
];

function memorySection(results) {
  const res = results.get('hello');
  const ref = res?.get('node');
  if (!ref?.runs.length) return '';
  const refRss = summarize(ref.runs).rss;
  const lines = ['| deployment | RSS MB | × node:http | processes, MB each |', '| --- | ---: | ---: | --- |'];
  for (const [id, what] of MEMORY_ROWS) {
    const r = res.get(id);
    if (!r?.runs.length) continue;
    const s = summarize(r.runs);
    const each = s.eachRss.length === s.procs ? s.eachRss.map((x) => x.toFixed(0)).join(' + ') : `${s.procs} processes`;
    lines.push(`| ${ROW.get(id).label} | ${s.rss.toFixed(0)} | ${(s.rss / refRss).toFixed(2)} | ${what}: ${each} |`);
  }
  return [
    '### Memory per deployment',
    '',
    "RSS after the `hello` runs above, summed over the deployment's processes, then each process (the group leader first).",
    '',
    ...lines,
    '',
  ].join('\n');
}

// Issue 15's targets, worked out from this run's rows where they were measured (a target whose rows were
// not run is left out): each rate ratio next to its per-server-CPU-second ratio, the figure a busy machine
// moves least, and the verdict on that one (on every round's pair for `everyRound`). `floor`: the row that
// does the least any Node server can (bench/servers/node-net.mjs, node-fork.mjs); when it was measured in
// the same run, its own figure stands next to tsgi's, and a target the floor itself misses is reported
// unreachable rather than missed: no Node server could meet it on this machine.
const TARGETS = [
  {
    what: 'hello, keep-alive: ≥ 1.4× node:http in every round',
    scenario: 'hello',
    row: 'tsgi',
    ref: 'node',
    min: 1.4,
    everyRound: true,
    floor: 'node-net',
    side: { mode: 'keep-alive', row: 'tsgi', floor: 'node-net' },
  },
  {
    what: '`Connection: close`: ≥ 1.0× node:http',
    scenario: 'hello-close',
    row: 'tsgi',
    ref: 'node',
    min: 1.0,
    floor: 'node-net',
    side: { mode: 'close', row: 'tsgi', floor: 'node-net' },
  },
  {
    what: 'nginx → tsgi over uwsgi: ≥ 0.9× nginx → the floor',
    scenario: 'hello',
    row: 'nginx-tsgi-uwsgi',
    ref: 'nginx-node-uwsgi',
    min: 0.9,
    side: { mode: 'uwsgi', row: 'tsgi' },
  },
  { what: '1 MiB upload: ≥ 2× node:http', scenario: 'upload', row: 'tsgi', ref: 'node', min: 2, floor: 'node-net' },
  { what: '1 MiB upload: ≥ 0.6× uWSGI', scenario: 'upload', row: 'tsgi', ref: 'uwsgi', min: 0.6, floor: 'node-net' },
  { what: 'streamed 100 MiB upload: ≥ 1.5× node:http', scenario: 'upload-stream', row: 'tsgi', ref: 'node', min: 1.5, mib: true, floor: 'node-net' },
  { what: '`--single-process` RSS: ≤ 1.2× node:http', scenario: 'hello', row: 'tsgi-single', ref: 'node', maxRss: 1.2 },
  { what: 'the master of `tsgi APP`: ≤ 45 MB', scenario: 'hello', row: 'tsgi', masterMb: 45, floor: 'node-fork' },
];

/**
 * The order of a round's rows with each rate target's row right beside its reference (before it in
 * odd rounds, after it in even ones): the pair a target compares is then measured seconds apart, not
 * across the other rows' runs, over which this host's speed moved by a third (node:http's CPU per
 * request: 14.1 then 18.8 µs in two runs of the same server a minute apart). A row that two targets
 * compare stays beside the reference of the first (`everyRound` targets come first).
 */
function pairRounds(order, scenarioId, round) {
  let out = order;
  const placed = new Set();
  const rateTargets = TARGETS.filter((t) => t.ref && !t.maxRss && t.scenario === scenarioId);
  for (const t of [...rateTargets.filter((x) => x.everyRound), ...rateTargets.filter((x) => !x.everyRound)]) {
    if (placed.has(t.row)) continue;
    const ref = out.find((r) => r.id === t.ref);
    const row = out.find((r) => r.id === t.row);
    if (!ref || !row) continue;
    placed.add(t.row);
    out = out.filter((r) => r !== row);
    const at = out.indexOf(ref);
    out.splice(round % 2 === 0 ? at + 1 : at, 0, row);
  }
  return out;
}

/** A rate target's figures for `runs` against `refRuns`: the measured text and whether it is met. */
function rateVerdict(t, runs, refRuns) {
  const s = summarize(runs);
  const r = summarize(refRuns);
  const rate = (t.mib ? s.mibps : s.rps) / (t.mib ? r.mibps : r.rps);
  const perCpu = (t.mib ? s.mibPerCpu : s.perCpu) / (t.mib ? r.mibPerCpu : r.perCpu);
  let text = `${rate.toFixed(2)}× ${t.mib ? 'MiB/s' : 'req/s'}, ${perCpu.toFixed(2)}× per server CPU-s`;
  let met = perCpu >= t.min;
  let short = `${perCpu.toFixed(2)}× per server CPU-s`;
  if (t.everyRound) {
    // Rounds run every row once, so the i-th runs of two rows were measured side by side. Each round's
    // pair is given both ways; the verdict is on the per-CPU-second pairs, as for every other target:
    // a round's req/s moves with what else the host runs then (node:http's own rounds moved 2.5× in one
    // run here) and is capped by wrk's core, while CPU-seconds per request move much less.
    const pair = (f) => runs.map((x, i) => (refRuns[i] ? f(x) / f(refRuns[i]) : NaN)).filter((x) => Number.isFinite(x));
    const rates = pair((x) => x.rps);
    const pairs = pair((x) => (x.serverCpu > 0 ? x.requests / x.serverCpu : NaN));
    text += `; the rounds: ${rates.map((x) => x.toFixed(2)).join(', ')} req/s, ${pairs.map((x) => x.toFixed(2)).join(', ')} per server CPU-s`;
    met = pairs.length > 0 && pairs.every((x) => x >= t.min);
    if (pairs.length > 0) short = `${Math.min(...pairs).toFixed(2)}× per server CPU-s in its lowest round`;
  }
  return { text, met, short };
}

/**
 * A target's figures from bench/side-by-side.mjs (`side`: its JSON for the target's mode): the ratio of the
 * target's row to the reference within each set of processes, the median and the range; met when the
 * median is at the line, or every set for an every-round target.
 */
function sideVerdict(t, side) {
  const ratiosOf = (id) => side.rows.find((r) => r.id === id)?.ratios ?? [];
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const figure = (a) => `${median(a).toFixed(2)}× (${Math.min(...a).toFixed(2)}–${Math.max(...a).toFixed(2)})`;
  const rows = ratiosOf(t.side.row);
  if (rows.length === 0) return null;
  const isMet = (a) => (t.everyRound ? a.every((x) => x >= t.min) : median(a) >= t.min);
  let text = `side by side (${side.procs} process sets × ${side.windows} windows of ${side.seconds} s, per server CPU-s, median and range): ${figure(rows)}`;
  const floor = t.side.floor ? ratiosOf(t.side.floor) : [];
  if (floor.length > 0) text += `, the floor ${figure(floor)}`;
  return { text, met: isMet(rows), floorMet: floor.length > 0 ? isMet(floor) : null, floorShort: floor.length > 0 ? figure(floor) : '' };
}

function targetsSection(results, sides = {}) {
  const lines = ['| target | measured | verdict |', '| --- | --- | --- |'];
  const runsOf = (scenario, id) => results.get(scenario)?.get(id)?.runs ?? [];
  for (const t of TARGETS) {
    const runs = runsOf(t.scenario, t.row);
    if (runs.length === 0) continue;
    const s = summarize(runs);
    const floorRuns = t.floor ? runsOf(t.scenario, t.floor) : [];
    if (t.masterMb) {
      if (s.eachRss.length < 2) continue;
      const master = s.eachRss[0];
      const own = (x) => (x.eachOwn?.length > 0 ? ` (its own pages ${x.eachOwn[0].toFixed(1)} MB)` : '');
      let measured = `${master.toFixed(0)} MB${own(s)}`;
      let verdict = master <= t.masterMb ? 'met' : 'missed';
      // The floor's parent: a process that only forked its child (the group leader, first in eachRss).
      const f = floorRuns.length > 0 ? summarize(floorRuns) : null;
      if (f && f.eachRss.length >= 2) {
        const parent = f.eachRss[0];
        measured += `; the floor's parent (${t.floor}): ${parent.toFixed(0)} MB${own(f)}`;
        if (verdict === 'missed' && parent > t.masterMb) verdict = `unreachable: the floor's parent alone is ${parent.toFixed(0)} MB`;
      }
      lines.push(`| ${t.what} | ${cell(measured)} | ${verdict} |`);
      continue;
    }
    const refRuns = runsOf(t.scenario, t.ref);
    if (refRuns.length === 0) continue;
    const r = summarize(refRuns);
    if (t.maxRss) {
      const ratio = s.rss / r.rss;
      lines.push(`| ${t.what} | ${s.rss.toFixed(0)} MB against ${r.rss.toFixed(0)}: ${ratio.toFixed(2)}× | ${ratio <= t.maxRss ? 'met' : 'missed'} |`);
      continue;
    }
    const v = rateVerdict(t, runs, refRuns);
    let measured = v.text;
    let verdict = v.met ? 'met' : 'missed';
    if (floorRuns.length > 0) {
      const f = rateVerdict(t, floorRuns, refRuns);
      measured = `${v.text}; the floor (${t.floor}): ${f.text}`;
      if (!v.met && !f.met) verdict = `unreachable: the floor is ${f.short}`;
    }
    // Side by side, where it ran, decides: its pairs are measured within one set of processes, seconds
    // apart, where the rounds above compare fresh processes run one after another.
    const side = t.side && sides[t.side.mode] ? sideVerdict(t, sides[t.side.mode]) : null;
    if (side) {
      measured = `${side.text}. The rounds above: ${measured} (${verdict})`;
      verdict = side.met
        ? 'met (side by side)'
        : side.floorMet === false
          ? `unreachable: side by side the floor is ${side.floorShort}`
          : 'missed (side by side)';
    }
    lines.push(`| ${t.what} | ${cell(measured)} | ${verdict} |`);
  }
  if (lines.length === 2) return '';
  return [
    '### Targets (issue 15)',
    '',
    "Worked out from this run's tables; the verdict is on the per-CPU-second ratio, and on each round's per-CPU-second pair where the target says every round (both figures of each round are shown). Where a floor row was measured, its figure stands next to tsgi's, and a target that the floor itself misses is *unreachable*: no server on Node could meet it in this run. For the keep-alive, `Connection: close` and nginx-over-uwsgi targets, bench/side-by-side.mjs ran after the tables (unless `--no-side-by-side`): every server up at once, wrk's 1-s windows alternating between them, each ratio taken within one set of processes (the median over the sets; for an every-round target, every set); where it ran, its verdict is the one given, and the rounds' figures and verdict follow it. On this shared host a server's rate moved by a third between runs a minute apart, which a comparison of separate 3-s runs cannot tell from the servers' own difference.",
    '',
    ...lines,
    '',
  ].join('\n');
}

function versions() {
  const out = (cmd, args) => {
    if (!cmd) return '';
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  };
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format string, not a template
  const deb = (pkg) => (which('dpkg-query') ? out('dpkg-query', ['-W', '-f', '${Version}', pkg]).split('\n')[0] : '');
  const npmv = (pkg) => {
    try {
      return JSON.parse(readFileSync(rel('node_modules', pkg, 'package.json'), 'utf8')).version;
    } catch {
      return 'missing';
    }
  };
  const pyv = (mod) =>
    out(pythonBin(), ['-c', `import importlib.metadata as m; print(m.version('${mod}'))`])
      .split('\n')
      .pop();
  const git = out('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const dirty = out('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']) ? ' + local changes' : '';
  const pkg = JSON.parse(readFileSync(rel('package.json'), 'utf8'));
  const withDeb = (v, p) => (v && deb(p) ? `${v} (Debian ${p} ${deb(p)})` : v || 'missing');
  return [
    ['tsgi', `${pkg.version} (${git}${dirty})`],
    ['Node.js', process.version],
    ['fastify', npmv('fastify')],
    ['express', npmv('express')],
    ['hono', npmv('hono')],
    ['@hono/node-server', npmv('@hono/node-server')],
    ['@fastify/multipart', npmv('@fastify/multipart')],
    ['Python', out(pythonBin(), ['--version']).replace('Python ', '')],
    ['gunicorn', withDeb(pyv('gunicorn'), 'python3-gunicorn')],
    ['waitress', withDeb(pyv('waitress'), 'python3-waitress')],
    ['Werkzeug', withDeb(pyv('werkzeug'), 'python3-werkzeug')],
    ['uWSGI', withDeb(out(which('uwsgi'), ['--version']), 'uwsgi-core')],
    ['nginx', withDeb(out(which('nginx'), ['-v']).replace(/^nginx version: nginx\//, ''), 'nginx-light')],
    [
      'wrk',
      out(which('wrk'), ['--version'])
        .split('\n')[0]
        .replace(/ Copyright.*/, ''),
    ],
  ];
}

function machine() {
  const osName = /PRETTY_NAME="?([^"\n]*)/.exec(readText('/etc/os-release') ?? '')?.[1] ?? os.type();
  const mem = (os.totalmem() / 1024 ** 3).toFixed(0);
  return `${cores} × ${os.cpus()[0]?.model?.trim() ?? 'CPU'}, ${mem} GiB, ${osName}, kernel ${os.release()}`;
}

/** package.json's engines.node, e.g. '>=22.12'. */
function enginesRange() {
  return JSON.parse(readFileSync(rel('package.json'), 'utf8')).engines?.node ?? '';
}

/** The running Node is older than engines.node's minimum (a `>=X.Y` range). */
function belowEngines() {
  const m = /^>=\s*(\d+)(?:\.(\d+))?/.exec(enginesRange());
  if (m === null) return false;
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major < Number(m[1]) || (major === Number(m[1]) && minor < Number(m[2] ?? 0));
}

function report(results, opts, started, command, sides = {}) {
  const date = started.toISOString().replace(/\.\d+Z$/, 'Z');
  const vs = versions();
  const pinning = PIN
    ? 'servers pinned to core 0 with taskset (nginx and its backend share it; the *2 cores* rows are not pinned), wrk pinned to core 1'
    : 'no pinning (taskset missing or one core): server and wrk share the machine';
  const head = [
    '# Benchmarks',
    '',
    `The latest run of \`npm run bench\` (bench/run.mjs). Only ratios taken within one run mean anything: every row below was measured in the same run, interleaved, so each is compared with raw \`node:http\` serving the same bytes (× node:http, 1.00 for the reference). The method and the pitfalls are in the comment at the top of bench/run.mjs.`,
    '',
    `- **Date**: ${date}`,
    `- **Command**: \`${command}\``,
    ...(belowEngines()
      ? [
          `- **Node.js ${process.version} is below the package's engines (${enginesRange()})**: these rows measure a runtime tsgi does not support. Run the bench on a supported Node, e.g. \`npm run bench:node24\``,
        ]
      : []),
    `- **Machine**: ${machine()}`,
    `- **Load**: wrk, one thread, from a second process; ${pinning}`,
    `- **Rounds**: ${opts.rounds} × ${opts.seconds} s after a ${opts.warmup} s warm-up, each server started fresh for each run; medians${opts.rounds > 1 ? ' (range: lowest and highest req/s)' : ''}`,
    "- **RSS**: summed over the server's processes after the measured run (nginx included in the nginx → X rows), then in brackets the process count and each process, the group leader first (for tsgi: the master, then the worker, to set against node:http's one process), or the largest one when there are more than three. *Memory per deployment*, after the tables, sets the hello rows side by side. RSS counts the pages of the node binary and its libraries that every Node process maps and shares (about 37 MB of an idle process); the master target also gives the master's own pages (private, from /proc/PID/smaps_rollup), what one more process really costs the machine",
    '- **req per server CPU-s** (MiB per server CPU-s for the big bodies): work done per CPU-second the server (all its processes) used; the figure that depends least on how busy the machine was. *wrk-bound*: wrk used ≥ 90% of its core, so the row measures the client. "Other programs used" under each table: CPU-seconds used during a run by neither the server nor wrk (a noisy machine shows here), and, when there was any, the CPU time the host took from this virtual machine (steal: a noisy host shows there)',
    '',
    '| component | version |',
    '|---|---|',
    ...vs.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '## Reading the tables',
    '',
    "- **tsgi (1 worker)** is what `tsgi APP` runs: a master process and one worker; its RSS counts both. The nginx → tsgi rows use the CLI's `--bind uwsgi://` / `--bind fastcgi://` (or bench/servers/tsgi-door.mjs, one process, when the CLI lacks them: the notes say so).",
    "- **tsgi** rows run the default HTTP engine, tsgi's own on node:net (docs/engine.md); the `--engine node` rows run the HTTP door on node:http.",
    "- **floor** rows (bench/servers/node-net.mjs) answer fixed bytes per read with no parsing at all, reading every socket into one reused buffer as tsgi's net engine does (src/http/net/reads.ts; `node bench/servers/node-net.mjs PORT http data` reads with 'data' events instead, a new buffer per read): the least any server on Node can do per request or per connection here. The distance from a C peer to the floor is Node's own cost, which no Node server can remove; the distance from the floor to tsgi is ours. In the upload scenarios the floor finds each head's end and Content-Length and counts the body bytes of each read, keeping none, each read into a new buffer: the memory a server must give each read whose bytes its application is handed (read into one reused buffer and dropped, an upload costs next to nothing and measures no server). The *master floor* (bench/servers/node-fork.mjs) runs the hello floor under a parent that does nothing but `fork()` it and wait: that parent's RSS is the least any Node master holds. Where a floor was measured, the Targets section sets it next to tsgi and calls a target the floor misses *unreachable*.",
    '- **2-worker rows** (*2 cores*) are not pinned, so one worker shares core 1 with wrk; compare them with each other (tsgi `-w 2` against node:http cluster with SCHED_NONE), not with the pinned rows. The node:http cluster with a reusePort socket each (Node ≥ 22.12; skipped on older Node) measures whether one socket per worker, where the kernel spreads new connections over the workers by a hash of the connection, is faster on this machine than the shared socket that tsgi and the SCHED_NONE row accept on (its notes give it as × the SCHED_NONE row); tsgi keeps the shared socket because a closing SO_REUSEPORT socket resets the connections queued on it (docs/engine.md).',
    "- **gunicorn's sync worker and uWSGI `--http-socket`** close the connection after every response, so their keep-alive rows are really one connection per request; uWSGI does it without `Connection: close`, and wrk counts a read error for each (the responses are complete).",
    '- **wrk-bound** rows measure the client: wrk on one core tops out around 75-90k req/s with keep-alive, about 19k new connections/s, and about 2 GB/s of 1 MiB bodies. For them the req per server CPU-s column is the better figure.',
    '- **nginx → X** rows put nginx and the backend on the same core, over 127.0.0.1 TCP. nginx speaks uwsgi without upstream keep-alive (a new backend connection per request: uwsgi ends a response by closing) and FastCGI with `fastcgi_keep_conn on` and an upstream pool.',
    '- **1 MiB upload**: wrk posts the same 1 MiB body (bench/wrk/upload.lua); every app reads the whole body and answers its length (node:http, tsgi, the Python apps and the floor in pieces, keeping none; the frameworks keep it whole, as their APIs do).',
    '- **Streamed 100 MiB upload**: the 1 MiB upload with a 100 MiB body, posted by bench/clients/post-body.mjs (whole requests only); the ratio column compares MiB/s of the request bodies.',
    '- **Streamed 100 MiB**: the apps yield 64 KiB chunks with no Content-Length; the ratio column compares MiB/s. A run completes only a few responses per connection, so req/s is coarse.',
    '- **Routing**: the same 50 routes (bench/github-routes.mjs) in tsgi/routing, Hono and fastify, and in a hand-written switch for node:http; wrk sends a mix of 10 requests in turn (bench/wrk/routes.lua), one of them a 404, and every server answers each with the same bytes.',
    "- **Multipart**: wrk posts one prebuilt multipart/form-data body (bench/wrk/multipart.lua): one 100 MiB file, or 1,000 small fields; each app parses it with its framework's form API, files to temporary files, and answers its counts. MiB/s is of the uploaded bodies; peak RSS is VmHWM summed over the server's processes.",
    '',
    '## Results',
    '',
  ];
  const tables = SCENARIOS.filter((s) => results.has(s.id)).map((s) => scenarioTable(s, results, opts));
  const memory = memorySection(results);
  const targets = targetsSection(results, sides);
  return head.join('\n') + '\n' + tables.join('\n') + (memory ? '\n' + memory : '') + (targets ? '\n' + targets : '');
}

// ---------------------------------------------------------------------------------------------------

/**
 * Runs bench/side-by-side.mjs for each mode a target of this run needs (its row and reference were
 * measured): keep-alive, `--close`, `--uwsgi`; with BENCH_BASELINE's rows too. Returns its JSON by mode.
 */
function sideBySide(results) {
  const ran = (scenario, id) => (results.get(scenario)?.get(id)?.runs.length ?? 0) > 0;
  const modes = new Set();
  for (const t of TARGETS) if (t.side && ran(t.scenario, t.row) && ran(t.scenario, t.ref)) modes.add(t.side.mode);
  const out = {};
  for (const mode of modes) {
    const file = path.join(tmpRoot, `side-by-side-${mode}.json`);
    const args = [rel('bench/side-by-side.mjs'), '--procs', process.env.BENCH_SIDE_PROCS || '5', '--windows', '3', '--json', file];
    if (mode !== 'keep-alive') args.push(`--${mode}`);
    if (process.env.BENCH_BASELINE) args.push('--baseline', process.env.BENCH_BASELINE);
    log(`bench: side by side, ${mode} (${path.relative(root, args[0])} ${args.slice(1).join(' ')})`);
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 15 * 60_000 });
    for (const line of (r.stdout ?? '').trimEnd().split('\n')) log(`  ${line}`);
    if (r.status === 0 && existsSync(file)) out[mode] = JSON.parse(readFileSync(file, 'utf8'));
    else log(`bench: side by side, ${mode}: failed (exit ${r.status}); the Targets use the rounds alone`);
  }
  return out;
}

async function main() {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const scenarios = SCENARIOS.filter((s) => matches(opts.only, s.id) || (s.group !== undefined && opts.only.length > 0 && matches(opts.only, s.group)));
  if (scenarios.length === 0) fail(`no scenario matches ${opts.only.join(',')}; see --list`);
  if (belowEngines() && !opts.list) {
    process.stderr.write(
      `bench: Node.js ${process.version} is below the package's engines (${enginesRange()}): the tsgi rows run on a Node it does not support; \`npm run bench:node24\` runs the bench on Node 24 (from the npm registry)\n`,
    );
  }
  // --all, or rows named with --servers, add the scenario's extra rows.
  for (const s of scenarios) if (opts.all || opts.servers.length > 0) s.rows = [...s.rows, ...(s.extra ?? [])];
  const plan = scenarios
    .map((s) => ({ scenario: s, rows: s.rows.filter((id) => id === 'node' || matches(opts.servers, id)).map((id) => ROW.get(id)) }))
    .filter((p) => opts.servers.length === 0 || p.rows.length > 1);
  if (opts.list) {
    for (const s of SCENARIOS) {
      process.stdout.write(`${s.id.padEnd(16)} ${s.title}\n${''.padEnd(17)}rows: ${s.rows.join(', ')}\n`);
      if (s.extra) process.stdout.write(`${''.padEnd(17)}with --all: ${s.extra.join(', ')}\n`);
    }
    process.stdout.write(`\nrows: ${ROWS.map((r) => r.id).join(', ')}\n`);
    return;
  }
  const started = new Date();
  const command =
    ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ') +
    ['BENCH_ONLY', 'BENCH_SERVERS', 'BENCH_ROUNDS', 'BENCH_SECONDS', 'BENCH_WARMUP', 'BENCH_QUICK']
      .filter((k) => process.env[k])
      .map((k) => ` (${k}=${process.env[k]})`)
      .join('');

  const missing = ensureTools(
    plan.flatMap((p) => p.rows),
    opts.install,
  );
  if (opts.build) {
    const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    if (build.status !== 0) {
      if (!existsSync(CLI)) fail('npm run build failed and dist/cli/main.js is missing');
      log('bench: npm run build failed; measuring the dist/ that is there');
    }
  }
  Object.assign(TSGI_APPS, await compileApps(root));
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'tsgi-bench-'));
  for (const { scenario } of plan) scenario.prepare?.(tmpRoot);

  const results = new Map(plan.map(({ scenario, rows }) => [scenario.id, new Map(rows.map((r) => [r.id, { runs: [], skip: null }]))]));
  for (const { scenario, rows } of plan) {
    for (const row of rows) {
      const why = (row.needs ?? []).map((n) => missing.get(n)).filter(Boolean);
      if (why.length) results.get(scenario.id).get(row.id).skip = why.join('; ');
    }
  }
  const runs = plan.reduce((n, p) => n + p.rows.length, 0) * opts.rounds;
  const eta = Math.ceil((runs * (opts.seconds + opts.warmup + 0.7)) / 60);
  log(
    `bench: ${runs} runs (${plan.length} scenarios, ${opts.rounds} round${opts.rounds > 1 ? 's' : ''} of ${opts.seconds} s + ${opts.warmup} s warm-up), about ${eta} min; ${PIN ? 'servers on core 0, wrk on core 1' : 'no pinning'}`,
  );

  let done = 0;
  for (let round = 0; round < opts.rounds; round++) {
    for (const { scenario, rows } of plan) {
      const order = pairRounds(
        rows.map((_, i) => rows[(i + round) % rows.length]),
        scenario.id,
        round,
      );
      for (const row of order) {
        const acc = results.get(scenario.id).get(row.id);
        done++;
        if (acc.skip && acc.runs.length === 0) continue;
        const tag = `[${round + 1}/${opts.rounds} ${String(done).padStart(3)}/${runs}] ${scenario.id} ${row.id}`;
        try {
          const r = await measure(row, scenario, round, opts);
          acc.runs.push(r);
          if (r.via) acc.via = r.via;
          log(
            `${tag}: ${fmtRate(r.rps)} req/s, p99 ${fmtMs(r.p99)} ms, RSS ${r.rss.toFixed(0)} MB${r.eachRss.length > 1 ? ` (${r.eachRss.map((x) => x.toFixed(0)).join(' + ')})` : ''}, server ${r.serverCpu.toFixed(1)} CPU-s, wrk ${r.wrkCpu.toFixed(1)} CPU-s`,
          );
        } catch (err) {
          const why = err instanceof Skip ? err.message : (err?.stack ?? String(err));
          acc.skip = why.replace(/\s+/g, ' ').slice(0, 400);
          log(`${tag}: skipped: ${acc.skip}`);
        }
      }
    }
  }

  const sides = opts.sideBySide ? sideBySide(results) : {};
  const md = report(results, opts, started, command, sides);
  process.stdout.write('\n' + md);
  if (opts.docs) {
    const file = path.resolve(root, opts.docs);
    writeFileSync(file, md);
    log(`bench: wrote ${path.relative(root, file) || file}`);
  }
  if (opts.json) {
    const data = Object.fromEntries([...results].map(([s, m]) => [s, Object.fromEntries([...m].map(([id, r]) => [id, r]))]));
    writeFileSync(path.resolve(opts.json), JSON.stringify({ date: started, command, machine: machine(), opts, results: data }, null, 2));
  }
}

main()
  .catch((err) => {
    log(`bench: ${err?.stack ?? err}`);
    process.exitCode = 1;
  })
  .finally(cleanupAll);
