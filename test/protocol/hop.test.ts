// The one hop-by-hop list (src/protocol/hop.ts): the runner refuses each name at startResponse,
// validate() reports it as R41, util.isHopByHop says yes, and the Fetch bridge drops it, in any case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOP_BY_HOP } from '../../src/protocol/hop.js';
import { AssertionError, checkHeaders } from '../../src/runner/checks.js';
import { isHopByHop } from '../../src/util.js';
import { ValidationError, validate } from '../../src/validate.js';
import { fromFetchHandler } from '../../src/fetch/index.js';
import { createEnviron, request } from '../../src/testing/index.js';
import type { Application, StartResponse } from '../../src/spec.js';

/** `proxy-authenticate` as an application would write it: `Proxy-Authenticate`. */
const spelled = (name: string) => name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
const start: StartResponse = () => () => Promise.resolve();

test("the list is wsgiref's, trailers spelled as it spells it", () => {
  const names = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers', 'transfer-encoding', 'upgrade'];
  assert.deepEqual([...HOP_BY_HOP].sort(), names);
  for (const other of ['trailer', 'content-length', 'proxy-connection', 'x-connection']) assert.equal(isHopByHop(other), false, other);
});

for (const lower of HOP_BY_HOP) {
  const name = spelled(lower);
  test(`${name}: refused by the runner and validate(), named by isHopByHop, dropped by the Fetch bridge`, async () => {
    assert.equal(isHopByHop(name), true);
    assert.equal(isHopByHop(lower.toUpperCase()), true);
    assert.throws(
      () => checkHeaders([[name, 'x']]),
      (e: unknown) => e instanceof AssertionError && e.code === 'TSGI_ERR_APP_HEADERS' && e.message.includes(`'${name}: x'`),
    );
    const app: Application = (_environ, startResponse) => {
      startResponse('200 OK', [
        ['Content-Type', 'text/plain'],
        [name, 'x'],
      ]);
      return [];
    };
    assert.throws(
      () => validate(app)(createEnviron('/'), start),
      (e: unknown) => e instanceof ValidationError && e.check === 'R41',
    );
    const fetchApp = fromFetchHandler(() => new Response('ok', { headers: { [name]: 'x', 'Content-Type': 'text/plain' } }));
    const res = await request(fetchApp, '/');
    assert.equal(res.statusCode, 200);
    assert.equal(res.header(lower), undefined, `${name} reached the response`);
  });
}
