// Shared by the FastCGI and CGI interop tests (test/interop/fastcgi-*.test.ts, cgi-*.test.ts): real
// web servers in front of tsgi on loopback. Each peer runs from a private config in a temp dir (pid
// file, logs, temp paths inside it), binds 127.0.0.1 only, and is stopped by its pid (its process
// group: Apache forks children) in after(). Every wait is bounded; nothing measures time.
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../src/runner/log.js';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
/** The seed's environ app in Python (the oracle's app.py). */
export const PY_ENVIRON_APP = path.join(HERE, 'environ-app.py');
export const APACHE_MODULES = '/usr/lib/apache2/modules';
const UWSGI_PLUGINS = '/usr/lib/uwsgi/plugins';

/** The absolute path of a program on PATH or in the sbin directories, or null. */
export function findBinary(name: string): string | null {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    const p = path.join(d, name);
    if (d && existsSync(p)) return p;
  }
  return null;
}

/** Why Apache with these modules cannot run here, or null. */
export function apacheMissing(modules: readonly string[]): string | null {
  if (!findBinary('apache2')) return 'apache2 not installed (apt-get install apache2)';
  const absent = modules.filter((m) => !existsSync(path.join(APACHE_MODULES, `mod_${m}.so`)));
  return absent.length > 0 ? `Apache modules missing from ${APACHE_MODULES}: ${absent.join(', ')}` : null;
}

/** A private directory; world-readable, since Apache runs CGI scripts as `nobody` when started as root. */
export function tempDir(tag: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `tsgi-interop-${tag}-`));
  chmodSync(dir, 0o755);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once something accepts connections on the port; rejects after `ms`. */
export async function waitForPort(port: number, ms = 15_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`the process meant to listen on ${port} exited`);
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await sleep(50);
  }
}

export interface Peer {
  readonly name: string;
  readonly pid: number;
  /** The peer's output and error log so far, for assertion messages. */
  log(): string;
  /** SIGTERM to its process group, SIGKILL if still there after 5 s. */
  stop(): Promise<void>;
}

/** Starts a peer in its own process group, output to DIR/NAME.out, and waits for its port. */
export async function startPeer(name: string, dir: string, argv: string[], port: number, env?: NodeJS.ProcessEnv): Promise<Peer> {
  const outPath = path.join(dir, `${name}.out`);
  const out = openSync(outPath, 'a');
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: dir,
    detached: true,
    stdio: ['ignore', out, out],
    env: env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
  });
  closeSync(out);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.once('error', () => (exited = true));
  const pid = child.pid!;
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'latin1') : '');
  const log = () => read(outPath) + read(path.join(dir, 'error.log'));
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  const peer: Peer = {
    name,
    pid,
    log,
    async stop() {
      if (!exited) {
        kill('SIGTERM');
        await Promise.race([exit, sleep(5000)]);
      }
      kill('SIGKILL'); // children (Apache's, CGI scripts) may outlive a parent that already exited
      await Promise.race([exit, sleep(2000)]);
    },
  };
  try {
    await waitForPort(port, 15_000, () => !exited);
  } catch (err) {
    await peer.stop();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${log().slice(-2000)}`);
  }
  return peer;
}

// --- the HTTP client --------------------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** False when the response ended before its framing said it would (a cut chunked body). */
  complete: boolean;
}

export interface Ask {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send the body with Transfer-Encoding: chunked, in pieces of this size. */
  chunked?: number;
}

/** One request on a fresh connection; the whole response body (or what came of it). */
export function request(port: number, ask: Ask): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...ask.headers };
    const body = typeof ask.body === 'string' ? Buffer.from(ask.body) : ask.body;
    if (body && !ask.chunked) headers['Content-Length'] = String(body.length);
    if (ask.chunked) headers['Transfer-Encoding'] = 'chunked';
    const req = http.request({ host: '127.0.0.1', port, method: ask.method ?? 'GET', path: ask.path, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      const done = (complete: boolean) => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), complete });
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => done(res.complete));
      res.on('aborted', () => done(false));
      res.on('error', () => done(false));
      res.on('close', () => done(res.complete)); // the first of these settles the promise
    });
    req.on('error', reject);
    if (body && ask.chunked) {
      for (let i = 0; i < body.length; i += ask.chunked) req.write(body.subarray(i, i + ask.chunked));
      req.end();
    } else req.end(body);
  });
}

/** Asks for `urlPath`, reads `bytes` of the response, then drops the connection. */
export function readAndDisconnect(port: number, urlPath: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    let got = 0;
    s.on('data', (c) => {
      got += c.length;
      if (got >= bytes) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

/** Collects log lines so a failing test can show them; nothing goes to the test output. */
export const logLines: string[] = [];
export const quietLog: Logger = {
  error: (m) => logLines.push(`ERROR ${m}`),
  warn: (m) => logLines.push(`WARN ${m}`),
  info: (m) => logLines.push(`INFO ${m}`),
};

// --- environ dumps (the seed's app) ---------------------------------------------------------------------

const STARS = '*'.repeat(30);

/** The key:value lines of the environ app's output (and BODY:, when there was one). */
export function parseDump(body: Buffer): Map<string, string> {
  const text = body.toString('latin1');
  const start = text.indexOf(STARS + '\n');
  const end = text.lastIndexOf('\n' + STARS);
  if (start === -1 || end <= start) throw new Error(`not an environ dump:\n${text.slice(0, 500)}`);
  const out = new Map<string, string>();
  for (const line of text.slice(start + STARS.length + 1, end).split('\n')) {
    const i = line.indexOf(':');
    out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/** JavaScript and Python print a few values differently; map tsgi's to Python's spelling. */
function pythonSpelling(value: string): string {
  return value === 'true' ? 'True' : value === 'false' ? 'False' : value === '1,0' ? '(1, 0)' : value;
}

/** A key that may differ, and why: the function returns the reason when the difference is the expected one. */
export type Exclusion = [key: string | RegExp, why: (ts: string | undefined, py: string | undefined) => string | null];

export const COMMON_EXCLUSIONS: Exclusion[] = [
  ['REMOTE_PORT', () => "the client's ephemeral port differs per connection"],
  ['wsgi.input', () => 'an object: its repr differs by language'],
  ['wsgi.errors', () => 'an object: its repr differs by language'],
  ['wsgi.file_wrapper', () => 'an object: its repr differs by language'],
  ['wsgi.input_terminated', (ts, py) => (py === undefined && ts === 'true' ? "a tsgi (gunicorn, waitress) extension Python's server does not set" : null)],
  [/^HTTP_CONTENT_(TYPE|LENGTH)$/, (ts) => (ts === undefined ? 'tsgi drops the duplicates of CONTENT_TYPE/CONTENT_LENGTH (RFC 3875 4.1.18)' : null)],
];

/** Differences between two dumps that no exclusion explains, one line each. */
export function environDiff(ts: Map<string, string>, py: Map<string, string>, exclusions: readonly Exclusion[]): string[] {
  const diffs: string[] = [];
  for (const key of new Set([...ts.keys(), ...py.keys()])) {
    const t = ts.has(key) ? pythonSpelling(ts.get(key)!) : undefined;
    const p = py.get(key);
    if (t === p) continue;
    const rule = exclusions.find(([k]) => (typeof k === 'string' ? k === key : k.test(key)));
    if (rule && rule[1](ts.get(key), p) !== null) continue;
    diffs.push(`${key}: tsgi ${JSON.stringify(t)} / Python ${JSON.stringify(p)}`);
  }
  return diffs.sort();
}

// --- Python on the other side ----------------------------------------------------------------------------

/** Why Python's uWSGI cannot run here, or null. */
export function pythonUwsgiMissing(): string | null {
  if (!findBinary('uwsgi')) return 'uwsgi not installed (apt-get install uwsgi-core uwsgi-plugin-python3)';
  if (existsSync(UWSGI_PLUGINS) && !existsSync(path.join(UWSGI_PLUGINS, 'python3_plugin.so'))) {
    return 'the uWSGI python3 plugin is not installed (apt-get install uwsgi-plugin-python3)';
  }
  return null;
}

/** uWSGI serving the seed's app over FastCGI on `port`. */
export function startPythonFastcgi(dir: string, port: number): Promise<Peer> {
  const plugin = existsSync(path.join(UWSGI_PLUGINS, 'python3_plugin.so')) ? ['--plugin', 'python3'] : [];
  return startPeer(
    'uwsgi-fastcgi',
    dir,
    [
      findBinary('uwsgi')!,
      ...plugin,
      '--fastcgi-socket',
      `127.0.0.1:${port}`,
      '--wsgi-file',
      PY_ENVIRON_APP,
      '--callable',
      'application_with_body',
      '--die-on-term',
      '--disable-logging',
    ],
    port,
  );
}

/** A system Python (not a per-user shim) that a CGI process running as `nobody` can execute. */
export function systemPython(): string | null {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) if (existsSync(p)) return p;
  return null;
}
