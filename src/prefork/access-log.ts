// The access log of the CLI's workers: one line per request (Apache common or combined, or JSON),
// built by the toolkit's escaping encoders (a quote or a newline in a header cannot forge a field or
// a line), written in batches to stdout (`-`) or appended to a file reopened on SIGUSR1.
import { formatAccessLine, type AccessEntry, type AccessLogFormat } from '../middleware/access-log.js';
import { openAppend } from './log.js';

// Built-ins an ES import would make heavier (scripts/check-layers.mjs, NO_ESM_IMPORT).
const { closeSync, writeSync } = process.getBuiltinModule('node:fs');

// The line encoders (common, combined, JSON) are the toolkit's: one escaping encoder for the CLI's log
// and the access-log middleware alike.
export type { AccessEntry, AccessLogFormat } from '../middleware/access-log.js';

/** Batches lines and writes them once per event-loop turn. */
export class AccessLog {
  private fd: number;
  private pending: string[] = [];
  private scheduled = false;
  private readonly toStdout: boolean;

  constructor(
    private readonly dest: string,
    private readonly format: AccessLogFormat = 'combined',
  ) {
    this.toStdout = dest === '-';
    this.fd = this.toStdout ? 1 : openAppend(dest, '--access-log');
    this.flush = this.flush.bind(this);
  }

  log(entry: AccessEntry): void {
    this.pending.push(formatAccessLine(entry, this.format));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    try {
      if (this.toStdout) process.stdout.write(text);
      else writeSync(this.fd, text);
    } catch {
      /* a full disk must not take the worker down */
    }
  }

  reopen(): void {
    this.flush();
    if (this.toStdout) return;
    const old = this.fd;
    this.fd = openAppend(this.dest, '--access-log');
    closeSync(old);
  }

  close(): void {
    this.flush();
    if (!this.toStdout) closeSync(this.fd);
  }
}
