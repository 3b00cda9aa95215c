// The master ("arbiter", after gunicorn's arbiter.py): it holds the listening sockets, forks the
// workers, and keeps their number right. Signal handlers and child events only queue; one loop
// takes them in order and acts, then checks heartbeats and deadlines, then adjusts the workers:
//
//   TERM      graceful stop: the master closes its copies of the sockets and every worker closes
//             its own at once (so a new connection is refused, never left hanging), in-flight
//             requests get --graceful-timeout, idle keep-alive connections close now; exit 0.
//   INT, QUIT quick stop (a second INT exits at once).
//   HUP       reload: settings re-read, new workers (fresh application code) start, and only when
//             they are all ready are the old ones asked to drain. The sockets never close. A new
//             worker that fails to boot cancels the reload and the old workers keep serving.
//   TTIN/TTOU one worker more / less.   USR1  reopen the log files (master and workers).
//
// Worker life: booting -> ready -> (retiring: asked for a replacement) -> draining -> exited.
// A worker that exits before it was ready failed to boot: at startup the master stops with the
// application's own error instead of looping (F19); later, it backs off and keeps the others.
import { fork, type ChildProcess } from 'node:child_process';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Settings } from '../settings/index.js';
import { toOption } from '../settings/defaults.js';
import type { ServerLog } from './log.js';
import { closeAll, type Listener } from '../server/sockets.js';
import type { FromWorker, SocketInfo, ToWorker, WorkerMetrics } from './messages.js';
import { addMetrics, emptyMetrics, renderMetrics } from './metrics.js';
import type { Reloader } from './reloader.js';
import { Notifier } from './notify.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { existsSync, readFileSync, unlinkSync, writeFileSync } = process.getBuiltinModule('node:fs');

type State = 'booting' | 'ready' | 'retiring' | 'draining';

interface Worker {
  child: ChildProcess;
  pid: number;
  /** Settings generation it was started with (bumped by every reload). */
  gen: number;
  /** Spawn order, to pick the oldest. */
  age: number;
  state: State;
  started: number;
  lastBeat: number;
  busy: number;
  metrics?: WorkerMetrics;
  bootError?: string;
  /** Why the master is killing it, for the exit log line. */
  killReason?: string;
  /** When a draining worker must be gone (then SIGKILL). */
  deadline?: number;
  /** Heartbeat lost: when it gets SIGKILL (after the watchdog had a moment to log). */
  killAt?: number;
  /** Where its inspector opens on SIGUSR1, to read a stuck worker's stack (stack.ts). */
  inspectPort?: number;
  /** Reading its stack: the kill waits for this (bounded by STACK_BUDGET_MS). */
  capturing?: boolean;
}

/** How long the master tries to read a stuck worker's stack before killing it anyway. */
const STACK_BUDGET_MS = 3000;

/**
 * The master's clock for heartbeats and deadlines, in ms: monotonic, so a wall-clock jump (NTP, a VM
 * restored from a snapshot) never looks like a silent worker. process.hrtime.bigint, not performance.now():
 * the first read of the `performance` global loads node:perf_hooks and its ten internal modules, 1.5 MB
 * of the master's memory for one clock.
 */
const clock = (): number => Number(process.hrtime.bigint()) / 1e6;

/** A loop turn this much later than its sleep means the master itself stalled (the loop's own work is ~ms). */
const STALL_MS = 2000;

type Event =
  | { kind: 'signal'; signal: NodeJS.Signals }
  | { kind: 'message'; w: Worker; msg: FromWorker }
  | { kind: 'exit'; w: Worker; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'reload'; why: string };

export interface ArbiterOptions {
  app: string;
  settings: Settings;
  listeners: Listener[];
  log: ServerLog;
  /** Re-reads the settings (config file, environment, command line) for SIGHUP. */
  reread: () => Promise<Settings>;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1'];

/** A worker exit in words. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') return 'killed by SIGKILL — out of memory? (the kernel OOM killer sends SIGKILL; see dmesg)';
  if (signal === 'SIGSEGV' || signal === 'SIGBUS' || signal === 'SIGILL') return `crashed (${signal}) — a native module fault?`;
  if (signal === 'SIGABRT') return 'aborted (SIGABRT) — a fatal V8 error, e.g. heap out of memory (see the lines above)';
  if (signal) return `killed by ${signal}`;
  if (code === 134) return 'exited with code 134 — heap out of memory? (raise --max-old-space-size or set --max-rss)';
  if (code === 0) return 'exited with code 0 without being asked';
  return `exited with code ${code} — an uncaught exception? (see the lines above)`;
}

function workerScript(): string {
  const js = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  if (existsSync(js)) return js;
  return fileURLToPath(new URL('./worker-main.ts', import.meta.url));
}

export class Arbiter {
  private settings: Settings;
  private readonly listeners: Listener[];
  private readonly log: ServerLog;
  private readonly workers = new Map<number, Worker>();
  private queue: Event[] = [];
  private wake: (() => void) | null = null;
  private gen = 1;
  private spawned = 0;
  private target: number;
  private phase: 'starting' | 'running' | 'stopping' = 'starting';
  private graceful = true;
  private intCount = 0;
  private exitCode: number | null = null;
  /** After a boot failure past startup: no spawn before this time. */
  private backoffUntil = 0;
  private backoffMs = 0;
  private reloading = false;
  private readonly notify: Notifier;
  private readonly retired = emptyMetrics();
  private readonly restarts: Record<string, number> = {};
  private metricsServer: http.Server | null = null;
  private reloader: Reloader | null = null;
  private readonly script = workerScript();

  constructor(private readonly opts: ArbiterOptions) {
    this.settings = opts.settings;
    this.listeners = opts.listeners;
    this.log = opts.log;
    this.target = opts.settings.workers;
    this.notify = new Notifier(opts.log);
  }

  private serving(): string {
    const n = [...this.workers.values()].filter((w) => w.state === 'ready').length;
    return `Serving ${this.listeners.map((l) => l.label).join(', ')} with ${n} worker${n === 1 ? '' : 's'}`;
  }

  private push(e: Event): void {
    this.queue.push(e);
    this.wake?.();
  }

  /** Runs until stopped; resolves with the exit code. */
  async run(): Promise<number> {
    const handlers = SIGNALS.map((signal) => {
      const h = () => this.push({ kind: 'signal', signal });
      process.on(signal, h);
      return [signal, h] as const;
    });
    this.writePidfile();
    if (this.settings.metricsBind) await this.startMetrics();
    if (this.settings.reload) await this.startReloader();
    this.log.info(`Starting tsgi master (pid ${process.pid}) with ${this.target} worker${this.target === 1 ? '' : 's'}`);
    let lastTick = clock();
    while (this.exitCode === null) {
      this.manage();
      const tick = this.tickMs();
      await this.sleep(tick);
      // Heartbeats that reached the IPC pipe while the master slept are read in the poll phase, after
      // the timer that woke it: let that phase run once before judging anybody by them.
      await new Promise((resolve) => setImmediate(resolve));
      for (let e = this.queue.shift(); e; e = this.queue.shift()) this.handle(e);
      if (this.exitCode !== null) break;
      lastTick = this.noticeStall(lastTick, tick);
      this.murder();
      if (this.phase === 'stopping' && this.workers.size === 0) {
        this.log.info('Stopped');
        this.exitCode = this.exitCode ?? 0;
      }
    }
    for (const [signal, h] of handlers) process.off(signal, h);
    this.cleanup();
    return this.exitCode;
  }

  /**
   * A master that was itself not running (SIGSTOP, a cgroup freezer, `docker pause`, a host under
   * swap) must not blame its workers for the heartbeats it did not read: time it lost is added to every
   * worker's clocks, so each gets a fresh window from now. Returns the time of this tick.
   */
  private noticeStall(lastTick: number, tick: number): number {
    const now = clock();
    const lost = now - lastTick - tick;
    if (lost > STALL_MS) {
      this.log.warn(`The master was not running for ${(lost / 1000).toFixed(1)} s (stopped or frozen?): heartbeats and deadlines restart from now`);
      for (const w of this.workers.values()) {
        w.lastBeat = Math.max(w.lastBeat + lost, now);
        w.started += lost;
        if (w.deadline !== undefined) w.deadline += lost;
        if (w.killAt !== undefined && Number.isFinite(w.killAt)) w.killAt += lost;
      }
    }
    return now;
  }

  private tickMs(): number {
    const t = this.settings.timeout;
    return t > 0 ? Math.max(50, Math.min(1000, toOption('timeout', t) / 4)) : 1000;
  }

  private sleep(ms: number): Promise<void> {
    if (this.queue.length) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  // ------------------------------------------------------------------ events

  private handle(e: Event): void {
    switch (e.kind) {
      case 'signal':
        return this.onSignal(e.signal);
      case 'message':
        return this.onMessage(e.w, e.msg);
      case 'exit':
        return this.onExit(e.w, e.code, e.signal);
      case 'reload':
        return void this.reload(e.why);
    }
  }

  private onSignal(signal: NodeJS.Signals): void {
    switch (signal) {
      case 'SIGTERM':
        return this.stop(true, 'SIGTERM');
      case 'SIGINT':
      case 'SIGQUIT':
        if (signal === 'SIGINT' && ++this.intCount > 1) {
          this.log.warn('Second SIGINT: exiting now');
          for (const w of this.workers.values()) w.child.kill('SIGKILL');
          this.exitCode = 1;
          return;
        }
        return this.stop(false, signal);
      case 'SIGHUP':
        return void this.reload('SIGHUP');
      case 'SIGTTIN':
        this.target++;
        this.log.info(`SIGTTIN: ${this.target} workers`);
        return;
      case 'SIGTTOU':
        if (this.target > 1) this.target--;
        this.log.info(`SIGTTOU: ${this.target} worker${this.target === 1 ? '' : 's'}`);
        return;
      case 'SIGUSR1':
        this.log.info('SIGUSR1: reopening the log files');
        try {
          this.log.reopen();
        } catch (err) {
          this.log.error((err as Error).message);
        }
        for (const w of this.workers.values()) this.send(w, { t: 'reopen' });
        return;
    }
  }

  private onMessage(w: Worker, msg: FromWorker): void {
    if (!this.workers.has(w.pid)) return;
    switch (msg.t) {
      case 'hb':
        w.lastBeat = clock();
        w.busy = msg.busy;
        if (msg.metrics) w.metrics = msg.metrics;
        return;
      case 'ready':
        w.lastBeat = clock();
        w.inspectPort = msg.inspectPort;
        if (w.state === 'booting') w.state = 'ready';
        this.log.debug(`Worker ${w.pid} is ready`);
        if (this.phase === 'starting') {
          this.phase = 'running';
          for (const l of this.listeners) this.log.info(`Listening at: ${l.label} (pid ${process.pid})`);
          this.notify.ready(this.serving());
          if (this.settings.reload) {
            this.log.warn(`--reload is for development; in production run: tsgi ${this.opts.app} --workers ${Math.max(2, this.target)} (without --reload)`);
          }
        }
        this.backoffMs = 0;
        return;
      case 'boot-error':
        w.bootError = msg.message;
        return;
      case 'retire':
        if (w.state === 'ready' || w.state === 'booting') {
          w.state = 'retiring';
          this.bump(msg.reason.includes('max-rss') ? 'max-rss' : 'max-requests');
          this.log.info(`Worker ${w.pid}: ${msg.reason}; starting its replacement`);
        }
        return;
    }
  }

  private onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    this.workers.delete(w.pid);
    if (w.metrics) addMetrics(this.retired, w.metrics);
    if (w.state === 'draining') {
      if (w.killReason) this.log.warn(`Worker ${w.pid} ${w.killReason}`);
      else this.log.info(`Worker ${w.pid} exited`);
      return;
    }
    if (w.state === 'booting') return this.bootFailed(w, w.bootError ?? `the worker ${describeExit(code, signal)} before it was ready`);
    if (this.phase === 'stopping') return;
    if (w.killReason) {
      this.log.error(`Worker ${w.pid} ${w.killReason}; starting a replacement`);
      return;
    }
    this.bump('crash');
    this.log.error(`Worker ${w.pid} ${describeExit(code, signal)}; starting a replacement`);
  }

  private bootFailed(w: Worker, message: string): void {
    if (this.phase === 'stopping') return;
    if (this.phase === 'starting') {
      // F19: the application does not load. Stop with its own error rather than loop.
      this.log.debug(`Worker ${w.pid} failed to boot`);
      process.stderr.write(
        `tsgi: ${message}\n` +
          `tsgi: the worker could not start the application, so the master stops here (it does not retry a failing boot). ` +
          `Fix the error above; \`tsgi ${this.opts.app} --check-config\` runs the same checks without serving.\n`,
      );
      this.halt(1);
      return;
    }
    // A reload whose new code fails: cancel it and keep the workers that run the old code.
    const old = [...this.workers.values()].filter((x) => x.gen < w.gen && x.state !== 'draining');
    if (w.gen === this.gen && old.length > 0) {
      this.log.error(`Reload failed, keeping the ${old.length} running worker${old.length === 1 ? '' : 's'}: ${message}`);
      for (const x of this.workers.values()) {
        if (x.gen === this.gen && x.state === 'booting') this.kill(x, 'SIGKILL', 'was stopped: the reload was cancelled');
      }
      for (const x of old) x.gen = this.gen;
      this.reloading = false;
      this.notify.ready(`${this.serving()} (the last reload failed)`);
      return;
    }
    this.backoffMs = Math.min(30_000, Math.max(1000, this.backoffMs * 2));
    this.backoffUntil = clock() + this.backoffMs;
    this.bump('boot-failure');
    this.log.error(`A new worker failed to boot (next try in ${this.backoffMs / 1000} s): ${message}`);
  }

  // ------------------------------------------------------------------ actions

  private bump(reason: string): void {
    this.restarts[reason] = (this.restarts[reason] ?? 0) + 1;
  }

  private send(w: Worker, msg: ToWorker, handle?: object): void {
    if (!w.child.connected) return;
    try {
      w.child.send(msg, handle as never, undefined, () => {});
    } catch {
      /* the worker is exiting */
    }
  }

  private kill(w: Worker, signal: NodeJS.Signals, reason: string): void {
    w.killReason ??= reason;
    try {
      w.child.kill(signal);
    } catch {
      /* gone */
    }
  }

  private spawn(): void {
    const s = this.settings;
    const jitter = s.maxRequests > 0 && s.maxRequestsJitter > 0 ? Math.floor(Math.random() * (s.maxRequestsJitter + 1)) : 0;
    const child = fork(this.script, [], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: process.env,
    });
    const now = clock();
    const w: Worker = { child, pid: child.pid!, gen: this.gen, age: this.spawned++, state: 'booting', started: now, lastBeat: now, busy: 0 };
    this.workers.set(w.pid, w);
    child.on('message', (msg: FromWorker) => this.push({ kind: 'message', w, msg }));
    child.once('exit', (code, signal) => this.push({ kind: 'exit', w, code, signal }));
    child.on('error', () => {});
    const sockets: SocketInfo[] = this.listeners.map((l, index) => ({ index, protocol: l.bind.protocol, label: l.label, kind: l.bind.kind }));
    this.send(w, {
      t: 'init',
      app: this.opts.app,
      settings: s,
      sockets,
      maxRequests: s.maxRequests > 0 ? s.maxRequests + jitter : 0,
      multiprocess: this.target > 1,
      generation: this.gen,
    });
    this.listeners.forEach((l, index) => this.send(w, { t: 'socket', index }, l.handle));
    this.log.info(`Booting worker with pid ${w.pid}`);
  }

  private drain(w: Worker, why: string): void {
    if (w.state === 'draining') return;
    w.state = 'draining';
    w.deadline = clock() + toOption('gracefulTimeout', this.settings.gracefulTimeout) + 2000;
    this.log.debug(`Worker ${w.pid}: draining (${why})`);
    this.send(w, { t: 'stop', graceful: true });
  }

  /** Brings the workers toward the target: spawn the missing, drain the superseded and the extra. */
  private manage(): void {
    if (this.phase === 'stopping' || this.exitCode !== null) return;
    const all = [...this.workers.values()];
    const current = all.filter((w) => w.gen === this.gen && (w.state === 'booting' || w.state === 'ready'));
    const ready = current.filter((w) => w.state === 'ready');
    const superseded = all.filter((w) => (w.gen < this.gen || w.state === 'retiring') && w.state !== 'draining');
    if (current.length < this.target && clock() >= this.backoffUntil) {
      for (let i = current.length; i < this.target; i++) this.spawn();
    }
    // New workers first; the ones they replace drain only once enough of them are ready.
    if (superseded.length > 0 && ready.length >= this.target) {
      for (const w of superseded) this.drain(w, w.state === 'retiring' ? 'replaced' : 'reload');
      if (this.reloading) {
        this.reloading = false;
        this.log.info(`Reload complete: ${ready.length} new worker${ready.length === 1 ? '' : 's'}`);
        this.notify.ready(this.serving());
      }
    }
    if (ready.length > this.target && superseded.length === 0) {
      const extra = ready.sort((a, b) => a.age - b.age).slice(0, ready.length - this.target);
      for (const w of extra) this.drain(w, 'SIGTTOU');
    }
  }

  /** Heartbeats and deadlines. */
  private murder(): void {
    const now = clock();
    const timeoutMs = toOption('timeout', this.settings.timeout);
    const bootMs = Math.max(60_000, timeoutMs);
    for (const w of this.workers.values()) {
      if (w.killAt !== undefined) {
        if (now >= w.killAt && !w.capturing) {
          w.killAt = Infinity;
          this.kill(w, 'SIGKILL', w.killReason ?? 'was killed');
        }
        continue;
      }
      if (w.state === 'draining') {
        if (w.deadline !== undefined && now > w.deadline) {
          this.kill(w, 'SIGKILL', `did not stop within the graceful timeout (${this.settings.gracefulTimeout} s): killed`);
          w.deadline = undefined;
        }
        continue;
      }
      if (w.state === 'booting') {
        if (now - w.started > bootMs) this.kill(w, 'SIGKILL', `did not become ready within ${bootMs / 1000} s`);
        continue;
      }
      if (timeoutMs > 0 && now - w.lastBeat > timeoutMs) {
        const secs = ((now - w.lastBeat) / 1000).toFixed(1);
        this.log.critical(`WORKER TIMEOUT (pid ${w.pid}): no heartbeat for ${secs} s (setting timeout = ${this.settings.timeout} s); killing it`);
        w.killReason = `was killed after its event loop stopped answering for ${secs} s (WORKER TIMEOUT)`;
        this.bump('timeout');
        // The worker's watchdog thread is logging the request it is stuck in; give it a moment,
        // and read the JavaScript stack it is stuck in meanwhile.
        w.killAt = now + 1500;
        if (w.inspectPort !== undefined) this.logStack(w, w.inspectPort);
      }
    }
  }

  private logStack(w: Worker, port: number): void {
    // captureStack is bounded by its own AbortSignal.timeout(STACK_BUDGET_MS). Its module (an inspector
    // client: node:http and ws) is loaded only now: a master that never meets a stuck worker never holds it.
    w.capturing = true;
    import('./stack.js')
      .then(({ captureStack, formatFrames }) => captureStack(w.pid, port, STACK_BUDGET_MS).then(formatFrames))
      .then(
        (stack) => this.log.critical(`WORKER TIMEOUT (pid ${w.pid}): JavaScript stack of its main thread, innermost first:\n${stack}`),
        (err: Error) =>
          this.log.critical(
            `WORKER TIMEOUT (pid ${w.pid}): its JavaScript stack could not be read (${err.message}): the thread is blocked inside native code ` +
              `(a synchronous read, Atomics.wait, a native addon), or the application listens for SIGUSR1, or port ${port} was taken`,
          ),
      )
      .finally(() => (w.capturing = false));
  }

  private stop(graceful: boolean, signal: string): void {
    // Already stopping at least this fast: nothing more to do (INT after TERM escalates).
    if (this.phase === 'stopping' && (graceful || !this.graceful)) return;
    this.phase = 'stopping';
    this.graceful = graceful;
    this.notify.stopping(`Stopping (${signal})`);
    if (graceful) this.log.info(`${signal}: shutting down gracefully (up to ${this.settings.gracefulTimeout} s)`);
    else this.log.info(`${signal}: quick shutdown`);
    this.reloader?.close();
    // The master's copies first: once the workers have closed theirs, the kernel refuses new connections.
    closeAll(this.listeners);
    for (const w of this.workers.values()) {
      if (graceful) this.drain(w, signal);
      else {
        w.state = 'draining';
        w.deadline = clock() + 2000;
        this.send(w, { t: 'stop', graceful: false });
      }
    }
  }

  private halt(code: number): void {
    this.phase = 'stopping';
    for (const w of this.workers.values()) this.kill(w, 'SIGKILL', 'stopped');
    this.exitCode = code;
  }

  private async reload(why: string): Promise<void> {
    if (this.phase !== 'running') return;
    let next: Settings;
    try {
      next = await this.opts.reread();
    } catch (err) {
      this.log.error(`${why}: the settings are invalid, not reloading: ${(err as Error).message}`);
      return;
    }
    if (JSON.stringify(next.bind) !== JSON.stringify(this.settings.bind)) {
      this.log.warn(`${why}: bind changed; new addresses need a restart (keeping ${this.listeners.map((l) => l.label).join(', ')})`);
      next.bind = this.settings.bind;
    }
    if (this.phase !== 'running') return; // stopped while the settings were re-read
    if (this.settings.workers !== next.workers) this.target = next.workers;
    this.settings = next;
    this.gen++;
    // Reloads that arrive while one is still booting coalesce: a worker that never got ready has served
    // nobody, and its code is already older than what this reload loads, so it stops now instead of
    // booting a generation that would be drained at once (ten quick HUPs used to boot ten generations).
    for (const w of this.workers.values()) {
      if (w.state === 'booting' && w.gen < this.gen) {
        w.state = 'draining';
        this.kill(w, 'SIGKILL', 'was stopped before it was ready: a newer reload superseded it');
      }
    }
    this.reloading = true;
    this.bump('reload');
    this.notify.reloading(`Reloading (${why})`);
    this.log.info(`${why}: reloading: starting ${this.target} new worker${this.target === 1 ? '' : 's'}; the old ones drain once these are ready`);
    this.wake?.();
  }

  // ------------------------------------------------------------------ extras

  private async startReloader(): Promise<void> {
    // Loaded only with --reload, as node:http for --metrics-bind: the master of a deployment holds no more
    // code than it runs (docs/deploy-process.md, "Memory").
    const [{ watchFiles }, { parseAppSpec }] = await Promise.all([import('./reloader.js'), import('../server/load.js')]);
    // The working directory, and the application's own folder when it lies outside it (`tsgi
    // ../app/main.ts` must reload when main.ts changes).
    const roots = [process.cwd()];
    const appDir = path.dirname(path.resolve(parseAppSpec(this.opts.app).file));
    if (path.relative(process.cwd(), appDir).startsWith('..')) roots.push(appDir);
    const watchers = roots.map((root) =>
      watchFiles(root, this.settings.reloadInclude, this.settings.reloadExclude, (files) => {
        const shown = files.slice(0, 3).join(', ') + (files.length > 3 ? ` and ${files.length - 3} more` : '');
        this.push({ kind: 'reload', why: `${shown} changed` });
      }),
    );
    this.log.info(`--reload: watching ${roots.join(' and ')}`);
    this.reloader = { close: () => watchers.forEach((w) => w.close()) };
  }

  private async startMetrics(): Promise<void> {
    const text = this.settings.metricsBind;
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
    const host = m ? (m[1] ?? (m[2] || '127.0.0.1')) : '127.0.0.1';
    const port = m ? Number(m[3]) : Number(text);
    // node:http only for --metrics-bind, and not as an ES import, which would load undici too
    // (src/http/node/server.ts says why).
    const server = process.getBuiltinModule('node:http').createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found: the metrics are at /metrics\n');
        return;
      }
      const live = [...this.workers.values()].filter((w) => w.state !== 'booting');
      const body = renderMetrics({
        live: live.map((w) => w.metrics).filter((x): x is WorkerMetrics => x !== undefined),
        retired: this.retired,
        busy: live.filter((w) => w.busy > 0).length,
        idle: live.filter((w) => w.busy === 0).length,
        restarts: this.restarts,
      });
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`--metrics-bind ${JSON.stringify(text)}: ${(err as Error).message}`)));
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as { port: number };
    this.log.info(`Metrics at: http://${host.includes(':') ? `[${host}]` : host}:${addr.port}/metrics`);
    this.metricsServer = server;
  }

  private writePidfile(): void {
    const file = this.settings.pidfile;
    if (!file) return;
    writeFileSync(file, `${process.pid}\n`);
  }

  private cleanup(): void {
    this.reloader?.close();
    this.metricsServer?.close();
    this.metricsServer?.closeAllConnections();
    closeAll(this.listeners);
    const file = this.settings.pidfile;
    if (file) {
      try {
        if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
      } catch {
        /* gone */
      }
    }
  }
}

/** Refuses a pidfile that names another live process. */
export function checkPidfile(file: string): void {
  if (!file || !existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale
  }
  throw new Error(`--pidfile: ${file} names pid ${pid}, which is running (another tsgi?); stop it or remove the file`);
}
