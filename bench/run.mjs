#!/usr/bin/env node
// npm run bench: tsgi against raw node:http serving the same bytes, side by side in one run.
// Each server runs alone on core 0 while wrk loads it from core 1 (taskset), after a warm-up; the
// rounds interleave the servers so drift on a noisy machine hits all of them alike; medians are
// reported, with each row's ratio to raw node:http (1.0). Timings are reported, never asserted.
//
//   npm run bench                      all scenarios, 3 rounds of 5 s
//   BENCH_ROUNDS=5 BENCH_SECONDS=10 npm run bench
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const cores = os.cpus().length;
const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
const pin = (core, cmd, args) => (hasTaskset && cores > 1 ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]);

function ensureWrk() {
  if (spawnSync('wrk', ['--version']).error === undefined) return;
  if (process.getuid?.() === 0) {
    console.error('bench: installing wrk from Debian packages');
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (spawnSync('wrk', ['--version']).error !== undefined) {
    console.error('bench: wrk is missing (apt-get install wrk)');
    process.exit(2);
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const tsgi = (app) => (port) => [process.execPath, [path.join(root, 'dist/cli/main.js'), app, '--bind', `127.0.0.1:${port}`]];
const raw = (file) => (port) => [process.execPath, [path.join(root, 'bench/servers', file), String(port)]];

const SCENARIOS = [
  {
    name: 'hello',
    servers: [
      { name: 'node:http (raw)', ref: true, cmd: raw('raw-hello.mjs') },
      { name: 'tsgi', cmd: tsgi('examples/hello.ts') },
    ],
  },
  {
    name: 'seed environ demo',
    servers: [
      { name: 'node:http (raw)', ref: true, cmd: raw('raw-environ.mjs') },
      { name: 'tsgi', cmd: tsgi('examples/environ.ts') },
    ],
  },
];

async function start(server) {
  const port = await freePort();
  const [cmd, args] = server.cmd(port);
  const [pcmd, pargs] = pin(0, cmd, args);
  const child = spawn(pcmd, pargs, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${server.name} did not start: ${err}`)), 15000);
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('Listening at')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (c) => reject(new Error(`${server.name} exited ${c}: ${err}`)));
  });
  child.removeAllListeners('exit');
  return { child, port };
}

function wrk(port, seconds) {
  const [cmd, args] = pin(cores > 1 ? 1 : 0, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`]);
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const ms = (label) => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)?.[0] ?? '';
  return { rps, p50: ms('50'), p99: ms('99'), errors };
}

function rssMb(pid) {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return kb / 1024;
  } catch {
    return NaN;
  }
}

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
};

async function main() {
  ensureWrk();
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
  const node = process.version;
  const wrkVersion = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  console.log(`# tsgi benchmark — ${new Date().toISOString().slice(0, 10)}`);
  console.log(`node ${node}, ${wrkVersion.trim()}, ${cores} cores (${os.cpus()[0]?.model ?? '?'}), ` +
    `${hasTaskset && cores > 1 ? 'server on core 0, wrk on core 1' : 'no pinning'}; ` +
    `${ROUNDS} rounds × ${SECONDS} s after ${WARMUP} s warm-up, ${CONNECTIONS} keep-alive connections, medians\n`);
  for (const scenario of SCENARIOS) {
    const results = new Map(scenario.servers.map((s) => [s.name, { rps: [], p50: [], p99: [], rss: [], errors: '' }]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? scenario.servers : [...scenario.servers].reverse();
      for (const server of order) {
        const { child, port } = await start(server);
        wrk(port, WARMUP);
        const r = wrk(port, SECONDS);
        const acc = results.get(server.name);
        acc.rps.push(r.rps);
        acc.p50.push(r.p50);
        acc.p99.push(r.p99);
        acc.rss.push(rssMb(child.pid));
        if (r.errors) acc.errors = r.errors;
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    }
    const ref = median(results.get(scenario.servers.find((s) => s.ref).name).rps);
    console.log(`## ${scenario.name}\n`);
    console.log('| server | req/s | ratio to node:http | p50 ms | p99 ms | RSS MB | notes |');
    console.log('|---|---:|---:|---:|---:|---:|---|');
    for (const s of scenario.servers) {
      const acc = results.get(s.name);
      const rps = median(acc.rps);
      console.log(
        `| ${s.name} | ${rps.toFixed(0)} | ${(rps / ref).toFixed(2)} | ${median(acc.p50).toFixed(2)} | ` +
          `${median(acc.p99).toFixed(2)} | ${median(acc.rss).toFixed(0)} | ${acc.errors} |`,
      );
    }
    console.log('');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
