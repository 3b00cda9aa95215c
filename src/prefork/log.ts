// The error log of the master and the workers: `[time] [pid] [LEVEL] message` lines, to stderr (`-`)
// or appended to a file that SIGUSR1 reopens (for logrotate). Colours only on a terminal, never
// with NO_COLOR set (FORCE_COLOR forces them).
import type { Logger } from '../runner/log.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { closeSync, openSync, writeSync } = process.getBuiltinModule('node:fs');

export const LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type Level = (typeof LEVELS)[number];

export interface ServerLog extends Logger {
  debug(message: string): void;
  critical(message: string): void;
  /** The file descriptor lines go to (2 for stderr), for the watchdog thread. */
  readonly fd: number;
  /** Reopens the file (after logrotate moved it). */
  reopen(): void;
  close(): void;
}

const COLOURS: Record<string, string> = { DEBUG: '\x1b[2m', INFO: '', WARNING: '\x1b[33m', ERROR: '\x1b[31m', CRITICAL: '\x1b[1;31m' };

export function useColour(isTty: boolean, env: Record<string, string | undefined> = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return isTty;
}

/** Opens `dest` (`-` = stderr) for appending; throws naming the setting when the file cannot be opened. */
export function openAppend(dest: string, setting: string): number {
  try {
    return openSync(dest, 'a');
  } catch (err) {
    throw new Error(`${setting}: cannot open ${JSON.stringify(dest)} for appending: ${(err as Error).message}`);
  }
}

export function openServerLog(dest: string, level: string): ServerLog {
  const toStderr = dest === '-' || dest === '';
  let fd = toStderr ? 2 : openAppend(dest, '--error-log');
  const colour = toStderr && useColour(Boolean(process.stderr.isTTY));
  const min = Math.max(0, LEVELS.indexOf(level as Level));
  const line = (lvl: number, name: string, message: string) => {
    if (lvl < min) return;
    const tag = colour && COLOURS[name] ? `${COLOURS[name]}${name}\x1b[0m` : name;
    const text = `[${new Date().toISOString()}] [${process.pid}] [${tag}] ${message}\n`;
    try {
      writeSync(fd, text);
    } catch {
      /* a closed stderr must not take the server down */
    }
  };
  return {
    get fd() {
      return fd;
    },
    debug: (m) => line(0, 'DEBUG', m),
    info: (m) => line(1, 'INFO', m),
    warn: (m) => line(2, 'WARNING', m),
    error: (m) => line(3, 'ERROR', m),
    critical: (m) => line(4, 'CRITICAL', m),
    reopen() {
      if (toStderr) return;
      const next = openAppend(dest, '--error-log');
      const old = fd;
      fd = next;
      closeSync(old);
    },
    close() {
      if (!toStderr) closeSync(fd);
    },
  };
}
