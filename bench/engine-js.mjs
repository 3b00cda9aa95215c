// Instructions per request of the net engine's own JavaScript, with no socket and no kernel: the door is fed
// a hello request from an in-process stand-in for the socket (parse, framing, environ, the runner, the
// response head) and callgrind counts the instructions. `npm run bench:instructions` counts whole servers,
// where the kernel and Node's streams are most of every request; this isolates the part tsgi writes, so a
// change of a few percent in it shows (repeated runs: within ~5%, from when the collector runs; run a comparison twice).
// The stand-in hands each read over as a 'data' event (the engine's path for a socket it cannot read into its
// own buffer, src/http/net/reads.ts): what node's socket costs per read either way is not counted here.
//
//   node bench/engine-js.mjs [--worker] [DIST]      (npm run build first; valgrind: apt-get install valgrind)
//
// --worker wraps the application as a prefork worker does (the watchdog board's begin and end per request).
// DIST is a built dist/ folder (default this checkout's), e.g. another commit's worktree to compare with.
// Each count is the difference between two runs, 10,000 and 40,000 requests after the same 30,000 warm-up
// (the JIT settles), divided by 30,000: the start-up and the warm-up cancel out.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(import.meta.url);
const WARMUP = 30_000;

if (process.env.TSGI_ENGINE_JS_N) {
  // The child, under valgrind: serve WARMUP + N requests and exit.
  const dist = process.env.TSGI_ENGINE_JS_DIST;
  const { NetDoor } = await import(pathToFileURL(path.join(dist, 'http/net/door.js')).href);
  let app = (_environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return ['Hello, World!\n'];
  };
  if (process.env.TSGI_ENGINE_JS_WORKER) {
    const { instrument } = await import(pathToFileURL(path.join(dist, 'prefork/instrument.js')).href);
    const { Board } = await import(pathToFileURL(path.join(dist, 'prefork/watchdog.js')).href);
    const board = new Board();
    app = instrument(app, { begin: (e) => board.begin(e), end: (t) => board.end(t) }, false);
  }
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const door = new NetDoor(app, { log: silent });
  door.bound('127.0.0.1', 8000);
  // What the connection uses of a net.Socket, with writes counted and dropped.
  class StandIn extends EventEmitter {
    remoteAddress = '127.0.0.1';
    remotePort = 40000;
    localAddress = '127.0.0.1';
    localPort = 8000;
    destroyed = false;
    writableNeedDrain = false;
    writableLength = 0;
    writableEnded = false;
    bytesWritten = 0;
    write(data) {
      this.bytesWritten += data.length;
      return true;
    }
    cork() {}
    uncork() {}
    isPaused() {
      return false;
    }
    resume() {}
    pause() {}
    end() {}
    destroy() {}
  }
  const socket = new StandIn();
  door.accept(socket);
  const request = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n', 'latin1');
  const n = WARMUP + Number(process.env.TSGI_ENGINE_JS_N);
  for (let i = 0; i < n; i++) {
    // A new buffer per read, as the socket hands over.
    const chunk = Buffer.allocUnsafe(request.length);
    request.copy(chunk);
    socket.emit('data', chunk);
  }
  if (socket.bytesWritten < n * 100) throw new Error(`only ${socket.bytesWritten} bytes answered`);
  process.exit(0);
}

const args = process.argv.slice(2);
const worker = args.includes('--worker');
const dist = path.resolve(args.find((a) => !a.startsWith('--')) ?? path.join(path.dirname(here), '..', 'dist'));

function count(n) {
  const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', here], {
    env: { ...process.env, TSGI_ENGINE_JS_N: String(n), TSGI_ENGINE_JS_DIST: dist, ...(worker ? { TSGI_ENGINE_JS_WORKER: '1' } : {}) },
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`valgrind: ${r.error.message} (apt-get install valgrind)`);
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`the counted run failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  return Number(m[1]);
}

const a = count(10_000);
const b = count(40_000);
process.stdout.write(
  `${dist}${worker ? ' (through the worker wrapper)' : ''}: ${Math.round((b - a) / 30_000)} instructions per hello request in the net engine's JavaScript (Node ${process.version})\n`,
);
