// requestId(): accept or generate X-Request-ID, store it in the environ, echo it; in-process and on the wire.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compose } from '../../src/compose.js';
import { getRequestId, isValidRequestId, REQUEST_ID_KEY, requestId } from '../../src/middleware/request-id.js';
import type { Application, HeaderList } from '../../src/spec.js';
import { createEnviron, request } from '../../src/testing/index.js';
import { httpRequest, withServer } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Answers with the ID it found in the environ. */
const showId: Application = (environ, start) => {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [String(environ[REQUEST_ID_KEY])];
};

describe('requestId in-process', () => {
  it('generates a UUID when the request has none, stores and echoes it', async () => {
    const res = await request(compose(showId, requestId()));
    assert.match(res.text, UUID);
    assert.equal(res.header('X-Request-ID'), res.text);
  });

  it('accepts a sane incoming ID', async () => {
    const trace = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8';
    const res = await request(compose(showId, requestId()), '/', { headers: { 'X-Request-ID': trace } });
    assert.equal(res.text, trace);
    assert.equal(res.header('x-request-id'), trace);
  });

  it('replaces IDs that could break a log line or came twice', async () => {
    const app = compose(showId, requestId());
    for (const bad of ['has space', 'quote"', 'back\\slash', 'x'.repeat(201), 'tab\there']) {
      const res = await request(app, '/', { headers: { 'X-Request-ID': bad } });
      assert.match(res.text, UUID, JSON.stringify(bad));
    }
    const twice = await request(app, '/', {
      headers: [
        ['X-Request-ID', 'a'],
        ['X-Request-ID', 'b'],
      ],
    });
    assert.match(twice.text, UUID, 'a repeated header arrives joined with a comma');
    assert.equal(isValidRequestId('abc-123_DEF.4:5/6+7=8@9'), true);
    assert.equal(isValidRequestId(''), false);
  });

  it('ignores incoming IDs with trustIncoming: false', async () => {
    const res = await request(compose(showId, requestId({ trustIncoming: false })), '/', { headers: { 'X-Request-ID': 'mine' } });
    assert.match(res.text, UUID);
  });

  it('takes a header name, a generator and a validator', async () => {
    let n = 0;
    const app = compose(showId, requestId({ header: 'X-Correlation-ID', generate: () => `req-${++n}`, validate: (id) => /^c-\d+$/.test(id) }));
    const a = await request(app, '/', { headers: { 'X-Correlation-ID': 'c-42' } });
    assert.equal(a.text, 'c-42');
    assert.equal(a.header('X-Correlation-ID'), 'c-42');
    assert.equal(a.header('X-Request-ID'), undefined);
    const b = await request(app, '/', { headers: { 'X-Correlation-ID': 'other' } });
    assert.equal(b.text, 'req-1');
    assert.throws(() => requestId({ header: 'X_Bad' }), /never reaches the environ/);
  });

  it("keeps the application's own header, and does not echo with echo: false", async () => {
    const own: Application = (_e, start) => {
      start('200 OK', [['X-Request-ID', 'set-by-app']]);
      return [];
    };
    assert.equal((await request(compose(own, requestId()))).header('X-Request-ID'), 'set-by-app');
    const quiet = await request(compose(showId, requestId({ echo: false })));
    assert.equal(quiet.header('X-Request-ID'), undefined);
    assert.match(quiet.text, UUID);
  });

  it('never changes a header list the application shares between requests', async () => {
    const shared: HeaderList = [['Content-Type', 'text/plain']];
    const app = compose((_e, start) => {
      start('200 OK', shared);
      return ['x'];
    }, requestId());
    const a = await request(app);
    const b = await request(app);
    assert.notEqual(a.header('X-Request-ID'), b.header('X-Request-ID'));
    assert.deepEqual(shared, [['Content-Type', 'text/plain']]);
  });

  it('adds the ID to error responses sent with excInfo, and returns the body untouched', async () => {
    const body = ['a', 'b'];
    let seen: unknown;
    const app = compose((environ, start) => {
      start('200 OK', []);
      start('500 Oops', [['Content-Type', 'text/plain']], new Error('late'));
      seen = getRequestId(environ);
      return body;
    }, requestId());
    const res = await request(app);
    assert.equal(res.statusCode, 500);
    assert.equal(res.header('X-Request-ID'), seen);
    const returned = requestId()(() => body)(createEnviron('/'), () => async () => {});
    assert.equal(returned, body, 'no wrapper around the body');
  });
});

describe('requestId over a real server', () => {
  it('echoes the incoming ID and generates one otherwise', async () => {
    await withServer(compose(showId, requestId()), async (server) => {
      const given = await httpRequest(server.url, { headers: { 'X-Request-ID': 'abc-123' } });
      assert.equal(given.headers['x-request-id'], 'abc-123');
      assert.equal(given.text, 'abc-123');
      const made = await httpRequest(server.url);
      assert.match(String(made.headers['x-request-id']), UUID);
      assert.equal(made.text, made.headers['x-request-id']);
    });
  });
});
