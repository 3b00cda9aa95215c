// The server side of the request-body fault tests (test/http/body-pieces.test.ts and
// test/uwsgi/body-pieces.test.ts), in its own process so that the tests can measure its event loop
// and its heap alone. `node --expose-gc --import tsx body-server.ts net|node|uwsgi` prints `port N`;
// the test drives it over IPC: {cmd:'stats'} answers the longest event-loop block since the last
// {cmd:'reset'}, the heap (heapUsed + arrayBuffers, after a full GC) and how many /hold requests wait;
// {cmd:'release'} lets them read.
//
// The event loop's blocks are measured twice. `maxLagMs` is the wall-clock lag of
// monitorEventLoopDelay. `maxBlockMs` is a timer drift check that counts only the time the process
// was running: each 10 ms tick takes the smaller of its lateness and the CPU time the process used
// meanwhile. On a machine shared by many processes (2 cores, a load of 17 while these tests were
// written) a process waits for a core for hundreds of ms without blocking anything itself; code
// that holds the loop, like the quadratic reads these tests were written for, burns CPU all along.
//   POST /read      reads the body with read(), answers "<bytes>"
//   POST /readline  reads it with readline() to the end, answers "<lines> <bytes>"
//   POST /hold      waits for {cmd:'release'} before reading anything, then as /read
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Environ, StartResponse } from '../../src/spec.js';
import { serve } from '../../src/http/serve.js';
import { serveUwsgi } from '../../src/uwsgi/index.js';

const door = process.argv[2] ?? 'net';
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();

const TICK = 10;
let maxBlockMs = 0;
let last = performance.now();
let lastCpu = process.cpuUsage();
setInterval(() => {
  const now = performance.now();
  const cpu = process.cpuUsage(lastCpu);
  const late = now - last - TICK;
  const ran = (cpu.user + cpu.system) / 1000;
  maxBlockMs = Math.max(maxBlockMs, Math.min(late, ran));
  last = now;
  lastCpu = process.cpuUsage();
}, TICK).unref();

let held = 0;
let release: () => void = () => {};
let released = new Promise<void>((r) => (release = r));

async function application(environ: Environ, start: StartResponse): Promise<Uint8Array[]> {
  const input = environ['wsgi.input'];
  const path = String(environ.PATH_INFO);
  let answer: string;
  if (path === '/readline') {
    let lines = 0;
    let bytes = 0;
    for (let l = await input.readline(); l.length > 0; l = await input.readline()) {
      lines++;
      bytes += l.length;
    }
    answer = `${lines} ${bytes}`;
  } else {
    if (path === '/hold') {
      held++;
      await released;
    }
    answer = String((await input.read()).length);
  }
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [new TextEncoder().encode(answer)];
}

const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'reset') {
    lag.reset();
    maxBlockMs = 0;
    process.send!({ ok: true });
  } else if (m.cmd === 'stats') {
    // Twice: what the first collection frees can hold more (weak callbacks, finalizers).
    gc?.();
    gc?.();
    const u = process.memoryUsage();
    process.send!({ maxLagMs: lag.max / 1e6, maxBlockMs, heap: u.heapUsed + u.arrayBuffers, held });
  } else if (m.cmd === 'release') {
    release();
    released = new Promise<void>((r) => (release = r));
    held = 0;
    process.send!({ ok: true });
  }
});

const handle =
  door === 'uwsgi'
    ? await serveUwsgi(application, { host: '127.0.0.1', port: 0 })
    : await serve(application, { engine: door === 'node' ? 'node' : 'net', host: '127.0.0.1', port: 0 });
process.stdout.write(`port ${handle.port}\n`);
// SIGINT: exit normally (so that --cpu-prof, when profiling this server by hand, writes its profile).
process.on('SIGINT', () => process.exit(0));
