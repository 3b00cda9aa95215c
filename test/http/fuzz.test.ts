// Property: whatever bytes arrive as a request head, tsgi answers with well-formed HTTP responses or
// closes the connection, the application never sees an environ that breaks the contract, and the
// server keeps serving. fast-check shrinks any failure to a minimal request.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { after, before, it } from 'node:test';
import { ENGINE } from '../helpers/engine.js';
import type { Application, Environ } from '../../src/spec.js';
import { serve, type ServerHandle } from '../../src/http/serve.js';
import { silentLogger } from '../../src/runner/log.js';
import { rawRequest } from '../helpers/net.js';

const problems: string[] = [];

/** Checks the environ the app got against the contract, then echoes the path. */
const app: Application = async (environ: Environ, start) => {
  for (const [k, v] of Object.entries(environ)) {
    if (typeof v === 'string' && /[^\x00-\xff]/.test(v)) problems.push(`${k} is not latin-1: ${JSON.stringify(v)}`);
    if (k.startsWith('HTTP_') && /[\r\n\0]/.test(v as string)) problems.push(`${k} holds CR, LF or NUL`);
  }
  for (const k of ['REQUEST_METHOD', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL'] as const) {
    if (typeof environ[k] !== 'string' || environ[k] === '') problems.push(`${k} missing or empty`);
  }
  if (environ.CONTENT_LENGTH !== undefined && !/^\d+$/.test(environ.CONTENT_LENGTH)) problems.push(`CONTENT_LENGTH ${environ.CONTENT_LENGTH}`);
  await environ['wsgi.input'].read();
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [`ECHO ${environ.REQUEST_METHOD} ${environ.PATH_INFO}`];
};

let server: ServerHandle;
before(async () => {
  server = await serve(app, { ...ENGINE, host: '127.0.0.1', port: 0, log: silentLogger, headersTimeout: 1000, bodyTimeout: 500 });
});
after(() => server.close());

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const anyLine = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const method = fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'OPTIONS', 'get', 'CONNECT'), token);
const target = fc.oneof(fc.constantFrom('/', '*', '/a?b=c', 'http://x/y', '//a//b', '/%zz', '/%00', 'x'), fc.webPath(), anyLine);
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.2', 'http/1.1', '');
const header = fc.oneof(
  fc.tuple(token, fc.string({ maxLength: 20 })).map(([k, v]) => `${k}: ${v}`),
  fc.constantFrom(
    'Host: h',
    'Content-Length: 3',
    'Content-Length: -1',
    'Content-Length: 1, 2',
    'Transfer-Encoding: chunked',
    'Transfer-Encoding: gzip',
    'Expect: 100-continue',
    ' folded',
    'X_Under: y',
    'Host: a',
  ),
  anyLine,
);
const head = fc
  .tuple(method, target, version, fc.array(header, { maxLength: 8 }), fc.constantFrom('', 'abc', '3\r\nabc\r\n0\r\n\r\n'))
  .map(([m, t, v, hs, body]) => `${m} ${t} ${v}\r\n${hs.join('\r\n')}${hs.length ? '\r\n' : ''}\r\n${body}`);

it('answers any request head well-formed or closes, and keeps serving', { timeout: 240_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(head, async (raw) => {
      const r = await rawRequest(server.port, raw, { timeoutMs: 3000 });
      // Every response that starts must be a status line we can parse; garbage never comes back.
      if (r.text.length > 0) assert.match(r.text, /^HTTP\/1\.[01] [1-5]\d\d [^\r\n]*\r\n/, JSON.stringify(raw));
      assert.doesNotMatch(r.text, /ECHO \S+ \/smuggled/);
    }),
    { numRuns: Number(process.env.TSGI_FUZZ_RUNS ?? 300), seed: process.env.TSGI_FUZZ_SEED ? Number(process.env.TSGI_FUZZ_SEED) : undefined },
  );
  assert.deepEqual(problems, [], 'the application only ever saw a well-formed environ');
  const alive = await fetch(`${server.url}/alive`);
  assert.equal(await alive.text(), 'ECHO GET /alive');
});
