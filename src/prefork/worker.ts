// A worker process: loads the application (fresh code: each worker imports it anew, which is what
// makes SIGHUP reload code), listens on the sockets the master passes, serves, and reports to the
// master: "ready", a heartbeat from its event loop (with its counters), "retire" when max-requests or
// max-rss is reached. It exits when the master says stop, or when the master goes away.
import inspector from 'node:inspector';
import net from 'node:net';
import { LoadError, loadApp } from '../server/load.js';
import { errorPage } from '../middleware/error-page.js';
import type { Application, Environ } from '../spec.js';
import { AccessLog } from './access-log.js';
import { OPTION_DEFAULTS, toOption } from '../settings/defaults.js';
import { serveSocket, type Served } from './doors.js';
import { instrument, type RequestHooks } from './instrument.js';
import { openServerLog, type ServerLog } from './log.js';
import { BUCKETS, type FromWorker, type ToWorker, type WorkerMetrics } from './messages.js';
import { Board, startWatchdog } from './watchdog.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { readFileSync } = process.getBuiltinModule('node:fs');

type Init = Extract<ToWorker, { t: 'init' }>;

/** Exit codes the master reads. */
export const EXIT_BOOT_ERROR = 4;

function send(msg: FromWorker): void {
  if (process.connected) process.send!(msg, undefined, undefined, () => {});
}

export function runWorker(): void {
  let init: Init | null = null;
  const handles = new Map<number, object>();
  let booting = false;
  const tryBoot = () => {
    if (booting || init === null || handles.size < init.sockets.length) return;
    booting = true;
    void boot(init, handles);
  };
  process.on('message', (msg: ToWorker, handle?: object) => {
    if (msg.t === 'init') init = msg;
    else if (msg.t === 'socket' && handle) handles.set(msg.index, handle);
    else control(msg);
    tryBoot();
  });
  // The master went away (killed, crashed): finish what is in flight and leave (F17).
  process.on('disconnect', () => stopWorker(true, 'the master went away'));
  // A terminal's Ctrl-C reaches the whole process group: the master coordinates; a worker on its
  // own (master gone) stops as asked.
  process.on('SIGTERM', () => stopWorker(true, 'SIGTERM'));
  process.on('SIGINT', () => stopWorker(false, 'SIGINT'));
  process.on('SIGQUIT', () => stopWorker(false, 'SIGQUIT'));
  // No listener for SIGUSR1: it stays node's debug signal, which the master uses to read the stack of
  // a stuck worker (stack.ts). The master asks for log reopening over IPC.
  for (const sig of ['SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGWINCH'] as const) process.on(sig, () => {});
}

let log: ServerLog | null = null;
let accessLog: AccessLog | null = null;
const served: Served[] = [];
let stopping = false;

function control(msg: ToWorker): void {
  if (msg.t === 'stop') stopWorker(msg.graceful, msg.graceful ? 'asked to stop gracefully' : 'asked to stop now');
  else if (msg.t === 'reopen') reopenLogs();
}

function reopenLogs(): void {
  try {
    log?.reopen();
    accessLog?.reopen();
  } catch (err) {
    log?.error(`cannot reopen the logs: ${(err as Error).message}`);
  }
}

function stopWorker(graceful: boolean, why: string): void {
  if (stopping) {
    if (!graceful) process.exit(0);
    return;
  }
  stopping = true;
  const graceMs = initSettings ? toOption('gracefulTimeout', initSettings.gracefulTimeout) : OPTION_DEFAULTS.gracefulTimeout;
  log?.debug(`worker stopping (${why})`);
  // Every listening socket closes at once, so the kernel sends new connections to other workers
  // (or refuses them when the master has closed its copies too): none hangs on a draining worker.
  for (const s of served) s.stopAccepting();
  const bye = () => {
    accessLog?.close();
    process.exit(0);
  };
  if (!graceful) return bye();
  // Past the grace period the doors cut their connections; this is the backstop.
  setTimeout(bye, graceMs + 2000).unref();
  void Promise.all(served.map((s) => s.close())).then(bye, bye);
}

let initSettings: Init['settings'] | null = null;

async function boot(init: Init, handles: Map<number, object>): Promise<void> {
  const s = init.settings;
  initSettings = s;
  try {
    log = openServerLog(s.errorLog, s.logLevel);
  } catch (err) {
    send({ t: 'boot-error', message: (err as Error).message });
    process.exit(EXIT_BOOT_ERROR);
  }
  const board = new Board();
  const hbMs = s.timeout > 0 ? Math.max(50, Math.min(1000, toOption('timeout', s.timeout) / 4)) : 1000;
  if (s.timeout > 0) startWatchdog(board, s.timeout, log.fd);

  let app: Application;
  try {
    app = await loadApp(init.app);
    // Development mode: an application error shows its exception and stack to the developer.
    if (s.reload) app = errorPage({ enabled: true })(app);
    if (s.accessLog) accessLog = new AccessLog(s.accessLog, s.accessLogFormat);
  } catch (err) {
    const message = err instanceof LoadError ? err.message : ((err as Error).stack ?? String(err));
    send({ t: 'boot-error', message });
    // Let the message reach the master before leaving.
    setTimeout(() => process.exit(EXIT_BOOT_ERROR), 50);
    return;
  }

  const metrics: WorkerMetrics | null = s.metricsBind ? { statuses: {}, buckets: new Array(BUCKETS.length + 1).fill(0), durationSum: 0 } : null;
  let count = 0;
  let retired = false;
  const retire = (reason: string) => {
    if (retired || stopping) return;
    retired = true;
    log!.info(`${reason}: asking the master for a replacement (this worker finishes its requests first)`);
    send({ t: 'retire', reason });
  };
  const al = accessLog;
  const hooks: RequestHooks = {
    begin(environ: Environ) {
      if (init.maxRequests > 0 && ++count >= init.maxRequests) retire(`served ${count} requests (max-requests)`);
      return board.begin(environ);
    },
    end(token, environ, status, bytes, started) {
      board.end(token);
      if (al) al.log({ environ, status, bytes, time: started, duration: Date.now() - started });
      if (metrics) {
        const code = String(status);
        metrics.statuses[code] = (metrics.statuses[code] ?? 0) + 1;
        const secs = (Date.now() - started) / 1000;
        metrics.durationSum += secs;
        let i = BUCKETS.findIndex((b) => secs <= b);
        if (i === -1) i = BUCKETS.length;
        for (let j = i; j < metrics.buckets.length; j++) metrics.buckets[j]!++;
      }
    },
  };
  // Without an access log or metrics, only begin and end matter: the light wrapper.
  const wrapped = instrument(app, hooks, al !== null || metrics !== null);

  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (s.certfile || s.keyfile) {
    try {
      tls = { cert: readFileSync(s.certfile), key: readFileSync(s.keyfile) };
    } catch (err) {
      send({ t: 'boot-error', message: `--certfile/--keyfile: ${(err as Error).message}` });
      setTimeout(() => process.exit(EXIT_BOOT_ERROR), 50);
      return;
    }
  }
  try {
    for (const info of init.sockets) {
      served.push(
        await serveSocket(info.protocol, handles.get(info.index)!, {
          app: wrapped,
          settings: s,
          log,
          multiprocess: init.multiprocess,
          ...(tls ? { tls } : {}),
        }),
      );
    }
  } catch (err) {
    send({ t: 'boot-error', message: `cannot serve: ${(err as Error).message}` });
    setTimeout(() => process.exit(EXIT_BOOT_ERROR), 50);
    return;
  }

  const maxRssBytes = toOption('maxRss', s.maxRss);
  const hb = () => {
    board.tick();
    if (maxRssBytes > 0 && process.memoryUsage.rss() > maxRssBytes) retire(`resident memory above ${s.maxRss} MiB (max-rss)`);
    send(metrics ? { t: 'hb', busy: board.inFlight, metrics } : { t: 'hb', busy: board.inFlight });
  };
  setInterval(hb, hbMs).unref();
  hb();
  if (stopping) return;
  send({ t: 'ready', ...(s.timeout > 0 ? { inspectPort: await inspectorPort() } : {}) });
}

/**
 * The port node's inspector will open on if the master sends SIGUSR1 (stack.ts): the one already
 * open, or a free loopback port chosen now (another program could take it before it is used; then
 * the stack is simply not available).
 */
async function inspectorPort(): Promise<number | undefined> {
  const open = inspector.url();
  if (open) return Number(new URL(open).port);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    process.debugPort = port;
    return port;
  } catch {
    return undefined;
  }
}
