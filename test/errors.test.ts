// The error catalogue (src/errors.ts) against its page and its users, as fastify's
// test/internals/errors.test.js holds lib/errors.js: every code is documented in docs/errors.md and
// every documented code exists; every code literal in src/ is in the catalogue; every error class src/
// exports carries a code from it; and the code each class gives is the one written here, so a rename
// shows up as a failing test, not as a silent break for callers who switch on `err.code`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ERRORS, ClientError, TsgiError, type ErrorCode } from '../src/errors.js';
import { reasonPhrase } from '../src/protocol/status.js';
import { BindError, parseBind } from '../src/server/bind.js';
import { LoadError, loadApp } from '../src/server/load.js';
import { ListenError, clearUnixPath } from '../src/server/sockets.js';
import { SettingError, fromConfig } from '../src/settings/index.js';
import { ProtocolError, parseRecords } from '../src/protocol/fastcgi.js';
import { PacketError, UwsgiParser } from '../src/protocol/uwsgi.js';
import { AssertionError, ValueError, checkHeaders, checkStatus } from '../src/runner/checks.js';
import { ValidationError, WSGIWarning } from '../src/validate.js';
import { request } from '../src/testing/index.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const src = path.join(root, 'src');
const walk = (d: string): string[] =>
  readdirSync(d).flatMap((n) => {
    const f = path.join(d, n);
    return statSync(f).isDirectory() ? walk(f) : f.endsWith('.ts') ? [f] : [];
  });
const CODES = Object.keys(ERRORS) as ErrorCode[];

describe('the catalogue', () => {
  it('names every code TSGI_ERR_… (TSGI_WARN_… for warnings), says what it means, and gives refusals a registered 4xx/5xx status', () => {
    for (const code of CODES) {
      const entry: { status?: number; what: string } = ERRORS[code];
      assert.match(code, /^TSGI_(ERR|WARN)_[A-Z0-9_]+$/);
      assert.ok(entry.what.length > 10, code);
      if (entry.status !== undefined) {
        assert.ok(entry.status >= 400 && entry.status <= 599, code);
        assert.notEqual(reasonPhrase(entry.status), 'Unknown', code);
      }
    }
  });

  it('is documented: every code is a row of docs/errors.md with its status, and every row is a code', () => {
    const md = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
    const rows = new Map([...md.matchAll(/^\| `(TSGI_[A-Z0-9_]+)` \| *(\d*) *\|/gm)].map((m) => [m[1]!, m[2]!]));
    assert.deepEqual(
      CODES.filter((c) => !rows.has(c)),
      [],
      'codes missing from docs/errors.md',
    );
    assert.deepEqual(
      [...rows.keys()].filter((c) => !(c in ERRORS)),
      [],
      'rows of docs/errors.md that are not codes',
    );
    for (const code of CODES) {
      const status: number | undefined = (ERRORS[code] as { status?: number }).status;
      assert.equal(rows.get(code), status === undefined ? '' : String(status), `${code}: the status column`);
    }
  });

  it('holds every code that src/ uses', () => {
    const unknown: string[] = [];
    for (const file of walk(src)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/['"`](TSGI_(?:ERR|WARN)_[A-Z0-9_]*)['"`]/g)) {
        if (!(m[1]! in ERRORS)) unknown.push(`${path.relative(root, file)}: ${m[1]}`);
      }
    }
    assert.deepEqual(unknown, []);
  });
});

// Error classes that other work replaces by ClientError (they are not TsgiErrors yet). Each must still
// exist: when one is gone, remove it here, so this list never hides a new class without a code.
const PENDING = new Set<string>([]);

// The HTTP exceptions (tsgi/exceptions) are responses an application throws, not errors tsgi raises:
// their `code` is the HTTP status, as in Werkzeug, so they stand outside the catalogue.
const RESPONSES = `src${path.sep}exceptions${path.sep}`;

describe('every error class src/ exports carries a code', () => {
  it('each exported subclass of Error is a TsgiError', async () => {
    const found = new Set<string>();
    const uncoded: string[] = [];
    for (const file of walk(src)) {
      if (path.relative(root, file).startsWith(RESPONSES)) continue;
      const text = readFileSync(file, 'utf8');
      const names = [...text.matchAll(/^export class (\w+)(?:<[^>]*>)? extends (\w+)/gm)].map((m) => m[1]!);
      if (names.length === 0) continue;
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      for (const name of names) {
        const cls = mod[name];
        if (typeof cls !== 'function' || !(cls.prototype instanceof Error)) continue;
        found.add(name);
        if (cls !== TsgiError && !(cls.prototype instanceof TsgiError) && !PENDING.has(name)) uncoded.push(`${path.relative(root, file)}: ${name}`);
      }
    }
    assert.deepEqual(uncoded, [], 'error classes without a catalogue code');
    const gone = [...PENDING].filter((n) => !found.has(n));
    assert.deepEqual(gone, [], 'these classes are gone: remove them from PENDING in test/errors.test.ts');
  });

  /** How each class is met, and the code it must carry. */
  const cases: Array<[name: string, meet: () => unknown | Promise<unknown>, cls: new (...a: never[]) => Error, code: ErrorCode]> = [
    ['BindError', () => parseBind('https://x:1'), BindError, 'TSGI_ERR_BIND'],
    ['LoadError', () => loadApp('no/such/app.ts', root), LoadError, 'TSGI_ERR_APP_LOAD'],
    ['ListenError', () => clearUnixPath(path.join(root, 'package.json'), 'unix:package.json'), ListenError, 'TSGI_ERR_LISTEN'],
    ['SettingError', () => fromConfig({ workers: 0 }, 'c.json'), SettingError, 'TSGI_ERR_SETTING'],
    ['ProtocolError', () => parseRecords(Buffer.from('GET / HTTP/1.1\r\n\r\n')), ProtocolError, 'TSGI_ERR_FASTCGI_PROTOCOL'],
    ['PacketError (HTTP on the port)', () => new UwsgiParser().push(Buffer.from('GET / HTTP/1.1\r\n')), PacketError, 'TSGI_ERR_UWSGI_FOREIGN'],
    ['PacketError (too big)', () => new UwsgiParser(10).push(Uint8Array.of(0, 100, 0, 0)), PacketError, 'TSGI_ERR_UWSGI_TOO_BIG'],
    [
      'PacketError (cut short)',
      () => {
        throw new UwsgiParser().end();
      },
      PacketError,
      'TSGI_ERR_UWSGI_TRUNCATED',
    ],
    ['AssertionError (status)', () => checkStatus('200'), AssertionError, 'TSGI_ERR_APP_STATUS'],
    ['ValueError (status)', () => checkStatus('200 O\rK'), ValueError, 'TSGI_ERR_APP_STATUS'],
    ['AssertionError (headers)', () => checkHeaders([['Connection', 'close']]), AssertionError, 'TSGI_ERR_APP_HEADERS'],
    ['ValueError (headers)', () => checkHeaders([['Bad Name', 'x']]), ValueError, 'TSGI_ERR_APP_HEADERS'],
    [
      'AssertionError (plain)',
      () => {
        throw new AssertionError('x');
      },
      AssertionError,
      'TSGI_ERR_APP_CONTRACT',
    ],
    [
      'ValidationError',
      () => {
        throw new ValidationError('V12', 'x');
      },
      ValidationError,
      'TSGI_ERR_VALIDATION',
    ],
    [
      'WSGIWarning',
      () => {
        throw new WSGIWarning('V11', 'x');
      },
      WSGIWarning,
      'TSGI_WARN_VALIDATION',
    ],
    [
      'ClientError (by status)',
      () => {
        throw new ClientError(413, 'x');
      },
      ClientError,
      'TSGI_ERR_CONTENT_TOO_LARGE',
    ],
  ];
  for (const [name, meet, cls, code] of cases) {
    it(`${name}: ${code}`, async () => {
      let caught: unknown;
      try {
        await meet();
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof cls, `a ${cls.name} (got ${String(caught)})`);
      assert.ok(caught instanceof TsgiError);
      assert.equal(caught.code, code);
      assert.ok(caught.code in ERRORS);
    });
  }

  it("the runner's startResponse throws coded errors the application can catch", async () => {
    const codes: string[] = [];
    await request((_e, start) => {
      let failure: unknown;
      try {
        start('204 No Content', [['Content-Length', '0']]);
      } catch (err) {
        failure = err;
        codes.push((err as TsgiError).code);
      }
      start('500 Internal Server Error', [], failure); // R42: a retry comes with excInfo
      try {
        start('200 OK', []);
      } catch (err) {
        codes.push((err as TsgiError).code);
      }
      return [];
    });
    assert.deepEqual(codes, ['TSGI_ERR_APP_HEADERS', 'TSGI_ERR_APP_START_RESPONSE']);
  });
});
