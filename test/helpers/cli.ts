// Starts the real `tsgi` CLI (the built dist/cli/main.js, as users run it) as a subprocess on a free
// loopback port, and stops it. Tests get the port from the "Listening at:" log line.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');

export interface RunningCli {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stdout(): string;
  /** Sends a signal and waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startCli(
  args: string[],
  {
    env = {},
    timeoutMs = 15000,
    cwd = ROOT,
    bin,
    nodeArgs = [],
  }: {
    env?: Record<string, string>;
    timeoutMs?: number;
    cwd?: string;
    /** another tsgi executable (an installed package's) */
    bin?: string;
    /** node's own options before the CLI (e.g. --trace-gc) */
    nodeArgs?: string[];
  } = {},
): Promise<RunningCli> {
  const [command, argv] = bin ? [bin, args] : [process.execPath, [...nodeArgs, CLI, ...args]];
  const child = spawn(command, argv, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tsgi did not start within ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`tsgi exited with ${code} before listening:\n${err}`));
    };
    child.once('exit', early);
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /Listening at: (?:https?|uwsgi|fastcgi):\/\/([^\s]+):(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        child.off('exit', early);
        const port = Number(m[2]);
        resolve({
          child,
          port,
          url: `http://127.0.0.1:${port}`,
          stderr: () => err,
          stdout: () => out,
          async stop(signal = 'SIGTERM') {
            if (child.exitCode !== null) return child.exitCode;
            child.kill(signal);
            const t = setTimeout(() => child.kill('SIGKILL'), 10000);
            const code = await exited;
            clearTimeout(t);
            return code;
          },
        });
      }
    });
  });
}

/** Runs the CLI to completion (for --help, bad settings, load errors). */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 15000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}
