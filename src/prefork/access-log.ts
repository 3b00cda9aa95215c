// The access log: one Apache/nginx "combined" (or "common") line per request, built by an encoder
// that escapes what the client sent (a quote or a newline in a header cannot forge a field or a
// line), written in batches to stdout (`-`) or appended to a file reopened on SIGUSR1.
// The toolkit's access-log middleware may reuse `formatAccessLine`.
import { closeSync, writeSync } from 'node:fs';
import type { Environ } from '../spec.js';
import { openAppend } from './log.js';

export type AccessLogFormat = 'combined' | 'common';

export interface AccessEntry {
  environ: Environ;
  /** The response status code (500 when the application failed before answering). */
  status: number;
  /** Body bytes sent, or -1 when unknown. */
  bytes: number;
  /** When the request started (ms since the epoch). */
  time: number;
}

const HEX = '0123456789abcdef';

/** Apache's escaping inside a quoted field: `"` and `\` backslashed, controls and non-ASCII as \xHH. */
export function escapeField(s: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(start, i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c > 0xff) out += encodeURIComponent(s[i]!).replace(/%([0-9A-F]{2})/g, (_m, h: string) => `\\x${h.toLowerCase()}`);
    else out += `\\x${HEX[c >> 4]}${HEX[c & 15]}`;
    start = i + 1;
  }
  return start === 0 ? s : out + s.slice(start);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `10/Oct/2000:13:55:36 -0700`, local time as Apache writes it. */
export function clfDate(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return (
    `${two(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ` +
    `${sign}${two(Math.floor(a / 60))}${two(a % 60)}`
  );
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The request line as the client sent it (RAW_URI when the door keeps it). */
export function requestLine(e: Environ): string {
  let target = str(e.RAW_URI) || str(e.REQUEST_URI);
  if (!target) {
    target = str(e.SCRIPT_NAME) + str(e.PATH_INFO);
    const q = str(e.QUERY_STRING);
    if (q) target += `?${q}`;
  }
  return `${str(e.REQUEST_METHOD)} ${target} ${str(e.SERVER_PROTOCOL)}`;
}

/** One access-log line, without the newline. */
export function formatAccessLine(entry: AccessEntry, format: AccessLogFormat = 'combined'): string {
  const e = entry.environ;
  const host = str(e.REMOTE_ADDR) || '-';
  const user = str(e.REMOTE_USER) ? escapeField(str(e.REMOTE_USER)) : '-';
  const bytes = entry.bytes > 0 ? String(entry.bytes) : '-';
  let line = `${escapeField(host)} - ${user} [${clfDate(entry.time)}] "${escapeField(requestLine(e))}" ${entry.status} ${bytes}`;
  if (format === 'combined') {
    line += ` "${escapeField(str(e.HTTP_REFERER)) || '-'}" "${escapeField(str(e.HTTP_USER_AGENT)) || '-'}"`;
  }
  return line;
}

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
