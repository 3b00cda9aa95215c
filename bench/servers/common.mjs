// What the Node peers of `npm run bench` serve: the same bytes as the tsgi apps (examples/hello.ts,
// examples/environ.ts, bench/apps/tsgi.ts) and the Python apps (bench/python/apps.py).
// Every server script takes `PORT APP` (APP: hello, environ, mib, upload, stream, and for some routes
// and multipart), listens on 127.0.0.1 and prints "Listening at: http://127.0.0.1:PORT" on stderr.

import { readFileSync } from 'node:fs';

export const APPS = ['hello', 'environ', 'mib', 'upload', 'stream', 'routes', 'multipart'];
export const HELLO = Buffer.from('Hello, World!\n');
export const MIB = Buffer.alloc(1024 * 1024, 'x');
export const CHUNK = Buffer.alloc(64 * 1024, 'x');
export const CHUNKS = 1600; // 100 MiB

export function args() {
  const port = Number(process.argv[2]);
  const app = process.argv[3] ?? 'hello';
  if (!Number.isInteger(port) || !APPS.includes(app)) {
    process.stderr.write(`usage: ${process.argv[1]} PORT [${APPS.join('|')}]\n`);
    process.exit(2);
  }
  return { port, app };
}

/** Why this Node cannot give each worker a socket of its own (`listen({ reusePort })`: 22.12+ on 22, 23.1+ after), or null. */
export function reusePortMissing() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)) return null;
  return `listen({ reusePort }) needs Node >= 22.12 (or 23.1), this is ${process.version}`;
}

export const listening = (port) => process.stderr.write(`Listening at: http://127.0.0.1:${port} (pid ${process.pid})\n`);

const STARS = '*'.repeat(30);

// The environ keys a WSGI server adds beyond the request's own (src/http/environ.ts), as the seed app
// prints them with String(value): without them this dump was 331 bytes for curl's request against
// tsgi's 771, so the tsgi rows sent more bytes and formatted more keys than the reference. The
// constants are what String() gives for tsgi's values (FileWrapper's own toString in src/util.ts).
const WSGI_KEYS = {
  SERVER_SOFTWARE: 'tsgi/' + JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
  'wsgi.errors': '[object Object]',
  'wsgi.file_wrapper': '[Function: FileWrapper]',
  'wsgi.input': '[object Object]',
  'wsgi.input_terminated': 'true',
  'wsgi.multiprocess': 'false',
  'wsgi.multithread': 'false',
  'wsgi.run_once': 'false',
  'wsgi.url_scheme': 'http',
  'wsgi.version': '1,0',
};

/**
 * The seed demo by hand, with no WSGI layer: the CGI variables and headers of the request (an
 * IncomingMessage), sorted, between the banner lines, as latin-1 bytes.
 */
export function environDump(req, port) {
  const q = req.url.indexOf('?');
  const env = {
    REQUEST_METHOD: req.method,
    SCRIPT_NAME: '',
    PATH_INFO: q === -1 ? req.url : req.url.slice(0, q),
    QUERY_STRING: q === -1 ? '' : req.url.slice(q + 1),
    SERVER_NAME: '127.0.0.1',
    SERVER_PORT: String(port),
    SERVER_PROTOCOL: 'HTTP/' + req.httpVersion,
    REMOTE_ADDR: req.socket.remoteAddress,
    REMOTE_PORT: String(req.socket.remotePort),
    REQUEST_URI: req.url,
    RAW_URI: req.url,
    ...WSGI_KEYS,
  };
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) env['HTTP_' + raw[i].toUpperCase().replace(/-/g, '_')] = raw[i + 1];
  const body = Object.keys(env)
    .sort()
    .map((k) => `${k}:${env[k]}`)
    .join('\n');
  return Buffer.from(`The Begining\n${STARS}\n${body}\n${STARS}\nThe End`, 'latin1');
}

/** 100 MiB in 64 KiB chunks. */
export function* chunks() {
  for (let i = 0; i < CHUNKS; i++) yield CHUNK;
}

/** The answer of every multipart app (bench/apps/tsgi.ts and bench/python/apps.py say the same). */
export const multipartAnswer = (fields, files, bytes) => `${fields} fields, ${files} files, ${bytes} file bytes\n`;
