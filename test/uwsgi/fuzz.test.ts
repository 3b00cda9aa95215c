// Property tests (fast-check): arbitrary bytes never crash the parser or the server, never reach the
// application with an inconsistent environ, and well-formed packets parse back to what was encoded
// however the bytes are split.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isToken } from '../../src/runner/checks.js';
import { EMPTY_INPUT } from '../../src/runner/input.js';
import { LogErrors, silentLogger } from '../../src/runner/log.js';
import type { Application, Environ } from '../../src/spec.js';
import { FileWrapper } from '../../src/util.js';
import { buildEnviron, type Request } from '../../src/uwsgi/environ.js';
import { PacketError, UwsgiParser, encodePacket, type Parsed } from '../../src/protocol/uwsgi.js';
import { ClientError } from '../../src/errors.js';
import { serveUwsgi, type UwsgiServerHandle } from '../../src/uwsgi/index.js';
import { exchange, parseResponse } from './support.js';

const latin1 = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b).toString('latin1'));
const KNOWN = [
  'REQUEST_METHOD',
  'PATH_INFO',
  'SCRIPT_NAME',
  'QUERY_STRING',
  'REQUEST_URI',
  'CONTENT_LENGTH',
  'CONTENT_TYPE',
  'SERVER_NAME',
  'SERVER_PORT',
  'SERVER_PROTOCOL',
  'REMOTE_ADDR',
  'REMOTE_PORT',
  'HTTP_HOST',
  'HTTP_COOKIE',
  'HTTP_X_A',
  'HTTP_CONTENT_LENGTH',
  'HTTP_TRANSFER_ENCODING',
  'UWSGI_ROUTER',
  'HTTPS',
  'wsgi.input',
  '__proto__',
  'toString',
];
const key = fc.oneof(
  fc.constantFrom(...KNOWN),
  latin1(12).filter((k) => k.length > 0),
);
const value = fc.oneof(fc.constantFrom('', 'GET', 'POST', '0', '5', '/', '/a b', 'chunked', 'abc', '18446744073709551621'), latin1(20));
const vars = fc.array(fc.tuple(key, value), { maxLength: 12 });

/** Cut points for a byte string: the pieces fed to the parser. */
function cut(data: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of at) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  out.push(data.subarray(prev));
  return out;
}

/** The parser's verdict on pieces: the vars and the bytes after them, or the error code. */
function verdict(pieces: Uint8Array[], bufferSize = 65535): string {
  const p = new UwsgiParser(bufferSize);
  let done: Parsed | null = null;
  const after: Uint8Array[] = [];
  try {
    for (const piece of pieces) {
      if (done === null) {
        done = p.push(piece);
        if (done !== null) after.push(done.rest);
      } else after.push(piece);
    }
  } catch (err) {
    if (err instanceof PacketError) return `error ${err.kind}`;
    throw err; // anything else is a bug: fast-check reports the input
  }
  if (done === null) return `error ${p.end().kind}`;
  return JSON.stringify([done.packet.vars, Buffer.concat(after).toString('latin1')]);
}

/** Checks an environ the application could receive; returns what is wrong with it. */
function problems(e: Environ): string[] {
  const out: string[] = [];
  for (const k of ['REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL'] as const) {
    if (typeof e[k] !== 'string') out.push(`${k} is not a string`);
  }
  for (const [k, v] of Object.entries(e)) {
    if (typeof v === 'string' && /[^\u0000-\u00ff]/.test(v)) out.push(`${k} is not latin-1`);
  }
  if (!isToken(e.REQUEST_METHOD)) out.push('REQUEST_METHOD is not a token');
  if (e.CONTENT_LENGTH !== undefined && !/^[0-9]{1,15}$/.test(e.CONTENT_LENGTH)) out.push('bad CONTENT_LENGTH');
  if ('HTTP_CONTENT_LENGTH' in e || 'HTTP_CONTENT_TYPE' in e) out.push('HTTP_CONTENT_* kept');
  if (Object.getPrototypeOf(e) !== Object.prototype) out.push('prototype changed');
  if (e['wsgi.version'][0] !== 1 || e['wsgi.version'][1] !== 0) out.push('wsgi.version');
  if (typeof e['wsgi.input']?.read !== 'function') out.push('wsgi.input');
  if (e['wsgi.url_scheme'] !== 'http' && e['wsgi.url_scheme'] !== 'https') out.push('wsgi.url_scheme');
  if (e['wsgi.input_terminated'] !== true) out.push('wsgi.input_terminated');
  return out;
}

describe('the parser, on arbitrary bytes', () => {
  test('only ever accepts or refuses with a PacketError, whatever the split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), fc.integer({ min: 1, max: 65535 }), (bytes, points, size) => {
        assert.equal(verdict(cut(bytes, points), size), verdict([bytes], size));
      }),
      { numRuns: 2000 },
    );
  });

  test('capitals then a NUL: the same verdict whole and split after the 4 header bytes (found by the test above, 4% of runs)', () => {
    const bytes = Uint8Array.from([65, 65, 65, 65, 0]);
    assert.equal(verdict([bytes.subarray(0, 4), bytes.subarray(4)], 1), verdict([bytes], 1));
  });

  test('bytes that start like a packet go deeper: same verdict whole and split', () => {
    const packetish = fc
      .tuple(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 260 }))
      .map(([tail, size]) => Uint8Array.from([0, size & 0xff, size >> 8, 0, ...tail]));
    fc.assert(
      fc.property(packetish, fc.array(fc.nat(), { maxLength: 8 }), (bytes, points) => {
        assert.equal(verdict(cut(bytes, points)), verdict([bytes]));
      }),
      { numRuns: 2000 },
    );
  });

  test('an encoded packet parses back to its vars and body, however it is split', () => {
    const nonEmptyKey = latin1(30).filter((k) => k.length > 0);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(nonEmptyKey, latin1(60)), { minLength: 1, maxLength: 20 }),
        fc.uint8Array({ maxLength: 50 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (v, body, points) => {
          const bytes = encodePacket(v, body);
          assert.equal(verdict(cut(bytes, points)), JSON.stringify([v, Buffer.from(body).toString('latin1')]));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('the environ, from arbitrary vars', () => {
  const base = { software: 'tsgi/test', errors: new LogErrors(silentLogger), multiprocess: false, fileWrapper: FileWrapper, input: EMPTY_INPUT };
  test('is refused with a ClientError(400) or is consistent', () => {
    fc.assert(
      fc.property(vars, (v) => {
        let r: Request;
        try {
          r = buildEnviron(v, base, { localAddress: '127.0.0.1', localPort: 1 });
        } catch (err) {
          assert.ok(err instanceof ClientError && err.status === 400, String(err));
          return;
        }
        assert.deepEqual(problems(r.environ), []);
        const cl = r.environ.CONTENT_LENGTH;
        if (r.body.kind === 'length') assert.equal(String(r.body.length), String(Number(cl)));
        if (r.body.kind === 'chunked') assert.equal(cl, undefined);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the server, on arbitrary bytes', () => {
  const seen: string[] = [];
  let calls = 0;
  const app: Application = async (environ, startResponse) => {
    calls++;
    seen.push(...problems(environ));
    try {
      await environ['wsgi.input'].read();
    } catch {
      // a short or stalled body: the engine answers it
    }
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return ['ok'];
  };
  let h: UwsgiServerHandle;
  before(async () => (h = await serveUwsgi(app, { port: 0, log: silentLogger, headerTimeout: 200, bodyTimeout: 200 })));
  after(() => h.close());

  test('never crashes it nor calls the application with an inconsistent environ', async () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc.tuple(vars, fc.uint8Array({ maxLength: 40 })).map(([v, body]) => {
        try {
          return encodePacket(v, body);
        } catch {
          return body;
        }
      }),
      // a valid packet with one byte changed
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const p = encodePacket(
          [
            ['REQUEST_METHOD', 'POST'],
            ['PATH_INFO', '/f'],
            ['CONTENT_LENGTH', '3'],
          ],
          Buffer.from('abc'),
        );
        p[at % p.length] = byte;
        return p;
      }),
    );
    await fc.assert(
      fc.asyncProperty(input, fc.array(fc.nat(), { maxLength: 4 }), async (bytes, points) => {
        const r = await exchange(h.port, cut(bytes, points), { halfClose: true, pace: true });
        if (r.data.length > 0) assert.match(parseResponse(r.data).statusLine, /^HTTP\/1\.[01] (200|400|408) /);
      }),
      { numRuns: 300 },
    );
    assert.deepEqual(seen, []);
    assert.ok(calls > 0, 'some inputs reached the application');
    const ok = await exchange(h.port, [encodePacket([['REQUEST_METHOD', 'GET']])]);
    assert.match(parseResponse(ok.data).statusLine, / 200 OK$/);
  });
});
