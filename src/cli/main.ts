#!/usr/bin/env node
// `tsgi MODULE[:EXPORT] [options]`: a master process that binds the sockets and runs --workers
// worker processes serving the application (src/prefork/arbiter.ts), until SIGTERM (graceful) or
// SIGINT (quick). A worker process runs this same file's sibling, src/prefork/worker-main.ts.
//
// The master runs no application, so it imports none of the serving code: --single-process and
// --check-config load theirs (the doors, the application loader) when they are chosen, and the master
// stays near a bare Node process in memory (docs/deploy-process.md, "Memory").
import { streamLogger, type Logger } from '../runner/log.js';
import { Arbiter, checkPidfile } from '../prefork/arbiter.js';
import { openServerLog, type ServerLog } from '../prefork/log.js';
import { ListenError, bindAll, systemdBinds, type Listener } from '../server/sockets.js';
import { SettingError, helpText, parseCommandLine, printConfig, resolveAll, type Resolved, type Settings } from '../settings/resolve.js';
import { VERSION } from '../version.js';
import { BindError, parseBind, resolveBind, type Bind } from '../server/bind.js';

const LEVELS = ['debug', 'info', 'warning', 'error', 'critical'];

export function levelLogger(level: string): Logger {
  const base = streamLogger(process.stderr);
  const min = LEVELS.indexOf(level);
  const on = (l: string) => LEVELS.indexOf(l) >= min;
  return {
    error: on('error') ? base.error : () => {},
    warn: on('warning') ? base.warn : () => {},
    info: on('info') ? base.info : () => {},
  };
}

function fatal(message: string, code = 2): never {
  process.stderr.write(`tsgi: ${message}\n`);
  process.exit(code);
}

/** The binds to open: --bind (or TSGI_BIND/PORT/config), else systemd's LISTEN_FDS, else the default. */
export function chooseBinds(resolved: Resolved, env: Record<string, string | undefined>): Bind[] {
  const fromSystemd = systemdBinds(env);
  if (resolved.sources.bind === 'default' && fromSystemd.length > 0) return fromSystemd;
  return resolved.settings.bind.map(parseBind);
}

export async function main(argv: string[]): Promise<number | undefined> {
  let resolved: Resolved;
  let positionals: string[];
  let cliSettings: Partial<Settings>;
  try {
    const cli = parseCommandLine(argv);
    if (cli.help) {
      process.stdout.write(helpText());
      return 0;
    }
    if (cli.version) {
      process.stdout.write(`tsgi ${VERSION}\n`);
      return 0;
    }
    positionals = cli.positionals;
    cliSettings = cli.settings;
    resolved = await resolveAll(cliSettings, process.env);
  } catch (err) {
    if (err instanceof SettingError) fatal(`${err.message}\nSee tsgi --help.`);
    throw err;
  }
  const settings = resolved.settings;
  if (/^\d+$/.test(settings.pidfile)) {
    // gunicorn's -p is the pidfile too, but people coming from `serve -p 3000` or `http-server -p` mean a port.
    process.stderr.write(
      `tsgi: warning: --pidfile (-p) ${settings.pidfile} writes the master's pid to a file named '${settings.pidfile}'. ` +
        `To serve on port ${settings.pidfile}, use --bind 0.0.0.0:${settings.pidfile} (or PORT=${settings.pidfile}).\n`,
    );
  }
  if (settings.printConfig) {
    process.stdout.write(printConfig(resolved));
    return 0;
  }
  if (positionals.length !== 1) fatal('expected one application, as MODULE[:EXPORT] (e.g. tsgi app.ts:application)\nSee tsgi --help.');
  const appSpec = positionals[0]!;
  if ((settings.certfile === '') !== (settings.keyfile === '')) fatal('--certfile and --keyfile go together: TLS needs both (setting certfile/keyfile)');
  if (settings.singleProcess || settings.inspect) {
    const why = settings.inspect ? '--inspect (which serves in a single process)' : '--single-process';
    if (settings.workers > 1) fatal(`${why} runs no workers: leave out --workers ${settings.workers} (setting workers)`);
    if (settings.reload) fatal(`${why} cannot --reload: a reload starts new worker processes; use one or the other`);
  }
  let binds: Bind[];
  try {
    binds = chooseBinds(resolved, process.env);
  } catch (err) {
    if (err instanceof BindError) fatal(err.message);
    throw err;
  }
  if (settings.checkConfig) {
    let where: string[];
    const { LoadError, loadApp } = await import('../server/load.js');
    try {
      where = await Promise.all(binds.map((b) => resolveBind(b)));
      await loadApp(appSpec);
    } catch (err) {
      if (err instanceof LoadError || err instanceof BindError) fatal(err.message, 1);
      throw err;
    }
    process.stdout.write(
      `tsgi: the configuration is valid and ${appSpec} loads${resolved.configFile ? ` (config file ${resolved.configFile})` : ''}; ` +
        `it would listen at ${where.join(', ')}\n`,
    );
    return 0;
  }

  let log: ServerLog;
  try {
    log = openServerLog(settings.errorLog, settings.logLevel);
    checkPidfile(settings.pidfile);
  } catch (err) {
    fatal((err as Error).message, 1);
  }
  let listeners: Listener[];
  try {
    listeners = await bindAll(binds, {
      retries: settings.bindRetries,
      socketMode: settings.socketMode,
      socketOwner: settings.socketOwner,
      socketGroup: settings.socketGroup,
      log,
      tls: settings.certfile !== '',
    });
  } catch (err) {
    if (err instanceof ListenError) fatal(err.message, 1);
    throw err;
  }
  if (settings.singleProcess || settings.inspect) {
    const [{ runSingle }, { LoadError }] = await Promise.all([import('../prefork/single.js'), import('../server/load.js')]);
    try {
      return await runSingle({ app: appSpec, settings, listeners, log });
    } catch (err) {
      if (err instanceof LoadError) fatal(err.message, 1);
      throw err;
    }
  }
  const arbiter = new Arbiter({
    app: appSpec,
    settings,
    listeners,
    log,
    reread: async () => (await resolveAll(cliSettings, process.env)).settings,
  });
  return arbiter.run();
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err) => {
    process.stderr.write(`tsgi: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
