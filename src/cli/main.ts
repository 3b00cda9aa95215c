#!/usr/bin/env node
// `tsgi MODULE[:EXPORT] [--bind HOST:PORT]...`: loads the application and serves it over HTTP until
// SIGINT or SIGTERM, then stops gracefully (in-flight requests finish, idle connections close now).
import { streamLogger, type Logger } from '../engine/log.js';
import { serve, type ServerHandle } from '../http/serve.js';
import { SettingError, helpText, parseCommandLine, resolve, type Settings } from '../settings/index.js';
import { VERSION } from '../version.js';
import { BindError, parseBind } from './bind.js';
import { LoadError, loadApp } from './load.js';

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

export async function main(argv: string[]): Promise<void> {
  let settings: Settings;
  let positionals: string[];
  try {
    const cli = parseCommandLine(argv);
    if (cli.help) {
      process.stdout.write(helpText());
      return;
    }
    if (cli.version) {
      process.stdout.write(`tsgi ${VERSION}\n`);
      return;
    }
    positionals = cli.positionals;
    settings = resolve(cli.settings, process.env);
  } catch (err) {
    if (err instanceof SettingError) fatal(`${err.message}\nSee tsgi --help.`);
    throw err;
  }
  if (positionals.length !== 1) fatal('expected one application, as MODULE[:EXPORT] (e.g. tsgi app.ts:application)\nSee tsgi --help.');
  let binds;
  try {
    binds = settings.bind.map(parseBind);
  } catch (err) {
    if (err instanceof BindError) fatal(err.message);
    throw err;
  }
  const log = levelLogger(settings.logLevel);
  let app;
  try {
    app = await loadApp(positionals[0]!);
  } catch (err) {
    if (err instanceof LoadError) fatal(err.message, 1);
    throw err;
  }
  const servers: ServerHandle[] = [];
  for (const b of binds) {
    try {
      servers.push(
        await serve(app, {
          host: b.host,
          port: b.port,
          log,
          serverName: settings.serverName || undefined,
          scriptName: settings.scriptName,
          limitRequestLine: settings.limitRequestLine,
          limitRequestFields: settings.limitRequestFields,
          maxHeaderSize: settings.maxHeaderSize,
          headersTimeout: settings.headersTimeout * 1000,
          bodyTimeout: settings.bodyTimeout * 1000,
          requestTimeout: settings.requestTimeout * 1000,
          keepAliveTimeout: settings.keepAlive * 1000,
          gracefulTimeout: settings.gracefulTimeout * 1000,
        }),
      );
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? 'the address is already in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
      for (const s of servers) await s.close();
      fatal(`cannot listen on ${b.host}:${b.port}: ${why}`, 1);
    }
  }
  for (const s of servers) log.info(`Listening at: ${s.url} (pid ${process.pid})`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      if (signal === 'SIGINT') {
        log.warn('Second SIGINT: exiting now');
        process.exit(1);
      }
      return;
    }
    stopping = true;
    log.info(`${signal}: shutting down gracefully (up to ${settings.gracefulTimeout} s)`);
    Promise.all(servers.map((s) => s.close())).then(() => {
      log.info('Stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`tsgi: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
