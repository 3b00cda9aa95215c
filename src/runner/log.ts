// The server's error log, as the engine sees it: one method a line. Doors and the CLI pick the
// destination; `wsgi.errors` writes to the same place.
import type { ErrorStream } from '../spec.js';

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
}

type Writable = { write(s: string): unknown };
const stderr = (): Writable | undefined => (globalThis as { process?: { stderr?: Writable } }).process?.stderr;

/** Lines prefixed with a timestamp and level, written to stderr (or console.error off Node). */
export function streamLogger(out: Writable | undefined = stderr()): Logger {
  const line = (level: string, message: string) => {
    const text = `[${new Date().toISOString()}] [${level}] ${message}\n`;
    if (out) out.write(text);
    else console.error(text.trimEnd());
  };
  return {
    error: (m) => line('ERROR', m),
    warn: (m) => line('WARNING', m),
    info: (m) => line('INFO', m),
  };
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {} };

/** How an error reaches the log: its stack when it has one, else its string form. */
export function formatError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

/** `wsgi.errors` over a Logger: text is buffered until a newline so each log entry is whole. */
export class LogErrors implements ErrorStream {
  private pending = '';
  constructor(private readonly log: Logger) {}
  write(text: string): void {
    const all = this.pending + String(text);
    const cut = all.lastIndexOf('\n');
    if (cut === -1) {
      this.pending = all;
      return;
    }
    this.pending = all.slice(cut + 1);
    for (const line of all.slice(0, cut).split('\n')) this.log.error(line);
  }
  writelines(lines: Iterable<string>): void {
    for (const l of lines) this.write(l);
  }
  flush(): void {
    if (this.pending) {
      this.log.error(this.pending);
      this.pending = '';
    }
  }
}
