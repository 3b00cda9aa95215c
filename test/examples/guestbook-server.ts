// Starts examples/guestbook/app.ts with the real `tsgi` CLI (dist/cli/main.js, as its README says) on
// 127.0.0.1, a free port, a fresh data directory, and validate() on (TSGI_VALIDATE=1).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startCli, type RunningCli } from '../helpers/cli.js';

export const APP = path.join(ROOT, 'examples/guestbook/app.ts');

export interface Guestbook {
  cli: RunningCli;
  url: string;
  dataDir: string;
  /** Stops the server (SIGTERM, graceful); the data directory stays until remove(). */
  stop(): Promise<number | null>;
  /** Stops the server and removes the data directory. */
  remove(): Promise<void>;
}

export async function startGuestbook(env: Record<string, string> = {}, dataDir?: string): Promise<Guestbook> {
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'tsgi-guestbook-')));
  const cli = await startCli([APP, '--bind', '127.0.0.1:0'], {
    env: { GUESTBOOK_DATA: dir, TSGI_VALIDATE: '1', GUESTBOOK_SECRET_KEY: '', ...env },
    timeoutMs: 20000,
  });
  return {
    cli,
    url: cli.url,
    dataDir: dir,
    stop: () => cli.stop(),
    async remove() {
      await cli.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Lines of the server's stderr that mean the app broke a TSGI rule or failed (validate() writes WSGIWarning). */
export function problems(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /WSGIWarning|ValidationError|\[ERROR\]|\[CRITICAL\]|Traceback|TypeError/.test(l));
}
