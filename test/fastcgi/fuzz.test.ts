// Properties of the FastCGI parser and door under arbitrary input (fast-check shrinks any failure to
// a minimal byte string): the parser throws nothing but ProtocolError and does not care how the bytes
// are split; the door never crashes, never calls the application with an environ that breaks the
// contract, and keeps serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClientError } from '../../src/runner/handler.js';
import { isToken } from '../../src/runner/checks.js';
import { serveFastcgi, type FastcgiServerHandle } from '../../src/fastcgi/index.js';
import {
  FCGI,
  ProtocolError,
  RecordParser,
  beginRequest,
  decodePairs,
  encodePairs,
  encodeRecord,
  encodeStream,
  type FcgiRecord,
} from '../../src/protocol/fastcgi.js';
import type { Application } from '../../src/spec.js';
import { silentLogger } from '../../src/runner/log.js';
import { GET, request, responses, send } from './client.js';

const latin1 = (max: number) => fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: max });

/** Records parsed from `parts`, up to the first ProtocolError (any other error fails the property). */
function parseAll(parts: Uint8Array[]): { records: string[]; error: boolean } {
  const records: string[] = [];
  const p = new RecordParser((r: FcgiRecord) => records.push(`${r.type}/${r.requestId}/${Buffer.from(r.content).toString('hex')}`));
  try {
    for (const part of parts) p.push(part);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { records, error: true };
  }
  return { records, error: false };
}

function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    out.push(data.subarray(last, p));
    last = p;
  }
  out.push(data.subarray(last));
  return out;
}

// --- what a web server (or anything else) might send -------------------------------------------------

const key = fc.oneof(
  fc.constantFrom(
    'REQUEST_METHOD',
    'CONTENT_LENGTH',
    'CONTENT_TYPE',
    'SCRIPT_NAME',
    'PATH_INFO',
    'QUERY_STRING',
    'REQUEST_URI',
    'HTTP_HOST',
    'HTTP_CONTENT_LENGTH',
    'HTTP_CONTENT_TYPE',
    'HTTP_COOKIE',
    'HTTP_X',
    'SERVER_NAME',
    'SERVER_PORT',
    'SERVER_PROTOCOL',
    'REMOTE_PORT',
    'HTTPS',
    'wsgi.input',
    'wsgi.version',
    '__proto__',
    'constructor',
    'toString',
    '',
  ),
  latin1(12),
);
const value = fc.oneof(fc.constantFrom('', '0', '5', '12', 'GET', 'POST', 'HEAD', '/a/b', 'on', '-1', '99999999999999999'), latin1(30));
const method = fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'B D', '', 'G\xe9T');
const requestBytes = fc
  .record({
    id: fc.integer({ min: 1, max: 3 }),
    flags: fc.integer({ min: 0, max: 255 }),
    role: fc.constantFrom(1, 1, 1, 2, 3, 0, 9),
    method,
    length: fc.option(fc.constantFrom('0', '1', '5', '40', '300', 'x', '')),
    params: fc.array(fc.tuple(key, value), { maxLength: 8 }),
    stdin: fc.uint8Array({ maxLength: 300 }),
    max: fc.integer({ min: 1, max: 300 }),
    endStdin: fc.boolean(),
  })
  .map((r) => {
    const pairs: Array<[string, string]> = [['REQUEST_METHOD', r.method], ...r.params];
    if (r.length !== null) pairs.push(['CONTENT_LENGTH', r.length]);
    return Buffer.concat([
      beginRequest(r.id, r.role, r.flags),
      encodeStream(FCGI.PARAMS, r.id, encodePairs(pairs), r.max),
      encodeRecord(FCGI.PARAMS, r.id),
      encodeStream(FCGI.STDIN, r.id, r.stdin, r.max),
      r.endStdin ? encodeRecord(FCGI.STDIN, r.id) : new Uint8Array(0),
    ]);
  });
const anyRecord = fc
  .record({
    type: fc.integer({ min: 0, max: 15 }),
    id: fc.integer({ min: 0, max: 3 }),
    content: fc.uint8Array({ maxLength: 80 }),
    padding: fc.integer({ min: 0, max: 20 }),
  })
  .map((r) => encodeRecord(r.type, r.id, r.content, r.padding));
const stream = fc
  .tuple(
    fc.array(
      fc.oneof({ weight: 4, arbitrary: requestBytes }, { weight: 3, arbitrary: anyRecord }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) }),
      { minLength: 1, maxLength: 4 },
    ),
    // Sometimes one byte changed anywhere (not always: whole requests must reach the application too).
    fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })) }),
  )
  .map(([parts, flip]) => {
    const data = Buffer.concat(parts);
    if (flip !== null && data.length > 0) data[flip[0] % data.length] = flip[1];
    return data;
  });

test('the record parser: only ProtocolError, and the same records however the bytes are split', () => {
  fc.assert(
    fc.property(fc.oneof(stream, fc.uint8Array({ maxLength: 400 })), fc.array(fc.nat(), { maxLength: 30 }), (data, cuts) => {
      const whole = parseAll([data]);
      const split = parseAll(splitAt(data, cuts));
      assert.deepEqual(split, whole);
    }),
    { numRuns: 1000 },
  );
});

test('name-value pairs: any pairs round-trip; any bytes decode to pairs that round-trip, or a ProtocolError', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(latin1(200), latin1(200)), { maxLength: 10 }), (pairs) => {
      assert.deepEqual(decodePairs(encodePairs(pairs)), pairs);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
      let pairs;
      try {
        pairs = decodePairs(data);
      } catch (err) {
        assert.ok(err instanceof ProtocolError, String(err));
        return;
      }
      assert.deepEqual(decodePairs(encodePairs(pairs)), pairs);
    }),
    { numRuns: 1000 },
  );
});

// --- the door ---------------------------------------------------------------------------------------------

const problems: string[] = [];
let calls = 0;

/** Checks the environ against the contract and that wsgi.input keeps CONTENT_LENGTH's promise. */
const checker: Application = async (environ, start) => {
  calls++;
  const problem = (m: string) => problems.push(`${m} (environ ${JSON.stringify(Object.keys(environ))})`);
  for (const [k, v] of Object.entries(environ)) {
    if (typeof v === 'string' && /[^\x00-\xff]/.test(v)) problem(`${k} is not latin-1`);
  }
  if (!isToken(environ.REQUEST_METHOD)) problem(`REQUEST_METHOD ${JSON.stringify(environ.REQUEST_METHOD)}`);
  for (const k of ['SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL', 'SERVER_SOFTWARE'] as const) {
    if (typeof environ[k] !== 'string') problem(`${k} is not a string`);
  }
  if (environ.SERVER_NAME === '' || environ.SERVER_PORT === '') problem('SERVER_NAME or SERVER_PORT empty');
  if ('HTTP_CONTENT_LENGTH' in environ || 'HTTP_CONTENT_TYPE' in environ) problem('HTTP_CONTENT_* kept');
  if (environ.CONTENT_TYPE === '') problem('empty CONTENT_TYPE');
  const cl = environ.CONTENT_LENGTH;
  if (cl !== undefined && !/^\d{1,15}$/.test(cl)) problem(`CONTENT_LENGTH ${JSON.stringify(cl)}`);
  if (JSON.stringify(environ['wsgi.version']) !== '[1,0]' || environ['wsgi.input_terminated'] !== true) problem('wsgi.* keys');
  if (Object.getPrototypeOf(environ) !== Object.prototype) problem('environ prototype changed');
  try {
    const body = await environ['wsgi.input'].read();
    if (cl !== undefined && body.length !== Number(cl)) problem(`read ${body.length} bytes of CONTENT_LENGTH ${cl}`);
  } catch (err) {
    if (!(err instanceof ClientError)) problem(`wsgi.input.read() threw ${String(err)}`);
    throw err;
  }
  start('200 OK', [['Content-Type', 'text/plain']]);
  return ['ok'];
};

let srv: FastcgiServerHandle;
before(async () => {
  srv = await serveFastcgi(checker, { port: 0, log: silentLogger, headerTimeout: 2000, bodyTimeout: 2000 });
});
after(() => srv.close());

test('the door: arbitrary streams in arbitrary pieces never crash it nor reach the application inconsistent', async () => {
  const runs = Number(process.env.FUZZ_RUNS ?? 500);
  await fc.assert(
    fc.asyncProperty(stream, fc.array(fc.nat(), { maxLength: 8 }), async (data, cuts) => {
      problems.length = 0;
      // Half-close after sending: whatever state the connection is in, it then ends without a timer.
      const reply = await send(srv.port, splitAt(data, cuts), { halfClose: true, timeoutMs: 8000 });
      assert.equal(reply.closed, true, 'the connection ends once the peer has nothing more to say');
      assert.deepEqual(problems, []);
    }),
    { numRuns: runs },
  );
  assert.ok(calls >= runs / 25, `the application ran ${calls} times in ${runs} runs: the generator must reach it`);
  // Still serving.
  const r = responses((await send(srv.port, request({ params: GET('/after') }))).records)[0]!;
  assert.equal(r.body.toString(), 'ok');
});
