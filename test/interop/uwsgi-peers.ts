// Shared by the uwsgi interop tests (test/interop/uwsgi-*.test.ts): real front ends (nginx, Apache,
// lighttpd, the uWSGI HTTP router) in front of tsgi's uwsgi door on loopback. Each peer runs from a
// private config in a temp dir (pid file, logs, temp paths inside it), binds 127.0.0.1 only, and is
// stopped by its pid (its process group: Apache and the router fork children) in after().
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Application, Environ, EnvironRecord } from '../../src/spec.js';
import type { Logger } from '../../src/runner/log.js';
import { serveUwsgi, type UwsgiServerHandle } from '../../src/uwsgi/index.js';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The seed's environ app in Python (copied from the oracle: shared/oracle/app.py). */
export const PY_ENVIRON_APP = path.join(HERE, 'environ-app.py');

/** Where Debian keeps what the peers need besides their binary. */
export const APACHE_MODULES = '/usr/lib/apache2/modules';
export const UWSGI_PLUGINS = '/usr/lib/uwsgi/plugins';

/** The absolute path of a program on PATH or in the sbin directories, or null. */
export function findBinary(name: string): string | null {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin']);
  for (const d of dirs) {
    const p = path.join(d, name);
    if (d && existsSync(p)) return p;
  }
  return null;
}

/** uWSGI plugin arguments: Debian's uwsgi-core loads plugins; a pip-built uwsgi has them built in. */
export function uwsgiPlugin(name: string): string[] {
  return existsSync(path.join(UWSGI_PLUGINS, `${name}_plugin.so`)) ? ['--plugin', name] : [];
}

/** Why the Python uWSGI comparison cannot run, or null when it can. */
export function pythonUwsgiMissing(): string | null {
  if (!findBinary('uwsgi')) return 'uwsgi not installed (apt-get install uwsgi-core uwsgi-plugin-python3)';
  if (existsSync(UWSGI_PLUGINS) && !existsSync(path.join(UWSGI_PLUGINS, 'python3_plugin.so'))) {
    return 'the uWSGI python3 plugin is not installed (apt-get install uwsgi-plugin-python3)';
  }
  return null;
}

export function tempDir(tag: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `tsgi-interop-${tag}-`));
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once something accepts connections on the port; rejects after `ms`. */
export async function waitForPort(port: number, ms = 10_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
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
  /** The peer's output so far (its log file), for assertion messages. */
  log(): string;
  /** SIGTERM to the process group, SIGKILL if it is still there after 5 s. */
  stop(): Promise<void>;
}

/** Starts a peer in its own process group, output to DIR/NAME.out, and waits for its port. */
export async function startPeer(name: string, dir: string, argv: string[], port: number, env?: NodeJS.ProcessEnv): Promise<Peer> {
  const outPath = path.join(dir, `${name}.out`);
  const out = openSync(outPath, 'a');
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
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
  const log = () => (existsSync(outPath) ? readFileSync(outPath, 'latin1') : '');
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
      // Children (Apache's, the router's gateway) may outlive a parent that already exited.
      kill('SIGKILL');
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

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

// --- the application tsgi serves ------------------------------------------------------------------

export const STREAM_BYTES = 10 * 1024 * 1024;
const STREAM_CHUNK = 64 * 1024;

/** The byte pattern of the streamed response: chunk i is filled with i mod 251. */
export function streamDigest(): string {
  const h = createHash('sha256');
  for (let i = 0; i < STREAM_BYTES / STREAM_CHUNK; i++) h.update(Buffer.alloc(STREAM_CHUNK, i % 251));
  return h.digest('hex');
}

const STARS = '*'.repeat(30);

function latin1(text: string): Buffer {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out += cp <= 0xff ? ch : '\\u' + cp.toString(16).padStart(4, '0');
  }
  return Buffer.from(out, 'latin1');
}

/** The TypeScript twin of app.py's application_with_body: the sorted environ, then BODY:<hex>. */
async function environApp(environ: Environ, startResponse: Parameters<Application>[1]) {
  const length = Number.parseInt(String(environ.CONTENT_LENGTH ?? ''), 10);
  const input = environ['wsgi.input'];
  const payload = length > 0 ? await input.read(length) : environ['wsgi.input_terminated'] ? await input.read() : new Uint8Array(0);
  const lines = Object.keys(environ)
    .sort()
    .map((k) => `${k}:${String((environ as EnvironRecord)[k])}`);
  const parts = ['The Begining\n', STARS + '\n', lines.join('\n')];
  if (payload.length > 0) parts.push('\nBODY:' + Buffer.from(payload).toString('hex'));
  parts.push('\n' + STARS, '\nThe End');
  const data = parts.map(latin1);
  startResponse('200 OK', [
    ['Content-Type', 'text/plain'],
    ['Content-Length', String(data.reduce((n, p) => n + p.length, 0))],
  ]);
  return data;
}

/** How a /forever response ended: `complete` is false when it was cut short (the client left). */
export interface ForeverEnd {
  complete: boolean;
  sent: number;
}
/** The limit of /forever, so that a front end that buffers everything cannot fill the disk. */
export const FOREVER_LIMIT = 64 * 1024 * 1024;
let foreverDone: (end: ForeverEnd) => void = () => {};
/** Call before a /forever request: resolves when that response's body is closed. */
export function expectForeverClose(): Promise<ForeverEnd> {
  return new Promise((r) => (foreverDone = r));
}

/** Routes on the last path segment, so it works whatever SCRIPT_NAME/PATH_INFO split a peer makes. */
export const interopApp: Application = async (environ, startResponse) => {
  const p = `${environ.SCRIPT_NAME}${environ.PATH_INFO}`;
  const leaf = p.slice(p.lastIndexOf('/') + 1);
  if (leaf === 'echo') {
    const body = Buffer.from(await environ['wsgi.input'].read());
    const text = `${body.length} ${createHash('sha256').update(body).digest('hex')}`;
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [text];
  }
  if (leaf === 'stream') {
    // No Content-Length: the end of the body is the end of the uwsgi connection.
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
    return (function* () {
      for (let i = 0; i < STREAM_BYTES / STREAM_CHUNK; i++) yield Buffer.alloc(STREAM_CHUNK, i % 251);
    })();
  }
  if (leaf === 'forever') {
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
    const done = foreverDone;
    const chunk = Buffer.alloc(STREAM_CHUNK, 120);
    let sent = 0;
    return {
      async *[Symbol.asyncIterator]() {
        while (sent < FOREVER_LIMIT) {
          await sleep(1);
          sent += chunk.length;
          yield chunk;
        }
      },
      close: () => done({ complete: sent >= FOREVER_LIMIT, sent }),
    };
  }
  if (leaf === 'broken') {
    // Fails after 128 KiB of a body without Content-Length: the client must not see a complete response.
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
    return (async function* () {
      yield Buffer.alloc(STREAM_CHUNK, 1);
      await sleep(10);
      yield Buffer.alloc(STREAM_CHUNK, 2);
      await sleep(10);
      throw new Error('the application failed mid-body (expected by the test)');
    })();
  }
  if (leaf === 'hello') {
    startResponse('200 OK', [
      ['Content-Type', 'text/plain'],
      ['X-Hello', 'yes'],
    ]);
    return ['Hello, World!\n'];
  }
  return environApp(environ, startResponse);
};

/** Starts tsgi's uwsgi door on the port the front end forwards to. */
export function startTsgi(port: number, log?: Logger): Promise<UwsgiServerHandle> {
  return serveUwsgi(interopApp, { host: '127.0.0.1', port, log: log ?? quietLog, gracefulTimeout: 2000 });
}

/** Collects log lines so a failing test can show them; nothing goes to the test output. */
export const logLines: string[] = [];
export const quietLog: Logger = {
  error: (m) => logLines.push(`ERROR ${m}`),
  warn: (m) => logLines.push(`WARN ${m}`),
  info: (m) => logLines.push(`INFO ${m}`),
};

// --- the HTTP client --------------------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** False when the connection ended before the response's framing said it was complete. */
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

/** One request on a fresh connection; the whole response body. */
export function request(port: number, ask: Ask): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...ask.headers };
    const body = typeof ask.body === 'string' ? Buffer.from(ask.body) : ask.body;
    if (body && !ask.chunked) headers['Content-Length'] = String(body.length);
    if (ask.chunked) headers['Transfer-Encoding'] = 'chunked';
    const req = http.request({ host: '127.0.0.1', port, method: ask.method ?? 'GET', path: ask.path, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      const done = () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), complete: res.complete });
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', done);
      // A response cut short: 'aborted' (and an ECONNRESET 'error') instead of 'end'.
      res.on('error', done);
      res.on('aborted', done);
    });
    req.on('error', reject);
    if (body && ask.chunked) {
      for (let i = 0; i < body.length; i += ask.chunked) req.write(body.subarray(i, i + ask.chunked));
      req.end();
    } else req.end(body);
  });
}

/** Asks for /forever, reads `bytes` of it, then drops the connection. */
export function readAndDisconnect(port: number, urlPath: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    });
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

// --- environ dumps -------------------------------------------------------------------------------

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

/** tsgi prints JavaScript values; Python prints its own: map the few that differ only in spelling. */
function pythonSpelling(value: string): string {
  if (value === 'true') return 'True';
  if (value === 'false') return 'False';
  if (value === '1,0') return '(1, 0)';
  return value;
}

/**
 * Keys that legitimately differ between tsgi and Python's uWSGI behind the same front end, each with
 * its reason. A function returns the reason when the difference is the expected one, else null.
 */
export const EXCLUDED: ReadonlyArray<[key: string | RegExp, why: (ts: string | undefined, py: string | undefined) => string | null]> = [
  ['SERVER_SOFTWARE', () => "tsgi names itself (tsgi/<version>); uWSGI passes on the front end's value or has none"],
  ['REMOTE_PORT', () => "the front end's ephemeral port differs per connection, and tsgi drops the uWSGI router's byte-swapped one"],
  ['RAW_URI', (_ts, py) => (py === undefined ? 'a tsgi (gunicorn) extension uWSGI does not set' : null)],
  ['wsgi.input', () => 'an object: its repr differs by language'],
  ['wsgi.errors', () => 'an object: its repr differs by language'],
  ['wsgi.file_wrapper', () => 'an object: its repr differs by language'],
  ['wsgi.input_terminated', (ts, py) => (py === undefined && ts === 'true' ? 'tsgi always knows where the body ends; uWSGI 2.0 does not set the key' : null)],
  [/^uwsgi\./, (ts) => (ts === undefined ? "uWSGI's own keys (uwsgi.version, uwsgi.node, ...)" : null)],
  [
    /^HTTP_CONTENT_(TYPE|LENGTH)$/,
    (ts) => (ts === undefined ? 'tsgi drops the duplicates of CONTENT_TYPE/CONTENT_LENGTH (RFC 3875 4.1.18); uWSGI keeps them' : null),
  ],
  [
    /^CONTENT_(TYPE|LENGTH)$/,
    (ts, py) => (ts === undefined && py === '' ? 'tsgi leaves out the empty CONTENT_TYPE/CONTENT_LENGTH nginx sends on a GET, as its HTTP door does' : null),
  ],
  [
    'SCRIPT_NAME',
    (ts, py) => (py === undefined && ts === '' ? 'nginx sends no SCRIPT_NAME: tsgi defaults it to "" (PEP 3333 requires it), uWSGI leaves it out' : null),
  ],
];

/** Differences between the two dumps that no exclusion explains, one line each. */
export function environDiff(ts: Map<string, string>, py: Map<string, string>): string[] {
  const diffs: string[] = [];
  for (const key of new Set([...ts.keys(), ...py.keys()])) {
    const t = ts.has(key) ? pythonSpelling(ts.get(key)!) : undefined;
    const p = py.get(key);
    if (t === p) continue;
    const rule = EXCLUDED.find(([k]) => (typeof k === 'string' ? k === key : k.test(key)));
    if (rule && rule[1](ts.get(key), p) !== null) continue;
    diffs.push(`${key}: tsgi ${JSON.stringify(t)} / uWSGI ${JSON.stringify(p)}`);
  }
  return diffs.sort();
}

/** Runs Python's uWSGI with the seed's environ app on `port` (uwsgi protocol), master off. */
export function startPythonUwsgi(dir: string, port: number): Promise<Peer> {
  return startPeer(
    'uwsgi-python',
    dir,
    [
      findBinary('uwsgi')!,
      ...uwsgiPlugin('python3'),
      '--socket',
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
