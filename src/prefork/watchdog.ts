// The worker's side of the heartbeat. The main thread ticks a shared clock and records the request
// that most recently entered the application; a small watchdog thread watches the clock. When the
// event loop has not turned for --timeout (a synchronous loop, a blocking call), the thread writes
// what the worker is stuck in (method, path, elapsed, pid) to the error log on its own, because
// the blocked main thread cannot; the master, which sees the IPC heartbeats stop, then kills the
// worker and starts a replacement. A slow or streaming response keeps the loop turning and is
// never reported.
import { Worker } from 'node:worker_threads';
import type { Environ } from '../spec.js';

const TEXT = 512;
// Float64 slots: 0 last tick, 1 start of the request recorded in the text, 2 in-flight count, 3 token.
const F = 4;

const THREAD = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { sab, timeoutMs, intervalMs, fd, pid, timeoutSetting } = workerData;
const f = new Float64Array(sab, 0, ${F});
const len = new Int32Array(sab, ${F * 8}, 1);
const text = new Uint8Array(sab, ${F * 8 + 4}, ${TEXT});
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const decoder = new TextDecoder();
let reported = false;
// Time this thread itself was not running (it woke more than an interval late): the whole process was
// stopped or starved (Ctrl-Z, a cgroup freezer, docker pause, a paused VM, a host out of CPU), so the
// event loop lost the same time and is not to blame for it. Counted until the loop ticks again.
let lastTick = f[0];
let lost = 0;
let before = Date.now();
for (;;) {
  Atomics.wait(sleeper, 0, 0, intervalMs);
  const now = Date.now();
  const late = now - before - intervalMs;
  before = now;
  const tick = f[0];
  if (tick !== lastTick) { lastTick = tick; lost = 0; }
  if (late > intervalMs) lost += late;
  const age = now - tick - lost;
  if (age <= timeoutMs) { reported = false; continue; }
  if (reported) continue;
  reported = true;
  const started = f[1];
  const what = started > 0
    ? 'the last request to enter the application, still in flight: ' + decoder.decode(text.subarray(0, Atomics.load(len, 0))) +
      ' (started ' + ((now - started) / 1000).toFixed(1) + ' s ago)'
    : 'no request was in the application (blocked in a timer, an event handler or module code)';
  const line = '[' + new Date(now).toISOString() + '] [' + pid + '] [CRITICAL] WORKER TIMEOUT (pid ' + pid + '): its event loop has not turned for ' +
    (age / 1000).toFixed(1) + ' s (setting timeout = ' + timeoutSetting + ' s); ' + what + '; requests in flight: ' + f[2] +
    '. Synchronous code is blocking it (a busy loop, a blocking call, a huge JSON.parse); the master logs its JavaScript stack next.\\n';
  try { writeSync(fd, line); } catch {}
}
`;

/** Writes `value` (a native string; anything else as String(value)) as UTF-8 at `at`, cut at TEXT bytes; returns the end. */
function put(t: Uint8Array, at: number, value: unknown): number {
  if (value === undefined || value === null) return at;
  const s = typeof value === 'string' ? value : String(value);
  for (let i = 0; i < s.length && at < TEXT; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) t[at++] = c;
    else if (c < 0x800) {
      if (at + 2 > TEXT) break;
      t[at++] = 0xc0 | (c >> 6);
      t[at++] = 0x80 | (c & 0x3f);
    } else {
      // Not in a native string (latin-1 only); a lone surrogate or more: one replacement char.
      if (at + 3 > TEXT) break;
      t[at++] = 0xef;
      t[at++] = 0xbf;
      t[at++] = 0xbd;
    }
  }
  return at;
}

interface Live {
  environ: Environ;
  started: number;
}

export class Board {
  private readonly f: Float64Array;
  private readonly len: Int32Array;
  private readonly text: Uint8Array;
  private next = 1;
  private inflight = 0;
  /**
   * Every request in the application, in the order they entered it (a Map keeps insertion order), once
   * there are two or more. A request alone in the application (the usual case: a synchronous app, one
   * request at a time) is only `solo`: a Map set and delete per request were most of the board's cost.
   */
  private readonly live = new Map<number, Live>();
  private solo = 0;
  private soloEnviron: Environ | null = null;
  private soloStarted = 0;

  constructor(readonly sab = new SharedArrayBuffer(F * 8 + 4 + TEXT)) {
    this.f = new Float64Array(sab, 0, F);
    this.len = new Int32Array(sab, F * 8, 1);
    this.text = new Uint8Array(sab, F * 8 + 4, TEXT);
    this.tick();
  }

  tick(): void {
    this.f[0] = Date.now();
  }

  begin(environ: Environ): number {
    const token = this.next++;
    const started = Date.now();
    if (this.inflight === 0) {
      this.solo = token;
      this.soloEnviron = environ;
      this.soloStarted = started;
    } else {
      if (this.solo !== 0) {
        // Not alone any more: the one in the application joins the Map first, keeping the order.
        this.live.set(this.solo, { environ: this.soloEnviron!, started: this.soloStarted });
        this.solo = 0;
        this.soloEnviron = null;
      }
      this.live.set(token, { environ, started });
    }
    this.show(token, environ, started);
    this.f[2] = ++this.inflight;
    return token;
  }

  end(token: number): void {
    if (token === this.solo) {
      this.solo = 0;
      this.soloEnviron = null;
    } else this.live.delete(token);
    this.f[2] = --this.inflight;
    if (this.f[3] !== token) return;
    // The request on the board is done, but older ones may still be in the application (one blocked in
    // wsgi.input.read() while a newer one finished): show the newest of those instead of "none".
    if (this.live.size === 0) {
      // The usual case, one request at a time: nothing older to show (and no Map iterator made).
      this.f[1] = 0;
      return;
    }
    let last: [number, Live] | undefined;
    for (const entry of this.live) last = entry;
    if (last) this.show(last[0], last[1].environ, last[1].started);
    else this.f[1] = 0;
  }

  /** Writes a request on the board, byte by byte (UTF-8), no string built: this runs for every request. */
  private show(token: number, environ: Environ, started: number): void {
    const t = this.text;
    let n = put(t, 0, environ.REQUEST_METHOD);
    if (n < TEXT) t[n++] = 32;
    n = put(t, n, environ.SCRIPT_NAME);
    n = put(t, n, environ.PATH_INFO);
    const q = environ.QUERY_STRING;
    if (typeof q === 'string' && q.length > 0) {
      if (n < TEXT) t[n++] = 63;
      n = put(t, n, q);
    }
    Atomics.store(this.len, 0, n);
    this.f[1] = started;
    this.f[3] = token;
  }

  get inFlight(): number {
    return this.inflight;
  }
}

/** Starts the watchdog thread (unref'd: it never keeps the worker alive). */
export function startWatchdog(board: Board, timeoutS: number, logFd: number): Worker {
  const timeoutMs = timeoutS * 1000;
  const w = new Worker(THREAD, {
    eval: true,
    workerData: { sab: board.sab, timeoutMs, intervalMs: Math.max(20, Math.min(250, timeoutMs / 8)), fd: logFd, pid: process.pid, timeoutSetting: timeoutS },
    stdout: false,
    stderr: false,
    // The thread needs no loader: plain CommonJS.
    execArgv: [],
  });
  w.unref();
  return w;
}
