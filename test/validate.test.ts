// validate(): one bad application (or bad server) per rule, each asserting its exact message, in-process
// through the test client and, for a representative subset, over a real tsgi HTTP server. The seed's
// demo application and well-behaved sync, async and write() applications pass untouched.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { after, before, describe, it } from 'node:test';
import type { Application, Body, Chunk, Environ, HeaderList, InputStream, StartResponse, Write } from '../src/spec.js';
import { CapturedErrors, createEnviron, request, runApp, type RequestOptions } from '../src/testing/index.js';
import { serve, type ServerHandle } from '../src/http/serve.js';
import { AssertionError } from '../src/runner/checks.js';
import { BytesInput } from '../src/util.js';
import {
  AsyncIteratorWrapper,
  CHECKS,
  ErrorWrapper,
  InputWrapper,
  IteratorWrapper,
  ValidationError,
  WSGIWarning,
  assertClosed,
  validate,
  type ValidatedApplication,
} from '../src/validate.js';
import { application as demo } from '../examples/environ.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const enc = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The environ as a bare object, to break it in ways its type forbids (what the validator is for). */
const raw = (e: Environ) => e as unknown as Record<string, unknown>;

const TEXT: HeaderList = [['Content-Type', 'text/plain']];

const hello: Application = (_environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['Hello, world!'];
};

/** validate() for bodies a test drives by hand and leaves unclosed on purpose: no V54a line on stderr. */
const quiet = (app: Application) => validate(app, { onUnclosed: () => {} });

/** A server's startResponse that accepts anything (for driving a validated app by hand). */
const okStart: StartResponse = () => async () => {};

/** An input stream with every member, whose methods can be replaced. */
function fakeInput(over: Partial<Record<'read' | 'readline' | 'readlines', (...a: unknown[]) => unknown>>): InputStream {
  return {
    read: async () => new Uint8Array(0),
    readline: async () => new Uint8Array(0),
    readlines: async () => [],
    async *[Symbol.asyncIterator]() {},
    ...over,
  } as InputStream;
}

/** An application that reads its input with `use`, then answers 200. */
function reading(use: (input: InputStream) => Promise<unknown>): Application {
  return async (environ, startResponse) => {
    await use(environ['wsgi.input']);
    startResponse('200 OK', TEXT);
    return ['ok'];
  };
}

/** An application that sends `status`/`headers` and returns `body`. */
function answering(status: unknown, headers: unknown, body: Body = ['x'], excInfo?: unknown): Application {
  return (_environ, startResponse) => {
    if (excInfo === undefined) (startResponse as (...a: unknown[]) => Write)(status, headers);
    else (startResponse as (...a: unknown[]) => Write)(status, headers, excInfo);
    return body;
  };
}

type Outcome = { check: string; message: string };

/** The validator's error as the engine logged it: `GET /: AssertionError [V12]: …`. */
function logged(log: string[]): Outcome | undefined {
  const m = /AssertionError \[([^\]]+)\]: ([^\n]*)/.exec(log.join('\n'));
  return m ? { check: m[1]!, message: m[2]! } : undefined;
}

/** Runs `fn`, expecting a ValidationError (thrown or rejected). */
async function caught(fn: () => unknown): Promise<Outcome> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ValidationError) return { check: err.check, message: err.message };
    throw err;
  }
  assert.fail('no ValidationError was raised');
}

interface Row {
  id: string;
  message: string;
  /** The application under test (default: hello). */
  app?: Application;
  /** A bad server: changes the environ before the validator sees it. */
  mutate?: (environ: Environ) => void;
  path?: string;
  options?: RequestOptions;
  /** Drives a validated application by hand, playing a bad server; must raise the ValidationError. */
  direct?: () => unknown;
  /** Also run over a real HTTP server. */
  http?: boolean;
}

/** The environ-mutating server in front of the validated application. */
function handler(row: Row, onWarning?: (m: string) => void): Application {
  const validated = validate(row.app ?? hello, onWarning ? { onWarning } : {});
  const mutate = row.mutate;
  return mutate ? (environ, startResponse) => (mutate(environ), validated(environ, startResponse)) : validated;
}

/** Runs a row in-process: its ValidationError, or its warning. */
async function runRow(row: Row): Promise<Outcome> {
  if (row.direct) return caught(row.direct);
  const warnings: Outcome[] = [];
  const app = handler(row, (message) => warnings.push({ check: '?', message }));
  const res = await request(app, row.path ?? '/', row.options ?? {});
  const kind = CHECKS.find((c) => c.id === row.id)?.kind;
  if (kind === 'warning') {
    assert.equal(warnings.length, 1, `one warning (got ${JSON.stringify(warnings)}; log ${res.log.join('\n')})`);
    return { check: row.id, message: warnings[0]!.message };
  }
  const out = logged(res.log);
  assert.ok(out, `a ValidationError in the log (got ${JSON.stringify(res.log)})`);
  return out;
}

// --- the table: one row per rule, its exact message ----------------------------------------------

const ROWS: Row[] = [
  // The application call and the environ (the server's side).
  { id: 'V1', message: 'Two arguments required', direct: () => (quiet(hello) as (...a: unknown[]) => unknown)(createEnviron()) },
  {
    id: 'V2',
    message: 'Environment is not of the right type: Map (environment: Map {})',
    direct: () => (quiet(hello) as (...a: unknown[]) => unknown)(new Map(), okStart),
  },
  { id: 'K2a', message: 'Environment should not be frozen, but is', mutate: (e) => Object.freeze(e) },
  { id: 'V3', message: 'Environment missing required key: "SERVER_PORT"', mutate: (e) => delete raw(e).SERVER_PORT },
  {
    id: 'V4',
    message: 'Environment should not have the key: HTTP_CONTENT_TYPE (use CONTENT_TYPE instead)',
    mutate: (e) => (e.HTTP_CONTENT_TYPE = 'text/plain'),
  },
  {
    id: 'V5',
    message:
      'QUERY_STRING is not in the WSGI environment; code that parses it will get undefined when this variable is missing, so application errors are more likely',
    mutate: (e) => delete e.QUERY_STRING,
    http: true,
  },
  {
    id: 'V6',
    message: 'Environmental variable REMOTE_PORT is not a string: number (value: 8080)',
    mutate: (e) => (raw(e).REMOTE_PORT = 8080),
  },
  {
    id: 'K7',
    message: 'Environmental variable PATH_INFO is not a native string: U+20AC at 5 (value: "/café€")',
    mutate: (e) => (e.PATH_INFO = '/caf\u00e9\u20ac'),
  },
  { id: 'V7', message: 'wsgi.version should be [1, 0] (got [1, 1])', mutate: (e) => (raw(e)['wsgi.version'] = [1, 1]) },
  { id: 'V8', message: 'wsgi.url_scheme unknown: "ftp"', mutate: (e) => (e['wsgi.url_scheme'] = 'ftp') },
  { id: 'R21', message: 'wsgi.multithread should be a boolean (got 0)', mutate: (e) => (raw(e)['wsgi.multithread'] = 0) },
  { id: 'R63', message: 'wsgi.file_wrapper should be a function (got {})', mutate: (e) => (raw(e)['wsgi.file_wrapper'] = {}) },
  {
    id: 'V9',
    message: "wsgi.input ({ read: [Function read], readline: [Function readline] }) doesn't have the attribute readlines",
    mutate: (e) =>
      (raw(e)['wsgi.input'] = {
        read() {},
        readline() {},
        [Symbol.asyncIterator]() {},
      }),
  },
  {
    id: 'V10',
    message: "wsgi.errors ({ write: [Function write], writelines: [Function writelines] }) doesn't have the attribute flush",
    mutate: (e) => (raw(e)['wsgi.errors'] = { write() {}, writelines() {} }),
  },
  { id: 'K4', message: 'REQUEST_METHOD is not a valid token: "GE T"', mutate: (e) => (e.REQUEST_METHOD = 'GE T') },
  { id: 'V11', message: 'Unknown REQUEST_METHOD: "PROPFIND"', options: { method: 'PROPFIND' } },
  { id: 'V12', message: 'SCRIPT_NAME doesn\'t start with /: "app"', mutate: (e) => (e.SCRIPT_NAME = 'app') },
  { id: 'V13', message: 'PATH_INFO doesn\'t start with /: "x"', mutate: (e) => (e.PATH_INFO = 'x') },
  { id: 'V14', message: 'Invalid CONTENT_LENGTH: "-1"', mutate: (e) => (e.CONTENT_LENGTH = '-1') },
  {
    id: 'V15',
    message: "One of SCRIPT_NAME or PATH_INFO are required (PATH_INFO should at least be '/' if SCRIPT_NAME is empty)",
    mutate: (e) => delete raw(e).PATH_INFO,
  },
  {
    id: 'V16',
    message: "SCRIPT_NAME cannot be '/'; it should instead be '', and PATH_INFO should be '/'",
    mutate: (e) => (e.SCRIPT_NAME = '/'),
    http: true,
  },
  { id: 'K3a', message: 'SERVER_NAME is not a valid host name: "my host"', mutate: (e) => (e.SERVER_NAME = 'my host') },
  { id: 'K3b', message: 'SERVER_PORT is not a port number: ""', mutate: (e) => (e.SERVER_PORT = '') },
  { id: 'K2b', message: 'SERVER_PROTOCOL does not match HTTP/\\d(\\.\\d)?: "HTTP/one"', mutate: (e) => (e.SERVER_PROTOCOL = 'HTTP/one') },
  { id: 'K3c', message: 'HTTP_HOST is not a valid authority: "bad host"', options: { headers: { Host: 'bad host' } } },
  {
    id: 'R1',
    message: 'The second argument must be the startResponse function (got "start")',
    direct: () => (quiet(hello) as (...a: unknown[]) => unknown)(createEnviron(), 'start'),
  },

  // What the application returns.
  {
    id: 'V18',
    message: 'The application must return an iterable, if only an empty array',
    app: (_e, start) => (start('200 OK', TEXT), undefined as unknown as Body),
    http: true,
  },
  {
    id: 'V19',
    message: 'You should not return a string as your application body, instead return a single-item array containing it: [body]',
    app: answering('200 OK', TEXT, 'Hello' as unknown as Body),
    http: true,
  },
  { id: 'V49', message: "The application's body is not iterable: {}", app: answering('200 OK', TEXT, {} as Body), http: true },

  // startResponse (the application's side).
  {
    id: 'V21',
    message: 'Invalid number of arguments: 1',
    app: (_e, start) => ((start as (...a: unknown[]) => Write)('200 OK'), ['x']),
  },
  {
    id: 'R45',
    message: 'startResponse() called a second time without excInfo: headers already set',
    app: (_e, start) => (start('200 OK', TEXT), start('404 Not Found', TEXT), ['x']),
  },
  { id: 'V22', message: 'Status must be of type str (got 200)', app: answering(200, TEXT), http: true },
  { id: 'V23', message: 'Status codes must be three characters: "2000"', app: answering('2000 OK', TEXT) },
  { id: 'V24', message: 'Status code is invalid: "099"', app: answering('099 Weird', TEXT) },
  { id: 'R37a', message: 'Status 103 is interim (1xx); a response needs a final status, 200-599', app: answering('103 Early Hints', TEXT) },
  {
    id: 'V25',
    message: 'The status string ("200") should be a three-digit integer followed by a single space and a status explanation',
    app: answering('200', TEXT),
  },
  { id: 'R37b', message: 'Bad status: "200 O\\rK" (bad char: "\\r")', app: answering('200 O\rK', TEXT) },
  {
    id: 'V26',
    message: 'Headers ({ "Content-Type": "text/plain" }) must be of type Array: Object',
    app: answering('200 OK', { 'Content-Type': 'text/plain' }),
    http: true,
  },
  { id: 'V27', message: 'Individual headers (["Content-Type"]) must be [name, value] pairs', app: answering('200 OK', [['Content-Type']]) },
  { id: 'V28a', message: 'Header name must be of type str (got 1)', app: answering('200 OK', [[1, 'x']]) },
  { id: 'V28b', message: 'Header value must be of type str (got 3)', app: answering('200 OK', [['X-Count', 3]]) },
  {
    id: 'V29',
    message: 'The Status header cannot be used; it conflicts with CGI script, and HTTP status is not given through headers (value: "404 Not Found").',
    app: answering('200 OK', [...TEXT, ['Status', '404 Not Found']]),
  },
  { id: 'V30', message: "Header names may not contain ':' or '\\n': \"X:Y\"", app: answering('200 OK', [['X:Y', 'v']]) },
  { id: 'V31', message: 'Bad header name: "X.Y"', app: answering('200 OK', [['X.Y', 'v']]) },
  { id: 'V32', message: "Names may not end in '-' or '_': \"X-Y-\"", app: answering('200 OK', [['X-Y-', 'v']]) },
  { id: 'V33', message: 'Bad header value: "a\\tb" (bad char: "\\t")', app: answering('200 OK', [['X-Y', 'a\tb']]), http: true },
  {
    id: 'R41',
    message: "Hop-by-hop header, 'Connection: close', not allowed",
    app: answering('200 OK', [...TEXT, ['Connection', 'close']]),
    http: true,
  },
  { id: 'R39a', message: 'Invalid Content-Length header: "+5"', app: answering('200 OK', [...TEXT, ['Content-Length', '+5']]) },
  {
    id: 'R39b',
    message: 'Conflicting Content-Length headers: 5 and 6',
    app: answering('200 OK', [...TEXT, ['Content-Length', '5'], ['Content-Length', '6']]),
  },
  { id: 'K13', message: 'Content-Length header found in a 204 response, not allowed', app: answering('204 No Content', [['Content-Length', '0']], []) },
  {
    id: 'V34a',
    message: 'Content-Type header found in a 304 response, which must not return content.',
    app: answering('304 Not Modified', TEXT, []),
  },
  { id: 'V34b', message: 'No Content-Type header found in headers ([])', app: answering('200 OK', []), http: true },
  {
    id: 'V35',
    message: 'excInfo ([1, 2]) must be the error or a [type, value, traceback] triple',
    app: answering('500 Internal Server Error', TEXT, ['x'], [1, 2]),
  },
  {
    id: 'R44',
    message: 'startResponse() was called with excInfo after the headers were sent and returned: it must rethrow the error',
    direct: () => {
      const app = quiet((_e, start) =>
        (function* () {
          start('200 OK', TEXT);
          yield 'partial';
          const err = new Error('late failure');
          start('500 Internal Server Error', TEXT, err); // a correct server rethrows err here
          yield 'never';
        })(),
      );
      const it = (app(createEnviron(), okStart) as Iterable<Chunk>)[Symbol.iterator]();
      it.next();
      it.next();
    },
  },
  {
    id: 'V36',
    message: 'startResponse() must return a write() function (got undefined)',
    direct: () => quiet(hello)(createEnviron(), (() => undefined) as unknown as StartResponse),
  },

  // write()
  {
    id: 'V38',
    message: 'write() argument must be a Uint8Array or a string (got 42)',
    app: (_e, start) => ((start('200 OK', TEXT) as (c: unknown) => unknown)(42), []),
  },
  {
    id: 'R54',
    message: 'write() called after the application returned its body; yield the chunk from the body instead',
    app: (_e, start) => {
      const write = start('200 OK', TEXT);
      return (function* () {
        void write('from inside the body');
        yield 'x';
      })();
    },
    http: true,
  },
  {
    id: 'R53',
    message: 'write() must return a Promise (got undefined)',
    direct: () => {
      const app = quiet((_e, start) => (void start('200 OK', TEXT)('x'), []));
      app(createEnviron(), (() => () => undefined) as unknown as StartResponse);
    },
  },

  // The body.
  {
    id: 'K14',
    message: 'The body must be iterated only once',
    direct: () => {
      const body = quiet(hello)(createEnviron(), okStart) as Iterable<Chunk>;
      body[Symbol.iterator]();
      body[Symbol.iterator]();
    },
  },
  {
    id: 'V50',
    message: 'Iterator read after closed',
    direct: () => {
      const body = quiet(hello)(createEnviron(), okStart) as Iterable<Chunk> & { close(): void };
      const it = body[Symbol.iterator]();
      body.close();
      it.next();
    },
  },
  {
    id: 'R8',
    message: 'next() called on the body while the previous next() is still pending',
    direct: async () => {
      const app = quiet((_e, start) =>
        (async function* () {
          start('200 OK', TEXT);
          await sleep(5);
          yield 'a';
        })(),
      );
      const it = (app(createEnviron(), okStart) as AsyncIterable<Chunk>)[Symbol.asyncIterator]();
      const first = it.next();
      try {
        await it.next();
      } finally {
        await first;
      }
    },
  },
  {
    id: 'V51',
    message: 'Iterator yielded non-bytestring (5): a chunk must be a Uint8Array or a string',
    app: answering('200 OK', TEXT, [5] as unknown as Body),
    http: true,
  },
  {
    id: 'V52',
    message: 'The application returns and we started iterating over its body, but start_response has not yet been called',
    app: () => ['x'],
    http: true,
  },
  {
    id: 'R38',
    message: 'The headers list was changed after startResponse(): [["Content-Type", "text/plain"], ["X-Late", "1"]]',
    app: (_e, start) => {
      const headers: HeaderList = [['Content-Type', 'text/plain']];
      start('200 OK', headers);
      headers.push(['X-Late', '1']);
      return ['x'];
    },
  },
  {
    id: 'K15',
    message: 'Content-Length header was 5, but the application sent 11 bytes',
    app: answering('200 OK', [...TEXT, ['Content-Length', '5']], ['hello world']),
    http: true,
  },
  // Warned once, at the first chunk with content, however many follow.
  {
    id: 'R70',
    message: 'A 204 response cannot contain content, but the application sent 5 bytes; the server drops them',
    app: answering('204 No Content', [], ['', 'hello', 'world']),
  },
  { id: 'R4', message: 'The body ended, but start_response has not been called', app: () => [], http: true },
  {
    id: 'R7',
    message: "The body's close() was called more than once",
    direct: () => {
      const body = quiet(hello)(createEnviron(), okStart) as Body & { close(): void };
      body.close();
      body.close();
    },
  },
  {
    id: 'V54b',
    message: '1 response body was never closed',
    direct: () => {
      const app = quiet(hello);
      app(createEnviron(), okStart);
      app.assertClosed();
    },
  },

  // wsgi.input
  {
    id: 'V39a',
    message: 'wsgi.input.read() takes one optional size: a whole number, null or undefined (got "10")',
    app: reading((input) => (input.read as (s: unknown) => Promise<Uint8Array>)('10')),
    options: { method: 'POST', body: 'abc' },
    http: true,
  },
  {
    id: 'V39b',
    message: 'wsgi.input.read() must return a Promise of a Uint8Array (got Uint8Array(3))',
    mutate: (e) => (e['wsgi.input'] = fakeInput({ read: () => enc('abc') })),
    app: reading((input) => input.read()),
  },
  {
    id: 'R32',
    message: 'wsgi.input.read(2) returned 3 bytes, more than asked',
    mutate: (e) => (e['wsgi.input'] = fakeInput({ read: async () => enc('abc') })),
    app: reading((input) => input.read(2)),
  },
  {
    id: 'V40a',
    message: 'wsgi.input.readline() takes one optional size: a whole number, null or undefined (got 1, 2)',
    app: reading((input) => (input.readline as (...a: unknown[]) => Promise<Uint8Array>)(1, 2)),
  },
  {
    id: 'V40b',
    message: 'wsgi.input.readline() must return a Promise of a Uint8Array (got "line")',
    mutate: (e) => (e['wsgi.input'] = fakeInput({ readline: async () => 'line' })),
    app: reading((input) => input.readline()),
  },
  {
    id: 'R33',
    message: 'wsgi.input.readline(2) returned 3 bytes, more than asked',
    mutate: (e) => (e['wsgi.input'] = fakeInput({ readline: async () => enc('ab\n') })),
    app: reading((input) => input.readline(2)),
  },
  {
    id: 'V41a',
    message: 'wsgi.input.readlines() takes one optional hint: a whole number, null or undefined (got 1.5)',
    app: reading((input) => input.readlines(1.5)),
  },
  {
    id: 'V41b',
    message: 'wsgi.input.readlines() must return a Promise of an array of Uint8Array (got "a")',
    mutate: (e) => (e['wsgi.input'] = fakeInput({ readlines: async () => ['a'] })),
    app: reading((input) => input.readlines()),
  },
  {
    id: 'R30',
    message: 'wsgi.input returned 5 bytes, more than CONTENT_LENGTH 2',
    mutate: (e) => {
      e.CONTENT_LENGTH = '2';
      e['wsgi.input'] = new BytesInput(enc('hello')); // a stream that does not stop at CONTENT_LENGTH
    },
    app: reading((input) => input.read()),
  },
  {
    id: 'V43',
    message: 'input.close() must not be called',
    app: reading(async (input) => (input as InputStream & { close(): void }).close()),
    http: true,
  },

  // wsgi.errors
  {
    id: 'V45',
    message: 'errors.write() argument must be a string (got 5)',
    app: (environ, start) => ((environ['wsgi.errors'].write as (s: unknown) => void)(5), start('200 OK', TEXT), ['x']),
    http: true,
  },
  {
    id: 'V48',
    message: 'errors.close() must not be called',
    app: (environ, start) => ((environ['wsgi.errors'] as unknown as { close(): void }).close(), start('200 OK', TEXT), ['x']),
  },
];

describe('validate: one bad application per rule, in-process', () => {
  for (const row of ROWS) {
    it(`${row.id}: ${row.message}`, async () => {
      assert.deepEqual(await runRow(row), { check: row.id, message: row.message });
    });
  }

  it('V54a: a body garbage-collected without close() is reported (it cannot be raised)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const reports: string[] = [];
    const app = validate(hello, { onUnclosed: (m) => reports.push(m) });
    (() => {
      app(createEnviron(), okStart); // the body is dropped at once: never iterated, never closed
    })();
    for (let i = 0; i < 50 && reports.length === 0; i++) {
      gc();
      await sleep(10);
    }
    assert.deepEqual(reports, ['Iterator garbage collected without being closed']);
    // The explicit form counts it too.
    assert.throws(() => app.assertClosed(), { name: 'AssertionError', check: 'V54b', message: '1 response body was never closed' });
  });

  it('has a row for every check, and no row for a check that does not exist', () => {
    const ids = new Set(CHECKS.map((c) => c.id));
    const tested = new Set([...ROWS.map((r) => r.id), 'V54a']);
    assert.equal(ids.size, CHECKS.length, 'check ids are unique');
    assert.deepEqual(
      [...ids].filter((id) => !tested.has(id)),
      [],
      'checks without a test row',
    );
    assert.deepEqual(
      [...tested].filter((id) => !ids.has(id)),
      [],
      'rows for unknown checks',
    );
    assert.equal(ROWS.length, new Set(ROWS.map((r) => r.id)).size, 'one row per check');
  });
});

describe('validate: errors and warnings', () => {
  it('raises ValidationError: an AssertionError naming its check in the stack', () => {
    try {
      validate(answering(200, TEXT))(createEnviron(), okStart);
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof ValidationError);
      assert.ok(e instanceof AssertionError, "the engine's AssertionError");
      assert.equal(e.name, 'AssertionError');
      assert.equal(e.check, 'V22');
      assert.match(e.stack ?? '', /^AssertionError \[V22\]: Status must be of type str \(got 200\)\n/);
    }
  });

  it('sends warnings to wsgi.errors by default, each distinct message once', async () => {
    const app = validate(hello);
    const errors = new CapturedErrors();
    for (let i = 0; i < 2; i++) await request(app, '/', { method: 'PROPFIND', environ: { 'wsgi.errors': errors } });
    await request(app, '/', { method: 'MKCOL', environ: { 'wsgi.errors': errors } });
    assert.equal(errors.text, 'WSGIWarning: Unknown REQUEST_METHOD: "PROPFIND"\nWSGIWarning: Unknown REQUEST_METHOD: "MKCOL"\n');
  });

  it('passes the WSGIWarning to onWarning with the message', async () => {
    const got: Array<[string, WSGIWarning]> = [];
    await request(validate(hello, { onWarning: (m, w) => got.push([m, w]) }), '/', { method: 'PROPFIND' });
    assert.equal(got.length, 1);
    assert.equal(got[0]![0], 'Unknown REQUEST_METHOD: "PROPFIND"');
    assert.ok(got[0]![1] instanceof WSGIWarning);
    assert.equal(got[0]![1].check, 'V11');
    assert.equal(got[0]![1].name, 'WSGIWarning');
  });

  it('setupTestingDefaults-style environs (no QUERY_STRING) only warn (V5), as in wsgiref', async () => {
    const warnings: string[] = [];
    const env = createEnviron('/');
    delete env.QUERY_STRING;
    const res = await runApp(validate(hello, { onWarning: (m) => warnings.push(m) }), env);
    assert.equal(res.statusCode, 200);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^QUERY_STRING is not in the WSGI environment/);
  });

  it('K15 also catches a body shorter than its Content-Length, at its end', async () => {
    const res = await request(validate(answering('200 OK', [...TEXT, ['Content-Length', '10']], ['hello'])));
    assert.deepEqual(logged(res.log), { check: 'K15', message: 'Content-Length header was 10, but the application sent 5 bytes' });
    assert.equal(res.aborted, true, 'the headers were out: the engine aborts');
  });

  it('K15 counts write() bytes and string chunks as UTF-8', async () => {
    const app: Application = (_e, start) => {
      const write = start('200 OK', [...TEXT, ['Content-Length', '6']]);
      void write('é'); // 2 bytes
      return ['€€']; // 6 bytes: 8 in all
    };
    const res = await request(validate(app));
    assert.deepEqual(logged(res.log), { check: 'K15', message: 'Content-Length header was 6, but the application sent 8 bytes' });
  });

  it('V34b wants a Content-Type only with content: a redirect with Content-Length: 0 or an empty body passes', async () => {
    for (const headers of [
      [
        ['Location', '/x/'],
        ['Content-Length', '0'],
      ],
      [['Location', '/x/']],
    ] as HeaderList[]) {
      const res = await request(validate(answering('301 Moved Permanently', headers, [])));
      assert.equal(res.statusCode, 301);
      assert.deepEqual(res.log, []);
    }
    // Declared content is refused at startResponse, before any chunk.
    const res = await request(validate(answering('200 OK', [['Content-Length', '3']], ['abc'])));
    assert.deepEqual(logged(res.log), { check: 'V34b', message: 'No Content-Type header found in headers ([["Content-Length", "3"]])' });
  });

  it('K13 allows Content-Length on 304 (RFC 9110 §8.6), unlike Rack', async () => {
    const res = await request(
      validate(
        answering(
          '304 Not Modified',
          [
            ['ETag', '"x"'],
            ['Content-Length', '42'],
          ],
          [],
        ),
      ),
    );
    assert.equal(res.statusCode, 304);
    assert.deepEqual(res.log, []);
  });

  it("R70 follows the runner's table: a 304 with content warns, HEAD and a 200 do not, and the server sends none of it", async () => {
    const warnings: string[] = [];
    const onWarning = (m: string) => void warnings.push(m);
    const notModified = await request(validate(answering('304 Not Modified', [['ETag', '"x"']], ['stale']), { onWarning }));
    assert.equal(notModified.body.length, 0);
    assert.deepEqual(warnings, ['A 304 response cannot contain content, but the application sent 5 bytes; the server drops them']);
    warnings.length = 0;
    await request(validate(answering('200 OK', TEXT, ['hello']), { onWarning }), '/', { method: 'HEAD' });
    await request(validate(answering('200 OK', TEXT, ['hello']), { onWarning }));
    assert.deepEqual(warnings, []);
  });

  it('a status or header check failing lets the application answer with excInfo (R42, R45)', async () => {
    const app: Application = (_e, start) => {
      try {
        start('200 OK', [['Bad Name', 'x']]);
      } catch (err) {
        start('500 Internal Server Error', TEXT, err);
        return ['sorry'];
      }
      return ['unreachable'];
    };
    const res = await request(validate(app));
    assert.equal(res.statusCode, 500);
    assert.equal(res.text, 'sorry');
    assert.deepEqual(res.log, []);
  });

  it('a correct server rethrows excInfo after the headers were sent (no R44)', async () => {
    const late = new Error('late failure');
    const app: Application = (_e, start) =>
      (function* () {
        start('200 OK', TEXT);
        yield 'partial';
        start('500 Internal Server Error', TEXT, late);
      })();
    const res = await request(validate(app));
    assert.equal(res.aborted, true);
    assert.match(res.log.join('\n'), /Error: late failure/);
    assert.equal(logged(res.log), undefined, 'no validation error');
  });
});

describe('validate: the wrappers', () => {
  it('V17: the environ gets InputWrapper and ErrorWrapper; V44: nothing but the contract', async () => {
    let seen: Environ | undefined;
    const app = validate((environ, start) => {
      seen = environ;
      start('200 OK', TEXT);
      return [];
    });
    const env = createEnviron('/');
    await runApp(app, env);
    assert.equal(seen, env, "the caller's environ, as wsgiref");
    assert.ok(env['wsgi.input'] instanceof InputWrapper);
    assert.ok(env['wsgi.errors'] instanceof ErrorWrapper);
    const input = env['wsgi.input'] as unknown as Record<string, unknown>;
    assert.equal(input.seek, undefined);
    assert.equal(input.fileno, undefined);
    assert.deepEqual(Object.keys(input), []);
  });

  it('V20: the body is no array, so a validated array body gets no computed Content-Length', async () => {
    const body = quiet(hello)(createEnviron(), okStart);
    assert.ok(body instanceof IteratorWrapper);
    assert.equal(Array.isArray(body), false);
    assert.equal((body as { length?: number }).length, undefined);
    const res = await request(validate(hello));
    assert.equal(res.header('Content-Length'), undefined);
    assert.equal(res.text, 'Hello, world!');
  });

  it('V42: async iteration over the input yields its lines through readline()', async () => {
    const lines: string[] = [];
    const app = reading(async (input) => {
      for await (const line of input) lines.push(new TextDecoder().decode(line));
    });
    const res = await request(validate(app), '/', { method: 'POST', body: 'one\ntwo\nthree' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(lines, ['one\n', 'two\n', 'three']);
  });

  it('V46, V47: writelines() checks each line, flush() is passed on', async () => {
    const errors = new CapturedErrors();
    let flushed = 0;
    errors.flush = () => void flushed++;
    const app: Application = (environ, start) => {
      environ['wsgi.errors'].writelines(['a\n', 'b\n']);
      environ['wsgi.errors'].flush();
      start('200 OK', TEXT);
      (environ['wsgi.errors'].writelines as (l: unknown[]) => void)(['c\n', 7]);
      return [];
    };
    const res = await request(validate(app), '/', { environ: { 'wsgi.errors': errors } });
    assert.equal(errors.text, 'a\nb\nc\n');
    assert.equal(flushed, 1);
    assert.deepEqual(logged(res.log), { check: 'V45', message: 'errors.write() argument must be a string (got 7)' });
  });

  it("V53: the application's close() is called once, also after an error in the body", async () => {
    let closes = 0;
    const body = {
      *[Symbol.iterator]() {
        yield 'a';
        yield 5;
      },
      close() {
        closes++;
      },
    };
    const res = await request(validate(answering('200 OK', TEXT, body as unknown as Body)));
    assert.equal(closes, 1);
    assert.equal(logged(res.log)?.check, 'V51');
  });

  it('an async body gets AsyncIteratorWrapper; return() reaches the generator (HEAD)', async () => {
    let finished = false;
    const app = quiet((_e, start) =>
      (async function* () {
        try {
          start('200 OK', TEXT);
          yield 'one';
          yield 'two';
        } finally {
          finished = true;
        }
      })(),
    );
    assert.ok(app(createEnviron(), okStart) instanceof AsyncIteratorWrapper);
    const res = await request(app, '/', { method: 'HEAD' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.length, 0);
    assert.equal(finished, true);
    assert.deepEqual(res.log, [], 'no K15/R4 on a body the server stopped early');
  });

  it('assertClosed() passes once the server closed every body', async () => {
    const app = validate(hello);
    await request(app);
    await request(app, '/', { method: 'HEAD' });
    app.assertClosed();
    const body = app(createEnviron(), okStart) as Body;
    assert.throws(() => assertClosed(body), { check: 'V54b', message: '1 response body was never closed' });
    (body as { close(): void }).close();
    assertClosed(body);
    assertClosed(app);
    assert.throws(() => assertClosed(hello as ValidatedApplication), TypeError);
  });

  it('refuses what is not an application', () => {
    assert.throws(() => validate('app' as unknown as Application), TypeError);
  });
});

// --- applications that pass --------------------------------------------------------------------

let asyncCloses = 0;

/** A good asynchronous application: reads its body every way, logs, streams strings and bytes. */
const goodAsync: Application = async (environ, startResponse) => {
  const input = environ['wsgi.input'];
  const first = await input.readline();
  const second = await input.readline(3);
  const rest = await input.read();
  const none = await input.read(10);
  environ['wsgi.errors'].write(`read ${first.length + second.length + rest.length} bytes\n`);
  environ['wsgi.errors'].flush();
  const text = `${new TextDecoder().decode(first)}|${new TextDecoder().decode(second)}|${new TextDecoder().decode(rest)}|${none.length}`;
  return {
    async *[Symbol.asyncIterator]() {
      yield ''; // empty chunks before startResponse are allowed (R43)
      startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
      await sleep(1);
      yield 'échos: ';
      yield enc(text);
    },
    close() {
      asyncCloses++;
    },
  };
};

/** A good legacy application: write() with a declared, UTF-8 Content-Length. */
const goodWrite: Application = async (_environ, startResponse) => {
  const body = ['héllo ', 'wörld'];
  const write = startResponse('200 OK', [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(Buffer.byteLength(body.join('')))],
  ]);
  await write(body[0]!);
  await write(enc(body[1]!));
  return [];
};

describe('validate: good applications pass untouched, in-process', () => {
  it("the seed's demo application (examples/environ.ts)", async () => {
    const warnings: string[] = [];
    const validated = validate(demo, { onWarning: (m) => warnings.push(m) });
    const res = await request(validated, '/some/path', { query: 'a=1' });
    const plain = await request(demo, '/some/path', { query: 'a=1' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.log, []);
    assert.deepEqual(warnings, []);
    assert.deepEqual(res.headers, plain.headers);
    assert.match(res.text, /^The Begining\n\*{30}\n/);
    assert.match(res.text, /PATH_INFO:\/some\/path\n/);
    assert.equal(res.body.length, Number(res.header('Content-Length')));
    // HEAD too: the engine stops the body after the headers.
    const head = await request(validated, '/', { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    assert.deepEqual(head.log, []);
    validated.assertClosed();
  });

  it('an async application reading its input, with an async body and close()', async () => {
    asyncCloses = 0;
    const errors = new CapturedErrors();
    const app = validate(goodAsync);
    const res = await request(app, '/', { method: 'POST', body: 'line one\nabcdef', environ: { 'wsgi.errors': errors } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.log, []);
    assert.equal(res.text, 'échos: line one\n|abc|def|0');
    assert.equal(errors.text, 'read 15 bytes\n');
    assert.equal(asyncCloses, 1);
    app.assertClosed();
  });

  it('a write() application with a UTF-8 Content-Length', async () => {
    const res = await request(validate(goodWrite));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.log, []);
    assert.equal(res.text, 'héllo wörld');
  });

  it('an application catching its own error and answering with excInfo', async () => {
    const app: Application = (_environ, startResponse) => {
      try {
        throw new Error('boom');
      } catch (err) {
        startResponse('500 Internal Server Error', TEXT, [Error, err, undefined]);
        return ['failed'];
      }
    };
    const res = await request(validate(app));
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.log, []);
  });
});

// --- over a real server ------------------------------------------------------------------------

describe('validate: over a real tsgi HTTP server', () => {
  let server: ServerHandle;
  const log: string[] = [];
  const routes = new Map<string, Application>();
  const warnings: string[] = [];

  before(async () => {
    routes.set('/demo', validate(demo, { onWarning: (m) => warnings.push(m) }));
    routes.set('/async', validate(goodAsync, { onWarning: (m) => warnings.push(m) }));
    routes.set('/write', validate(goodWrite, { onWarning: (m) => warnings.push(m) }));
    for (const row of ROWS.filter((r) => r.http)) {
      // Warnings go to the default place here: the request's wsgi.errors, the server's log.
      routes.set(`/row/${row.id}`, handler(row));
    }
    const router: Application = (environ, start) => {
      const app = routes.get(environ.PATH_INFO);
      if (!app) {
        start('404 Not Found', TEXT);
        return ['no route'];
      }
      return app(environ, start);
    };
    server = await serve(router, {
      host: '127.0.0.1',
      port: 0,
      log: { error: (m) => log.push(m), warn: (m) => log.push(m), info: () => {} },
    });
  });

  after(async () => {
    await server.close();
  });

  /** The log entries of one request path. */
  const entries = (p: string) => log.filter((l) => l.includes(`${p}: `) || l.startsWith('WSGIWarning'));

  it("the seed's demo application passes untouched", async () => {
    const res = await fetch(`${server.url}/demo?x=1`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(Buffer.byteLength(text, 'latin1'), Number(res.headers.get('content-length')));
    assert.match(text, /SERVER_NAME:127\.0\.0\.1\n/);
    assert.match(text, /wsgi\.input:\[object Object\]/);
    assert.deepEqual(log, []);
    assert.deepEqual(warnings, []);
    (routes.get('/demo') as ValidatedApplication).assertClosed();
  });

  it('a good async application passes (chunked, POST body read every way)', async () => {
    asyncCloses = 0;
    const res = await fetch(`${server.url}/async`, { method: 'POST', body: 'line one\nabcdef' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'échos: line one\n|abc|def|0');
    assert.deepEqual(log, ['read 15 bytes']);
    log.length = 0;
    assert.equal(asyncCloses, 1);
  });

  it('a good write() application passes', async () => {
    const res = await fetch(`${server.url}/write`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'héllo wörld');
    assert.deepEqual(log, []);
    assert.deepEqual(warnings, []);
  });

  for (const row of ROWS.filter((r) => r.http)) {
    it(`${row.id}: ${row.message}`, async () => {
      log.length = 0;
      const p = `/row/${row.id}`;
      const res = await fetch(`${server.url}${p}`, row.options?.method === 'POST' ? { method: 'POST', body: 'abc' } : {});
      const text = await res.text().catch(() => '(aborted)');
      const kind = CHECKS.find((c) => c.id === row.id)!.kind;
      if (kind === 'warning') {
        assert.equal(res.status, 200, text);
        assert.deepEqual(entries(p), [`WSGIWarning: ${row.message}`]);
        return;
      }
      assert.equal(res.status, 500, `the engine answers the contract error (${text})`);
      assert.equal(text, 'A server error occurred.  Please contact the administrator.');
      assert.deepEqual(logged(entries(p)), { check: row.id, message: row.message });
    });
  }
});

// --- docs/validate.md ----------------------------------------------------------------------------

describe('docs/validate.md', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tsgi-validate-doc-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const TARGETS: Record<string, string> = {
    tsgi: 'src/index.ts',
    'tsgi/validate': 'src/validate.ts',
    'tsgi/testing': 'src/testing/index.ts',
  };

  /** The page's ```ts blocks, their tsgi imports pointed at the sources. */
  function examples(): string[] {
    const md = readFileSync(path.join(repo, 'docs/validate.md'), 'utf8');
    return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) =>
      m[1]!.replace(/from '(tsgi(?:\/[a-z]+)?)'/g, (_m, spec: string) => {
        const target = TARGETS[spec];
        assert.ok(target, `unknown import ${spec} in docs/validate.md`);
        return `from '${pathToFileURL(path.join(repo, target)).href}'`;
      }),
    );
  }

  it('the first example is an application that passes', async () => {
    const file = path.join(dir, 'app.mts');
    writeFileSync(file, examples()[0]!);
    const mod = (await import(pathToFileURL(file).href)) as { application: ValidatedApplication };
    const res = await request(mod.application, '/docs');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.log, []);
    assert.equal(res.text, 'Hello from /docs\n');
  });

  it('the second example (a test) runs as written', async () => {
    const file = path.join(dir, 'test.mts');
    writeFileSync(file, examples()[1]!);
    await import(pathToFileURL(file).href);
  });

  it('lists every check in its table', () => {
    const md = readFileSync(path.join(repo, 'docs/validate.md'), 'utf8');
    const inTable = new Set([...md.matchAll(/^\| (V\d+[ab]?|K\d+[abc]?|R\d+[ab]?) \|/gm)].map((m) => m[1]!));
    assert.deepEqual(
      CHECKS.map((c) => c.id).filter((id) => !inTable.has(id)),
      [],
    );
  });
});
