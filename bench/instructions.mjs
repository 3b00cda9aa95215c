// CPU instructions per request, counted by valgrind's callgrind: a measure that does not depend on how
// busy the machine is. `npm run bench` measures req/s and req per server CPU-second, which is what users
// get, but on a shared host both move ±15% between adjacent runs (docs/benchmarks.md); a change of a
// few percent in the per-request path cannot be seen there. An instruction count moves much less with
// the machine's load (repeated runs here: within ~5-10%, from when the JIT and the GC threads happen to
// run; run a comparison twice). It counts user-space instructions only: the kernel's share of each
// request (the syscalls, the same for every server) is not in it, so its ratios are wider than the
// req/s ratios of `npm run bench`. The two go together: this one to find and prove a change in tsgi's
// own code, `npm run bench` for what it is worth to a user.
//
// The warm-up matters: V8 optimizes a function after enough calls, and under valgrind its compiler
// threads run ~50 times slower, so with 1,000 warm-up requests hello counted 250k instructions per
// request instead of 60k. 5,000 was not enough either: V8's later tiers (Maglev, then Turbofan) still
// compiled during the counted requests, most on Node 24 (hello through tsgi: 85.9k instructions per
// request after 5,000, 39.9k after 30,000; node:http 117k and 67k). The default is 30,000 (and 10,000
// counted); keep it there or above.
//
//   node bench/instructions.mjs [--only hello,environ,close,upload,uwsgi] [--servers tsgi,node,node-net,...]
//                               [--requests N] [--warmup N] [--connections N]
//
// Each server runs under `valgrind --tool=callgrind` (children traced: the tsgi CLI's master and its
// worker both count), takes `--warmup` requests (the JIT settles), then its counters are zeroed, it
// serves `--requests` more, and the counters are dumped: instructions per request is the total of all
// its processes divided by the requests. The client runs in this process, outside valgrind, with
// `--connections` connections each sending one request at a time (keep-alive), or a new connection per
// request (close, uwsgi). Needs valgrind (apt-get install valgrind); `npm run build` first.
//
// BENCH_BASELINE=DIR adds the tsgi-base row: the same CLI from another built checkout.
// BENCH_KEEP_CALLGRIND=DIR keeps the callgrind files for `callgrind_annotate --threshold=100 FILE`: the V8
// builtins and C++ functions the count is made of (e.g. Builtins_KeyedStoreIC_Megamorphic per request).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileApps } from './apps/compile.mjs';
import { descendants } from './proc.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(root, 'dist/cli/main.js');
const which = (cmd) => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const ONLY = option('only', 'hello,environ,close,upload,uwsgi').split(',');
const REQUESTS = Number(option('requests', 10000));
const WARMUP = Number(option('warmup', 30000));
const CONNECTIONS = Number(option('connections', 10));
const UPLOAD = Buffer.alloc(1024 * 1024, 'x');

// Scenarios: the app, the wire protocol, and whether each request has a connection of its own.
const SCENARIOS = {
  hello: { app: 'hello', wire: 'http', fresh: false, title: 'hello, keep-alive' },
  environ: { app: 'environ', wire: 'http', fresh: false, title: "the seed's environ app, keep-alive" },
  close: { app: 'hello', wire: 'http', fresh: true, title: 'hello, `Connection: close` (a connection per request)' },
  upload: { app: 'upload', wire: 'http', fresh: false, title: '1 MiB upload, keep-alive', body: UPLOAD },
  uwsgi: { app: 'hello', wire: 'uwsgi', fresh: true, title: 'hello over uwsgi, a connection per request (as nginx does)' },
};

// Servers: how to start each for a scenario on a port, or why it cannot serve it.
const node = (script, ...args) => [process.execPath, path.join(root, 'bench/servers', script), ...args.map(String)];
const SERVERS = {
  node: { label: 'node:http', start: (s, port) => (s.wire === 'http' ? node('node-http.mjs', port, s.app) : null) },
  'node-net': {
    label: 'node:net floor',
    start: (s, port) => (s.app === 'hello' ? node('node-net.mjs', port, s.wire) : null),
  },
  tsgi: { label: 'tsgi (1 worker)', start: (s, port, apps) => [process.execPath, CLI, apps[s.app], '--bind', bind(s, port)] },
  'tsgi-single': {
    label: 'tsgi --single-process',
    start: (s, port, apps) => [process.execPath, CLI, apps[s.app], '--bind', bind(s, port), '--single-process'],
  },
  'tsgi-node': {
    label: 'tsgi --engine node',
    start: (s, port, apps) => (s.wire === 'http' ? [process.execPath, CLI, apps[s.app], '--bind', bind(s, port), '--engine', 'node'] : null),
  },
  'tsgi-base': {
    label: 'tsgi (1 worker), BENCH_BASELINE',
    start: (s, port, apps) =>
      process.env.BENCH_BASELINE ? [process.execPath, path.join(process.env.BENCH_BASELINE, 'dist/cli/main.js'), apps[s.app], '--bind', bind(s, port)] : null,
  },
};
const bind = (s, port) => (s.wire === 'uwsgi' ? `uwsgi://127.0.0.1:${port}` : `127.0.0.1:${port}`);

// --- the client -------------------------------------------------------------------------------------------

function httpRequest(s, port) {
  const head = [`${s.body ? 'POST' : 'GET'} / HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'User-Agent: bench-instructions', 'Accept: */*'];
  if (s.body) head.push('Content-Type: application/octet-stream', `Content-Length: ${s.body.length}`);
  if (s.fresh) head.push('Connection: close');
  const bytes = Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1');
  return s.body ? Buffer.concat([bytes, s.body]) : bytes;
}

/** A uwsgi packet (modifier1 0) with the CGI variables nginx's stock uwsgi_params would send. */
function uwsgiRequest(port) {
  const vars = {
    REQUEST_METHOD: 'GET',
    REQUEST_URI: '/',
    PATH_INFO: '/',
    QUERY_STRING: '',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_PORT: '40000',
    SERVER_ADDR: '127.0.0.1',
    SERVER_PORT: String(port),
    SERVER_NAME: 'localhost',
    HTTP_HOST: `127.0.0.1:${port}`,
    HTTP_USER_AGENT: 'bench-instructions',
    HTTP_ACCEPT: '*/*',
  };
  const parts = [];
  for (const [k, v] of Object.entries(vars)) {
    for (const text of [k, v]) {
      const b = Buffer.from(text, 'latin1');
      const n = Buffer.alloc(2);
      n.writeUInt16LE(b.length);
      parts.push(n, b);
    }
  }
  const body = Buffer.concat(parts);
  const header = Buffer.from([0, body.length & 0xff, body.length >> 8, 0]);
  return Buffer.concat([header, body]);
}

/** Where one HTTP/1.1 response ends in `buf`, or -1: Content-Length framing only (the apps all send one). */
function responseEnd(buf) {
  const i = buf.indexOf('\r\n\r\n');
  if (i < 0) return -1;
  const m = /content-length: *(\d+)/i.exec(buf.subarray(0, i).toString('latin1'));
  if (!m) throw new Error(`a response without Content-Length: ${buf.subarray(0, i).toString('latin1')}`);
  const end = i + 4 + Number(m[1]);
  return buf.length >= end ? end : -1;
}

/** Sends `n` requests on `connections` connections, one at a time on each; resolves when all are answered. */
function load(s, port, n) {
  const request = s.wire === 'uwsgi' ? uwsgiRequest(port) : httpRequest(s, port);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    const open = () => {
      if (sent >= n) return;
      sent++;
      const socket = net.connect(port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      const next = () => {
        if (sent >= n) return false;
        sent++;
        socket.write(request);
        return true;
      };
      socket.on('connect', () => socket.write(request));
      socket.on('data', (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        for (;;) {
          const end = responseEnd(buf);
          if (end < 0) return;
          if (!buf.subarray(0, 12).toString('latin1').endsWith('200')) return reject(new Error(`not 200: ${buf.subarray(0, 64)}`));
          buf = buf.subarray(end);
          answered++;
          if (answered === n) resolve();
          if (s.fresh) {
            socket.end();
            open();
            return;
          }
          if (!next()) socket.end();
        }
      });
      socket.on('error', reject);
    };
    for (let c = 0; c < CONNECTIONS; c++) open();
  });
}

// --- the server under callgrind -----------------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function connects(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

function control(flag, pids) {
  const r = spawnSync('callgrind_control', [flag, ...pids.map(String)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`callgrind_control ${flag}: ${r.stderr || r.stdout}`);
}

async function measure(scenario, server, apps) {
  const port = await freePort();
  const argv = server.start(scenario, port, apps);
  if (!argv) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-instr-'));
  const child = spawn('valgrind', ['--tool=callgrind', '--trace-children=yes', '--smc-check=all-non-file', `--callgrind-out-file=${dir}/cg.%p`, ...argv], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  try {
    const deadline = Date.now() + 120_000;
    while (!(await connects(port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`did not listen:\n${stderr.slice(-2000)}`);
      await sleep(500);
    }
    await load(scenario, port, WARMUP);
    await sleep(300);
    const pids = descendants(child.pid);
    control('--zero', pids);
    await load(scenario, port, REQUESTS);
    control('--dump', pids);
    await sleep(500);
    let total = 0;
    for (const f of readdirSync(dir)) {
      if (!/\.1$/.test(f)) continue; // the first dump of each process
      const m = /^totals: (\d+)/m.exec(readFileSync(path.join(dir, f), 'utf8'));
      if (m) total += Number(m[1]);
    }
    return total / REQUESTS;
  } finally {
    child.kill('SIGTERM');
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(20_000)]);
    if (child.exitCode === null)
      for (const pid of descendants(child.pid))
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
    // BENCH_KEEP_CALLGRIND=DIR keeps each server's callgrind files (DIR/<server>-<scenario>/cg.PID.1: the
    // counted requests) for callgrind_annotate: which C++ functions and V8 builtins the count is made of
    // (JIT-compiled JavaScript shows as unnamed addresses; `perf record` with --perf-basic-prof names it).
    const keep = process.env.BENCH_KEEP_CALLGRIND;
    if (keep) cpSync(dir, path.join(keep, `${server.id}-${scenario.id}`), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- main ------------------------------------------------------------------------------------------------------

if (!which('valgrind') || !which('callgrind_control')) {
  process.stderr.write('bench/instructions.mjs needs valgrind (apt-get install valgrind)\n');
  process.exit(2);
}
const servers = option('servers', 'node,node-net,tsgi,tsgi-base').split(',');
for (const id of servers) if (!SERVERS[id]) throw new Error(`unknown server ${id}; known: ${Object.keys(SERVERS).join(', ')}`);
const apps = await compileApps(root);
console.log(`instructions per request (callgrind; ${WARMUP} warm-up then ${REQUESTS} counted requests, ${CONNECTIONS} connections)\n`);
for (const id of ONLY) {
  const scenario = SCENARIOS[id];
  if (!scenario) throw new Error(`unknown scenario ${id}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  console.log(`## ${scenario.title}`);
  let ref = null;
  for (const sid of servers) {
    const n = await measure({ ...scenario, id }, { ...SERVERS[sid], id: sid }, apps);
    if (n === null) continue;
    ref ??= n;
    console.log(`  ${SERVERS[sid].label.padEnd(34)} ${Math.round(n).toLocaleString('en').padStart(12)}  ${(ref / n).toFixed(3)}× the first row's rate`);
  }
  console.log('');
}
