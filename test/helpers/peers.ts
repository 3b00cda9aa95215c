// Suites that talk to a program outside Node (python3, openssl, systemd-notify) skip with the reason
// when it is not installed: a fresh clone's `npm test` must pass on a machine without them.
import { spawnSync } from 'node:child_process';

/** A skip reason when `command` cannot run here, else false (for `it(name, { skip: needs(...) }, ...)`). */
export function needs(...commands: string[]): string | false {
  const missing = commands.filter((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).error !== undefined);
  return missing.length > 0 ? `needs ${missing.join(' and ')} (not installed here)` : false;
}
