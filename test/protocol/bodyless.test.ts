// The bodyless table (src/protocol/bodyless.ts) is what both the runner and validate() follow: the
// runner frames by it (the bodyless flag a door gets, the Content-Length it adds or refuses) and the
// validator checks applications against it (K13, V34a, K15, R70). Each status and method, both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_CONTENT, isBodyless, noContentRule } from '../../src/protocol/bodyless.js';
import { AssertionError, checkHeaders } from '../../src/runner/checks.js';
import { runApp, type Sink } from '../../src/runner/handler.js';
import { silentLogger } from '../../src/runner/log.js';
import { ValidationError, validate } from '../../src/validate.js';
import { createEnviron } from '../../src/testing/index.js';
import type { Application, HeaderList, StartResponse, Status } from '../../src/spec.js';

test("the table: 1xx and 204 forbid Content-Length and Transfer-Encoding, 304 allows the representation's length", () => {
  assert.deepEqual(NO_CONTENT['1xx'], { contentLength: 'forbidden', transferEncoding: 'forbidden', contentType: 'forbidden' });
  assert.deepEqual(NO_CONTENT[204], { contentLength: 'forbidden', transferEncoding: 'forbidden', contentType: 'forbidden' });
  assert.deepEqual(NO_CONTENT[304], { contentLength: 'representation', transferEncoding: 'allowed', contentType: 'forbidden' });
  for (const code of [100, 101, 103, 199]) assert.equal(noContentRule(code), NO_CONTENT['1xx']);
  for (const code of [200, 205, 206, 301, 404, 500]) assert.equal(noContentRule(code), undefined, String(code));
});

/** What the runner hands the door for `status` answered to `method` with a body of 'abc'. */
async function framed(status: string, method: string): Promise<{ bodyless: boolean; headers: HeaderList; bytes: number }> {
  let out = { bodyless: false, headers: [] as HeaderList, bytes: 0 };
  const sink: Sink = {
    head: (_c, _s, headers, _l, bodyless) => void (out = { ...out, bodyless, headers }),
    write: (chunk) => ((out.bytes += chunk.length), true),
    drain: () => Promise.resolve(),
    end: (last) => void (out.bytes += last?.length ?? 0),
    abort: () => {},
    closed: false,
  };
  const app: Application = (_e, start) => (start(status as Status, []), ['abc']);
  await runApp(app, createEnviron('/', { method }), sink, { log: silentLogger, method });
  return out;
}

for (const [status, code] of [
  ['200 OK', 200],
  ['204 No Content', 204],
  ['205 Reset Content', 205],
  ['304 Not Modified', 304],
  ['404 Not Found', 404],
] as const) {
  test(`${status}: the runner frames it as the table says, and validate() checks it the same way`, async () => {
    for (const method of ['GET', 'HEAD']) {
      const f = await framed(status, method);
      assert.equal(f.bodyless, isBodyless(code, method), method);
      assert.equal(f.bytes, isBodyless(code, method) ? 0 : 3, `${method}: body bytes sent`);
      // The runner adds its own Content-Length only where a status may have content.
      const added = f.headers.some(([n]) => n === 'Content-Length');
      assert.equal(added, noContentRule(code) === undefined, `${method}: runner's Content-Length`);
    }
    const forbidden = noContentRule(code)?.contentLength === 'forbidden';
    const runnerRefuses = (() => {
      try {
        checkHeaders([['Content-Length', '0']], code);
        return false;
      } catch (err) {
        assert.ok(err instanceof AssertionError && err.code === 'TSGI_ERR_APP_HEADERS');
        return true;
      }
    })();
    assert.equal(runnerRefuses, forbidden, 'runner: Content-Length refused');
    const start: StartResponse = () => () => Promise.resolve();
    const validatorRefuses = (() => {
      try {
        validate((_e, s) => (s(status, [['Content-Length', '0']]), []))(createEnviron('/'), start);
        return false;
      } catch (err) {
        assert.ok(err instanceof ValidationError && err.check === 'K13', String(err));
        return true;
      }
    })();
    assert.equal(validatorRefuses, forbidden, 'validate(): K13');
  });
}
