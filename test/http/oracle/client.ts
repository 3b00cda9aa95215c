// The environ oracle's client: sends each recorded raw request over its own TCP connection to a
// server hosting the environ-dump app (test/fixtures/oracle/app.ts), and records what the oracle
// compares: the status of each response, interim (1xx) responses, whether the server closed the
// connection afterwards, and the environ the app printed, normalised the way the five Python servers'
// recordings were (test/fixtures/oracle/README.md). Written for this test from the rules of the
// recording client; no HTTP library would do, since the requests are hostile on purpose and the
// responses are read byte by byte as they arrive.
import net from 'node:net';
import os from 'node:os';

export interface OracleCase {
  name: string;
  group: string;
  note: string;
  /** The request bytes, one char per byte (latin-1). */
  raw: string;
  /** The method of each request in `raw`: one response is expected per entry. */
  methods: string[];
  /** Byte offsets where the client pauses (up to pauseMs) for an interim response. */
  splits?: number[];
  pauseMs?: number;
}

export interface RecordedResponse {
  status: number;
  /** The environ the app printed, normalised; null when the body was not the app's dump. */
  environ: Record<string, string> | null;
  /** The request body the app read, in hex (null when it printed none). */
  body_hex?: string | null;
}

export interface RecordedCase {
  responses: RecordedResponse[];
  /** Interim status lines, e.g. `HTTP/1.1 100 Continue`. */
  interim: string[];
  /** Absent when the responses did not all come (a timeout). */
  server_closed?: boolean;
  error: string | null;
}

export interface Recording {
  server: string;
  cases: Record<string, RecordedCase>;
}

const STARS = '*'.repeat(30);
const ALWAYS_OBJECT = new Set(['wsgi.input', 'wsgi.errors', 'wsgi.file_wrapper']);
/** Names a server may copy from its own process environment (wsgiref does); not the request's. */
const PROCESS_ENV_KEYS = new Set([
  'LC_ALL',
  'LANG',
  'LANGUAGE',
  'PYTHONDONTWRITEBYTECODE',
  'PYTHONUNBUFFERED',
  'PYTHONPATH',
  'PYTHONHOME',
  'PATH',
  'HOME',
  'PWD',
  'OLDPWD',
  'SHLVL',
  '_',
  'TERM',
  'USER',
  'LOGNAME',
  'SHELL',
  'HOSTNAME',
  'TMPDIR',
  'TZ',
  'NODE_ENV',
  'NODE_OPTIONS',
]);
/** A key has no ':' or newline and does not start with whitespace (a folded line of a value does). */
const KEY_RE = /^([^:\s][^:\n]*):([\s\S]*)$/;
/** Python object reprs (`<socket.socket ...>`): their values are not the request's. */
const OBJ_RE = /^<.*(?: at 0x[0-9a-fA-F]+|socket\.socket|_io\.|bound method|class |object|function ).*>$/s;

class ReadTimeout extends Error {}

/** A buffered reader over a socket, each read bounded by an idle timeout. */
class Reader {
  buf = Buffer.alloc(0);
  eof = false;
  private wake: (() => void) | null = null;

  constructor(
    sock: net.Socket,
    private readonly idleMs: number,
  ) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    const end = () => {
      this.eof = true;
      this.wake?.();
    };
    sock.on('end', end);
    sock.on('close', end);
    sock.on('error', end);
  }

  /** Waits for more bytes: false at EOF; throws ReadTimeout after `ms` without any. */
  fill(ms = this.idleMs): Promise<boolean> {
    if (this.eof) return Promise.resolve(false);
    const before = this.buf.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = null;
        reject(new ReadTimeout());
      }, ms);
      this.wake = () => {
        if (this.buf.length === before && !this.eof) return;
        clearTimeout(timer);
        this.wake = null;
        resolve(this.buf.length > before);
      };
    });
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async readUntil(sep: string): Promise<Buffer | null> {
    while (this.buf.indexOf(sep, 0, 'latin1') < 0) if (!(await this.fill())) return null;
    return this.take(this.buf.indexOf(sep, 0, 'latin1') + sep.length);
  }

  async readExact(n: number): Promise<Buffer> {
    while (this.buf.length < n) if (!(await this.fill())) break;
    return this.take(n);
  }

  async readToEof(): Promise<Buffer> {
    while (await this.fill());
    return this.take(this.buf.length);
  }
}

type Head = { statusLine: string; headers: Array<[string, string]> };

/** A status line and headers; the earliest blank line ends them (a bare-LF server is tolerated). */
async function readHead(rd: Reader): Promise<Head | null> {
  for (;;) {
    const ends = (['\r\n\r\n', '\n\n'] as const)
      .map((sep) => ({ sep, at: rd.buf.indexOf(sep, 0, 'latin1') }))
      .filter((e) => e.at >= 0)
      .sort((a, b) => a.at - b.at);
    if (ends.length > 0) {
      const { sep, at } = ends[0]!;
      const head = rd
        .take(at + sep.length)
        .subarray(0, at)
        .toString('latin1');
      const lines = head.replace(/\r\n/g, '\n').split('\n');
      const headers: Array<[string, string]> = [];
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon >= 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
      }
      return { statusLine: lines[0]!, headers };
    }
    if (!(await rd.fill())) return null;
  }
}

function headerValues(headers: Array<[string, string]>, name: string): string[] {
  return headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
}

async function readBody(rd: Reader, headers: Array<[string, string]>, method: string, status: number): Promise<Buffer> {
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) return Buffer.alloc(0);
  if (headerValues(headers, 'transfer-encoding').join(',').toLowerCase().includes('chunked')) {
    const parts: Buffer[] = [];
    for (;;) {
      const line = await rd.readUntil('\r\n');
      if (line === null) return Buffer.concat(parts);
      const size = Number.parseInt(line.toString('latin1').split(';')[0]!.trim() || '0', 16);
      if (size === 0) {
        for (;;) {
          const trailer = await rd.readUntil('\r\n');
          if (trailer === null || trailer.length === 2) return Buffer.concat(parts);
        }
      }
      parts.push(await rd.readExact(size));
      await rd.readUntil('\r\n');
    }
  }
  const length = headerValues(headers, 'content-length')[0];
  if (length !== undefined && /^\s*\d+\s*$/.test(length)) return rd.readExact(Number(length));
  return rd.readToEof();
}

/** The app's dump as [key, value] items (values may span lines) and the body it read, or null. */
export function parseDump(text: string): { items: Array<[string, string]>; bodyHex: string | null } | null {
  const head = `The Begining\n${STARS}\n`;
  const tail = `\n${STARS}\nThe End`;
  if (!text.startsWith(head) || !text.endsWith(tail)) return null;
  const lines = text.slice(head.length, text.length - tail.length).split('\n');
  let bodyHex: string | null = null;
  if (lines.length > 0 && /^BODY:[0-9a-f]*$/.test(lines.at(-1)!)) bodyHex = lines.pop()!.slice(5);
  const items: Array<[string, string]> = [];
  let prev: string | null = null;
  for (const line of lines) {
    const m = KEY_RE.exec(line);
    // The app sorts its keys: a line that looks like `key:value` but sorts before the previous key
    // continues the previous value (a value that held a newline).
    if (m && (prev === null || m[1]! >= prev)) {
      items.push([m[1]!, m[2]!]);
      prev = m[1]!;
    } else if (items.length > 0) items.at(-1)![1] += '\n' + line;
    else items.push(['', line]);
  }
  return { items, bodyHex };
}

/** The TypeScript app prints `true`/`false` and `1,0`; the recordings hold Python's spelling. */
function pythonSpelling(key: string, value: string): string {
  if (key === 'wsgi.version' && ['1,0', '[1,0]', '[1, 0]'].includes(value)) return '(1, 0)';
  return value === 'true' ? 'True' : value === 'false' ? 'False' : value;
}

/**
 * The environ proper (CGI keys, HTTP_*, wsgi.*), normalised so that recordings from other runs and
 * machines compare: the ports and host name become placeholders; object values, process-environment
 * keys and server extensions (`tsgi.*`, `gunicorn.*`) are left out.
 */
export function classify(items: Array<[string, string]>, listenPort: number, localPort: number, hostname: string): Record<string, string> {
  const norm = (k: string, v: string): string => {
    if (k === 'SERVER_PORT' && v === String(listenPort)) return '{LISTEN_PORT}';
    if (k === 'REMOTE_PORT' && v === String(localPort)) return '{REMOTE_PORT}';
    if (hostname && hostname !== 'localhost' && (v === hostname || v === `b'${hostname}'`)) return '{HOSTNAME}';
    return v;
  };
  const environ: Record<string, string> = {};
  for (const [k, v] of items) {
    if (ALWAYS_OBJECT.has(k) || OBJ_RE.test(v) || PROCESS_ENV_KEYS.has(k)) continue;
    if (k.startsWith('wsgi.')) environ[k] = norm(k, pythonSpelling(k, v));
    else if (!k.includes('.')) environ[k] = norm(k, v);
  }
  return environ;
}

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => sock.destroy(new Error('connect timeout')), timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Sends one case over a fresh connection and records the answers. */
export async function runCase(c: OracleCase, host: string, port: number, idleMs = 3000): Promise<RecordedCase> {
  const result: RecordedCase = { responses: [], interim: [], error: null };
  const sock = await connect(host, port, idleMs);
  sock.on('error', () => {}); // a reset is recorded as EOF by the reader
  const rd = new Reader(sock, idleMs);
  const bytes = Buffer.from(c.raw, 'latin1');
  const cuts = [0, ...(c.splits ?? []), bytes.length];
  try {
    for (let i = 0; i + 1 < cuts.length; i++) {
      sock.write(bytes.subarray(cuts[i], cuts[i + 1]));
      if (i + 2 < cuts.length) {
        // Collect what arrives before the next part (an interim 100 Continue), for up to pauseMs.
        const deadline = Date.now() + (c.pauseMs ?? 1000);
        while (Date.now() < deadline && rd.buf.indexOf('\r\n\r\n', 0, 'latin1') < 0) {
          try {
            if (!(await rd.fill(Math.max(10, deadline - Date.now())))) break;
          } catch (err) {
            if (err instanceof ReadTimeout) break;
            throw err;
          }
        }
      }
    }
    for (let mi = 0; mi < c.methods.length; ) {
      const head = await readHead(rd);
      if (head === null) {
        result.error = mi === 0 ? 'no response' : `connection closed after ${mi} of ${c.methods.length} responses`;
        break;
      }
      const m = /^HTTP\/\d+\.\d+\s+(\d{3})\s?/.exec(head.statusLine);
      const status = m ? Number(m[1]) : 0;
      if (status >= 100 && status < 200 && status !== 101) {
        result.interim.push(head.statusLine);
        continue;
      }
      const body = await readBody(rd, head.headers, c.methods[mi]!, status);
      const dump = parseDump(body.toString('latin1'));
      result.responses.push(
        dump === null ? { status, environ: null } : { status, environ: classify(dump.items, port, sock.localPort!, os.hostname()), body_hex: dump.bodyHex },
      );
      mi++;
    }
    // Did the server close the connection after the responses? Probed for 0.3 s.
    let closed: boolean;
    try {
      while (await rd.fill(300));
      closed = rd.eof;
    } catch (err) {
      if (!(err instanceof ReadTimeout)) throw err;
      closed = false;
    }
    result.server_closed = closed;
  } catch (err) {
    if (!(err instanceof ReadTimeout)) throw err;
    result.error = `timeout after ${result.responses.length} response(s)`;
  } finally {
    sock.destroy();
  }
  return result;
}
