// --single-process (and --inspect): the application served in the CLI's own process. No master, no
// worker processes, no heartbeat thread: for a container whose orchestrator already supervises and
// restarts the process, for the smallest memory footprint, and for a debugger, which then reaches the
// application's own process (the master's children would each need an inspector port of their own).
//
//   TERM       graceful stop: the sockets close at once, in-flight requests get --graceful-timeout.
//   INT, QUIT  quick stop (a second INT exits at once).
//   HUP        no reload (there is no second process to start): logged, and ignored.
//   USR1       reopen the log files.
import inspector from 'node:inspector';
import { errorPage } from '../middleware/error-page.js';
import type { Settings } from '../settings/index.js';
import { OPTION_DEFAULTS, toOption } from '../settings/defaults.js';
import { loadApp } from '../server/load.js';
import { closeAll, type Listener } from '../server/sockets.js';
import type { Application } from '../spec.js';
import { AccessLog } from './access-log.js';
import { serveSocket, type Served } from './doors.js';
import { instrument } from './instrument.js';
import type { ServerLog } from './log.js';
import { Notifier } from './notify.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { readFileSync, unlinkSync, writeFileSync } = process.getBuiltinModule('node:fs');

export interface SingleOptions {
  app: string;
  settings: Settings;
  listeners: Listener[];
  log: ServerLog;
}

/** What the master does that one process cannot: said once at start, so nobody relies on it. */
function unsupported(s: Settings): string[] {
  const out: string[] = [];
  if (s.maxRequests > 0) out.push('--max-requests (no replacement process to start)');
  if (s.maxRss > 0) out.push('--max-rss (no replacement process to start)');
  // The heartbeat timeout is on by default: said only when it was set to something else, not on every start.
  if (s.timeout > 0 && toOption('timeout', s.timeout) !== OPTION_DEFAULTS.timeout)
    out.push("--timeout (no master watches the event loop; the orchestrator's liveness probe does)");
  if (s.metricsBind) out.push("--metrics-bind (the metrics are the master's)");
  return out;
}

/** Serves until stopped; resolves with the exit code. */
export async function runSingle({ app: spec, settings: s, listeners, log }: SingleOptions): Promise<number> {
  if (s.inspect) {
    inspector.open(process.debugPort, '127.0.0.1');
    log.info(`Inspector open at ${inspector.url()} (chrome://inspect or your editor's "attach" reaches the application)`);
  }
  const notify = new Notifier(log);
  if (s.pidfile) writeFileSync(s.pidfile, `${process.pid}\n`);
  let app: Application = await loadApp(spec);
  if (s.reload) app = errorPage({ enabled: true })(app);
  const accessLog = s.accessLog ? new AccessLog(s.accessLog, s.accessLogFormat) : null;
  if (accessLog) {
    app = instrument(app, {
      begin: () => 0,
      end: (_token, environ, status, bytes, started) => accessLog.log({ environ, status, bytes, time: started, duration: Date.now() - started }),
    });
  }
  const tls = s.certfile ? { cert: readFileSync(s.certfile), key: readFileSync(s.keyfile) } : undefined;
  const served: Served[] = [];
  for (const l of listeners) served.push(await serveSocket(l.bind.protocol, l.handle, { app, settings: s, log, multiprocess: false, ...(tls ? { tls } : {}) }));
  for (const off of unsupported(s)) log.warn(`--single-process: ignoring ${off}`);
  for (const l of listeners) log.info(`Listening at: ${l.label} (pid ${process.pid})`);
  log.info(`Serving ${listeners.map((l) => l.label).join(', ')} in a single process (pid ${process.pid})`);
  notify.ready(`Serving in a single process (pid ${process.pid})`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const exit = (code: number) => {
      accessLog?.close();
      if (s.pidfile) {
        try {
          if (readFileSync(s.pidfile, 'utf8').trim() === String(process.pid)) unlinkSync(s.pidfile);
        } catch {
          /* gone */
        }
      }
      closeAll(listeners);
      resolve(code);
    };
    const stop = (graceful: boolean, signal: string) => {
      if (stopping) {
        if (!graceful) exit(0);
        return;
      }
      stopping = true;
      notify.stopping(`Stopping (${signal})`);
      log.info(graceful ? `${signal}: shutting down gracefully (up to ${s.gracefulTimeout} s)` : `${signal}: quick shutdown`);
      for (const d of served) d.stopAccepting();
      closeAll(listeners);
      if (!graceful) return exit(0);
      // The doors cut what is left at the grace period; this is the backstop.
      const backstop = setTimeout(() => exit(0), toOption('gracefulTimeout', s.gracefulTimeout) + 2000);
      void Promise.all(served.map((d) => d.close())).then(() => {
        clearTimeout(backstop);
        log.info('Stopped');
        exit(0);
      });
    };
    process.on('SIGTERM', () => stop(true, 'SIGTERM'));
    process.on('SIGINT', () => stop(false, 'SIGINT'));
    process.on('SIGQUIT', () => stop(false, 'SIGQUIT'));
    process.on('SIGHUP', () => log.warn('SIGHUP: a single process cannot reload its code; restart it (or run without --single-process)'));
    process.on('SIGUSR1', () => {
      try {
        log.reopen();
        accessLog?.reopen();
      } catch (err) {
        log.error(`cannot reopen the logs: ${(err as Error).message}`);
      }
    });
  });
}
