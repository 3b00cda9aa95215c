// One table of CGI-variable sets, three doors: each row goes through the REAL uwsgi door (a uwsgi packet
// over a Unix socket), the REAL FastCGI door (BEGIN_REQUEST / PARAMS / STDIN records over a Unix
// socket) and the CGI door (tsgi-cgi, src/cgi/bin.ts, spawned with the variables as its environment),
// each serving the same environ dump. The three must give the same environ, and the values the row
// expects. Before src/protocol/environ.ts they did not: the first row gave SERVER_PORT '' under uwsgi
// and '80' under FastCGI, PATH_INFO '/b' and '/a'.
//
// Unix sockets, so that no door has a local or peer address to fall back on: what a front end leaves
// out then falls back the same way at all three (localhost, the scheme's port, no REMOTE_ADDR).
//
// Aside from the comparison (each checked on its own): wsgi.run_once and wsgi.multiprocess (true under
// CGI: one process per request), SERVER_SOFTWARE (the web server's under CGI, which is the server there)
// and RAW_URI (not under CGI, whose environ is wsgiref's CGIHandler's).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveUwsgi, encodePacket, type UwsgiServerHandle } from '../../src/uwsgi/index.js';
import { serveFastcgi, type FastcgiServerHandle } from '../../src/fastcgi/index.js';
import { VERSION } from '../../src/version.js';
import type { Application } from '../../src/spec.js';
import { exchange as uwsgiExchange, memoryLog, parseResponse } from '../uwsgi/support.js';
import { request as fcgiRequest, responses, send as fcgiSend } from '../fastcgi/client.js';
import { application as dump } from './fixtures/environ-dump.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const BIN = path.join(ROOT, 'src/cgi/bin.ts');
const APP = path.join(HERE, 'fixtures/environ-dump.ts');
const TSX = import.meta.resolve('tsx');
const SOFTWARE = `tsgi/${VERSION}`;

type Vars = Array<[string, string]>;
type Dumped = Record<string, string | boolean | number[]>;
interface Reply {
  /** The body the application read and its environ; null when the door refused the request. */
  body: string | null;
  environ: Dumped | null;
  /** The response's status ('' when the door closed without one). */
  status: string;
  /** What tsgi-cgi wrote to stderr (its log). */
  stderr?: string;
}

interface Row {
  name: string;
  vars: Vars;
  /** What a CGI web server would put in the environment for the same request, when it is not `vars`: it merges repeated fields itself (RFC 3875 §4.1.18), an environment cannot repeat a name. */
  cgi?: Vars;
  body?: string;
  /** Values every door must give; `undefined`: the key must be absent. */
  expect: Record<string, string | boolean | undefined>;
}

const GET: Vars = [['REQUEST_METHOD', 'GET']];

const ROWS: Row[] = [
  {
    name: 'the drift case: empty SERVER_PORT and SERVER_PROTOCOL, SCRIPT_NAME + REQUEST_URI, no PATH_INFO',
    vars: [...GET, ['SERVER_PORT', ''], ['SERVER_PROTOCOL', ''], ['SCRIPT_NAME', '/a'], ['REQUEST_URI', '/a/b']],
    expect: {
      SERVER_PORT: '80',
      SERVER_PROTOCOL: 'HTTP/1.0',
      SCRIPT_NAME: '/a',
      PATH_INFO: '/b',
      QUERY_STRING: '',
      REQUEST_URI: '/a/b',
      SERVER_NAME: 'localhost',
    },
  },
  {
    name: 'empty SERVER_NAME, missing SERVER_PORT and SERVER_PROTOCOL',
    vars: [...GET, ['SERVER_NAME', ''], ['PATH_INFO', '/x']],
    expect: { SERVER_NAME: 'localhost', SERVER_PORT: '80', SERVER_PROTOCOL: 'HTTP/1.0', SCRIPT_NAME: '', PATH_INFO: '/x', QUERY_STRING: '' },
  },
  {
    name: 'nothing but REQUEST_METHOD: every required key is there, and nothing optional',
    vars: GET,
    expect: {
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '',
      PATH_INFO: '',
      QUERY_STRING: '',
      SERVER_NAME: 'localhost',
      SERVER_PORT: '80',
      SERVER_PROTOCOL: 'HTTP/1.0',
      CONTENT_TYPE: undefined,
      CONTENT_LENGTH: undefined,
      REMOTE_ADDR: undefined,
      REMOTE_PORT: undefined,
      REQUEST_URI: undefined,
      'wsgi.url_scheme': 'http',
      'wsgi.input_terminated': true,
      'wsgi.multithread': false,
    },
  },
  {
    name: 'the server variables as sent',
    vars: [...GET, ['SERVER_NAME', 'wire.test'], ['SERVER_PORT', '8080'], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['PATH_INFO', '/']],
    expect: { SERVER_NAME: 'wire.test', SERVER_PORT: '8080', SERVER_PROTOCOL: 'HTTP/1.1' },
  },
  {
    name: 'SCRIPT_NAME and PATH_INFO both sent: kept as sent, whatever REQUEST_URI says',
    vars: [...GET, ['SCRIPT_NAME', '/app'], ['PATH_INFO', '/x/y'], ['REQUEST_URI', '/elsewhere?q=1'], ['QUERY_STRING', 'q=1']],
    expect: { SCRIPT_NAME: '/app', PATH_INFO: '/x/y', QUERY_STRING: 'q=1', REQUEST_URI: '/elsewhere?q=1' },
  },
  {
    name: 'an empty PATH_INFO is kept (the front end split and found nothing)',
    vars: [...GET, ['SCRIPT_NAME', '/app'], ['PATH_INFO', ''], ['REQUEST_URI', '/app']],
    expect: { SCRIPT_NAME: '/app', PATH_INFO: '' },
  },
  {
    name: 'REQUEST_URI only: PATH_INFO and QUERY_STRING from it, decoded as the HTTP door decodes',
    vars: [...GET, ['REQUEST_URI', '/p/a%20b/caf%C3%A9?x=%20&y']],
    expect: { SCRIPT_NAME: '', PATH_INFO: '/p/a b/caf\u00c3\u00a9', QUERY_STRING: 'x=%20&y', REQUEST_URI: '/p/a%20b/caf%C3%A9?x=%20&y' },
  },
  {
    name: 'SCRIPT_NAME under which REQUEST_URI goes on: the rest is PATH_INFO (a whole segment only)',
    vars: [...GET, ['SCRIPT_NAME', '/app'], ['REQUEST_URI', '/app/x/y?z=1']],
    expect: { SCRIPT_NAME: '/app', PATH_INFO: '/x/y', QUERY_STRING: 'z=1' },
  },
  {
    name: 'HTTPS=on: scheme https, and 443 for the port nobody sent',
    vars: [...GET, ['HTTPS', 'on'], ['PATH_INFO', '/']],
    expect: { 'wsgi.url_scheme': 'https', SERVER_PORT: '443', HTTPS: 'on' },
  },
  {
    name: 'HTTPS=off and REQUEST_SCHEME=http: http',
    vars: [...GET, ['HTTPS', 'off'], ['REQUEST_SCHEME', 'http']],
    expect: { 'wsgi.url_scheme': 'http', SERVER_PORT: '80' },
  },
  {
    name: 'UWSGI_SCHEME decides over HTTPS, either way',
    vars: [...GET, ['UWSGI_SCHEME', 'https'], ['HTTPS', 'off'], ['SERVER_PORT', '8443']],
    expect: { 'wsgi.url_scheme': 'https', SERVER_PORT: '8443', UWSGI_SCHEME: 'https' },
  },
  {
    name: 'UWSGI_SCHEME=http over HTTPS=on',
    vars: [...GET, ['UWSGI_SCHEME', 'http'], ['HTTPS', 'on']],
    expect: { 'wsgi.url_scheme': 'http', SERVER_PORT: '80' },
  },
  {
    name: 'HTTP_* repeated: joined with "," and cookies with "; "; an equal HTTP_HOST repeat collapses',
    vars: [
      ...GET,
      ['HTTP_X_DUP', 'a'],
      ['HTTP_HOST', 'h.test'],
      ['HTTP_COOKIE', 'c=1'],
      ['HTTP_X_DUP', 'b'],
      ['HTTP_COOKIE', 'd=2'],
      ['HTTP_HOST', 'h.test'],
      ['HTTP_X_EMPTY', ''],
    ],
    cgi: [...GET, ['HTTP_X_DUP', 'a,b'], ['HTTP_HOST', 'h.test'], ['HTTP_COOKIE', 'c=1; d=2'], ['HTTP_X_EMPTY', '']],
    expect: { HTTP_X_DUP: 'a,b', HTTP_COOKIE: 'c=1; d=2', HTTP_HOST: 'h.test', HTTP_X_EMPTY: '' },
  },
  {
    name: 'empty CONTENT_TYPE and CONTENT_LENGTH are left out; HTTP_CONTENT_* dropped',
    vars: [...GET, ['CONTENT_TYPE', ''], ['CONTENT_LENGTH', ''], ['HTTP_CONTENT_TYPE', 'text/plain'], ['HTTP_CONTENT_LENGTH', '0']],
    expect: { CONTENT_TYPE: undefined, CONTENT_LENGTH: undefined, HTTP_CONTENT_TYPE: undefined, HTTP_CONTENT_LENGTH: undefined },
  },
  {
    name: 'CONTENT_TYPE and CONTENT_LENGTH sent: kept, and the body is exactly that long',
    vars: [
      ['REQUEST_METHOD', 'POST'],
      ['CONTENT_TYPE', 'application/x-www-form-urlencoded'],
      ['CONTENT_LENGTH', '5'],
      ['PATH_INFO', '/form'],
    ],
    body: 'hello',
    expect: { CONTENT_TYPE: 'application/x-www-form-urlencoded', CONTENT_LENGTH: '5', REQUEST_METHOD: 'POST' },
  },
  {
    name: 'CONTENT_LENGTH 0 is kept (a body of no bytes, not a missing field)',
    vars: [
      ['REQUEST_METHOD', 'POST'],
      ['CONTENT_LENGTH', '0'],
    ],
    expect: { CONTENT_LENGTH: '0', CONTENT_TYPE: undefined },
  },
  {
    name: 'REMOTE_ADDR and REMOTE_PORT as sent; an empty REMOTE_ADDR is left out',
    vars: [...GET, ['REMOTE_ADDR', '203.0.113.7'], ['REMOTE_PORT', '40000']],
    expect: { REMOTE_ADDR: '203.0.113.7', REMOTE_PORT: '40000' },
  },
  {
    name: 'a REMOTE_PORT that is no port, or behind the uWSGI router, is left out; so is an empty REMOTE_ADDR',
    vars: [...GET, ['REMOTE_ADDR', ''], ['REMOTE_PORT', '99999'], ['UWSGI_ROUTER', 'http']],
    expect: { REMOTE_ADDR: undefined, REMOTE_PORT: undefined, UWSGI_ROUTER: 'http' },
  },
  {
    name: 'variables named wsgi.*, tsgi.* or uwsgi.* are ignored; toString is data',
    vars: [...GET, ['wsgi.url_scheme', 'https'], ['wsgi.run_once', 'x'], ['tsgi.x', '1'], ['uwsgi.node', 'n'], ['toString', 't']],
    expect: { 'wsgi.url_scheme': 'http', 'tsgi.x': undefined, 'uwsgi.node': undefined, toString: 't' },
  },
  {
    name: 'odd bytes: every value is its bytes as latin-1, high bytes and control characters included',
    vars: [
      ...GET,
      ['PATH_INFO', '/caf\u00c3\u00a9/\u00ff'],
      ['QUERY_STRING', 'a=%00&b=\u00e9'],
      ['HTTP_X_ODD', '\u00ff\u0080 tab\there \u0001'],
      ['REQUEST_URI', '/caf%C3%A9/%FF?a=%00&b=\u00e9'],
    ],
    expect: { PATH_INFO: '/caf\u00c3\u00a9/\u00ff', QUERY_STRING: 'a=%00&b=\u00e9', HTTP_X_ODD: '\u00ff\u0080 tab\there \u0001' },
  },
];

/** Rows every door refuses before the application runs (uwsgi closes without an answer, FastCGI and CGI say 400). */
const REFUSED: Array<{ name: string; vars: Vars; cgi?: null }> = [
  { name: 'CONTENT_LENGTH not 1 to 15 digits', vars: [...GET, ['CONTENT_LENGTH', '-1']] },
  { name: 'CONTENT_LENGTH with a sign', vars: [...GET, ['CONTENT_LENGTH', '+5']] },
  { name: 'REQUEST_METHOD not a token', vars: [['REQUEST_METHOD', 'G T']] },
  // Not under CGI: an environment cannot hold two HTTP_HOST (the web server merges or refuses them itself).
  { name: 'two different HTTP_HOST values', vars: [...GET, ['HTTP_HOST', 'a'], ['HTTP_HOST', 'evil']], cgi: null },
];

/** Keys each door sets its own way; compared on their own below. */
const DOOR_KEYS = new Set(['wsgi.run_once', 'wsgi.multiprocess', 'SERVER_SOFTWARE', 'RAW_URI']);

// --- the three doors ----------------------------------------------------------------------------------

const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-environ-'));
const uwsgiSock = path.join(dir, 'uwsgi.sock');
const fcgiSock = path.join(dir, 'fcgi.sock');
let calls = 0;
const counted: Application = (environ, startResponse) => {
  calls++;
  return dump(environ, startResponse);
};
let uwsgi: UwsgiServerHandle;
let fastcgi: FastcgiServerHandle;
const uwsgiLog = memoryLog();
const fcgiLog = memoryLog();

before(async () => {
  uwsgi = await serveUwsgi(counted, { path: uwsgiSock, log: uwsgiLog, headerTimeout: 5000, bodyTimeout: 5000 });
  fastcgi = await serveFastcgi(counted, { path: fcgiSock, log: fcgiLog });
});
after(async () => {
  await uwsgi?.close();
  await fastcgi?.close();
  rmSync(dir, { recursive: true, force: true });
});

function parsed(body: Buffer, status: string): Reply {
  if (!status.startsWith('200')) return { body: null, environ: null, status };
  const { body: b, environ } = JSON.parse(body.toString('utf8')) as { body: string; environ: Dumped };
  return { body: b, environ, status };
}

async function viaUwsgi(vars: Vars, body = ''): Promise<Reply> {
  const { data } = await uwsgiExchange(0, [encodePacket(vars, Buffer.from(body, 'latin1'))], { path: uwsgiSock });
  // A packet the door cannot use: closed without an answer, as uWSGI does.
  if (data.length === 0) return { body: null, environ: null, status: '' };
  const r = parseResponse(data);
  return parsed(r.body, r.statusLine.slice(9));
}

async function viaFastcgi(vars: Vars, body = ''): Promise<Reply> {
  const reply = await fcgiSend(fcgiSock, fcgiRequest({ params: vars, stdin: body }), { ends: 1 });
  const r = responses(reply.records)[0]!;
  return parsed(r.body, r.status);
}

/** Bash's $'...' quoting of a native string: every byte but plain ones as \xHH (an environment holds bytes, not UTF-8 text). */
function bashBytes(s: string): string {
  let out = "$'";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    assert.ok(c > 0 && c < 256, 'a native string, without NUL');
    out += /[A-Za-z0-9/._,=-]/.test(ch) ? ch : '\\x' + c.toString(16).padStart(2, '0');
  }
  return out + "'";
}

function viaCgi(vars: Vars, body = ''): Promise<Reply> {
  // `env -i`: the child's environment is exactly the request's variables (no PATH, no HOME), as the
  // environ would show anything else; node and tsx are named by absolute path.
  const assigns = vars.map(([k, v]) => `${bashBytes(k)}=${bashBytes(v)}`).join(' ');
  const cmd = `exec env -i ${assigns} ${bashBytes(process.execPath)} --import ${bashBytes(TSX)} ${bashBytes(BIN)} ${bashBytes(APP)}`;
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', ['-c', cmd], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const all = Buffer.concat(out);
      const cut = all.indexOf('\r\n\r\n');
      if (cut === -1) return reject(new Error(`tsgi-cgi gave no response head: ${JSON.stringify(all.toString('latin1'))} ${err}`));
      const status = /^Status: (.*)$/m.exec(all.subarray(0, cut).toString('latin1'))?.[1] ?? '200 OK';
      try {
        resolve({ ...parsed(all.subarray(cut + 4), status), stderr: err });
      } catch (e) {
        reject(new Error(`${(e as Error).message}: ${err}`));
      }
    });
    child.stdin.end(Buffer.from(body, 'latin1'));
  });
}

function withoutDoorKeys(e: Dumped): Dumped {
  return Object.fromEntries(Object.entries(e).filter(([k]) => !DOOR_KEYS.has(k)));
}

// --- the table ------------------------------------------------------------------------------------------

describe('one table of CGI variables, three doors, one environ', { timeout: 120_000 }, () => {
  for (const row of ROWS) {
    test(row.name, async () => {
      const [u, f, c] = await Promise.all([viaUwsgi(row.vars, row.body), viaFastcgi(row.vars, row.body), viaCgi(row.cgi ?? row.vars, row.body)]);
      for (const [door, r] of [
        ['uwsgi', u],
        ['fastcgi', f],
        ['cgi', c],
      ] as const) {
        assert.equal(r.status, '200 OK', `${door}: ${JSON.stringify(r)}`);
        assert.equal(r.body, row.body ?? '', `${door} read the body`);
      }
      const [eu, ef, ec] = [u.environ!, f.environ!, c.environ!];
      // The same environ at every door...
      assert.deepEqual(withoutDoorKeys(ef), withoutDoorKeys(eu), 'FastCGI and uwsgi');
      assert.deepEqual(withoutDoorKeys(ec), withoutDoorKeys(eu), 'CGI and uwsgi');
      // ...and the one the row expects.
      for (const [k, v] of Object.entries(row.expect)) {
        if (v === undefined) assert.equal(Object.hasOwn(eu, k), false, `${k} must be absent`);
        else assert.equal(eu[k], v, k);
      }
      // PEP 3333's required keys, never missing; SERVER_NAME and SERVER_PORT never empty.
      for (const k of ['REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL']) {
        assert.equal(typeof eu[k], 'string', k);
      }
      assert.notEqual(eu.SERVER_NAME, '');
      assert.notEqual(eu.SERVER_PORT, '');
      assert.deepEqual(eu['wsgi.version'], [1, 0]);
      // The door keys, each door's own way.
      assert.deepEqual([eu['wsgi.run_once'], ef['wsgi.run_once'], ec['wsgi.run_once']], [false, false, true]);
      assert.deepEqual([eu['wsgi.multiprocess'], ef['wsgi.multiprocess'], ec['wsgi.multiprocess']], [false, false, true]);
      assert.deepEqual([eu.SERVER_SOFTWARE, ef.SERVER_SOFTWARE, ec.SERVER_SOFTWARE], [SOFTWARE, SOFTWARE, SOFTWARE]);
      const uri = row.vars.find(([k]) => k === 'REQUEST_URI')?.[1];
      assert.deepEqual([eu.RAW_URI, ef.RAW_URI, ec.RAW_URI], [uri, uri, undefined]);
    });
  }

  test("SERVER_SOFTWARE: tsgi's at the uwsgi and FastCGI doors, the web server's under CGI", async () => {
    const vars: Vars = [...GET, ['SERVER_SOFTWARE', 'Apache/2.4']];
    const [u, f, c] = await Promise.all([viaUwsgi(vars), viaFastcgi(vars), viaCgi(vars)]);
    assert.deepEqual([u.environ!.SERVER_SOFTWARE, f.environ!.SERVER_SOFTWARE, c.environ!.SERVER_SOFTWARE], [SOFTWARE, SOFTWARE, 'Apache/2.4']);
  });

  test('no REQUEST_METHOD: uwsgi and FastCGI refuse it, a CGI script run by hand answers a GET', async () => {
    const vars: Vars = [['PATH_INFO', '/']];
    const before = calls;
    const [u, f, c] = await Promise.all([viaUwsgi(vars), viaFastcgi(vars), viaCgi(vars)]);
    assert.equal(u.status, '', 'uwsgi closed without an answer');
    assert.equal(f.status, '400 Bad Request');
    assert.equal(calls, before, 'the application was not called');
    assert.equal(c.environ!.REQUEST_METHOD, 'GET');
  });

  for (const row of REFUSED) {
    test(`refused at every door, the application never called: ${row.name}`, async () => {
      const before = calls;
      const logged = uwsgiLog.lines.length + fcgiLog.lines.length;
      const [u, f, c] = await Promise.all([viaUwsgi(row.vars), viaFastcgi(row.vars), row.cgi === null ? null : viaCgi(row.vars)]);
      assert.equal(u.status, '', 'uwsgi closes without an answer');
      assert.equal(f.status, '400 Bad Request');
      assert.equal(calls, before);
      assert.equal(uwsgiLog.lines.length + fcgiLog.lines.length, logged + 2, 'one log line per door');
      if (c !== null) {
        assert.equal(c.status, '400 Bad Request');
        assert.match(c.stderr ?? '', /answered 400 without calling the application/);
      }
    });
  }
});
