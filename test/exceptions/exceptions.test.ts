// tsgi/exceptions: every class's status and reason, abort(), the HTML and JSON bodies chosen by
// Accept, HTML escaping, the extra headers (Allow, Retry-After, WWW-Authenticate, Content-Range,
// Location), run through the engine and validate() as a server would run them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as exc from '../../src/exceptions/index.js';
import {
  EXCEPTIONS,
  HTTPException,
  MethodNotAllowed,
  NotFound,
  RangeNotSatisfiable,
  RequestRedirect,
  ServiceUnavailable,
  TooManyRequests,
  Unauthorized,
  abort,
  acceptQuality,
  prefersJson,
} from '../../src/exceptions/index.js';
import { request } from '../../src/testing/index.js';
import { validate } from '../../src/validate.js';

const NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  408: 'RequestTimeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'LengthRequired',
  412: 'PreconditionFailed',
  413: 'RequestEntityTooLarge',
  414: 'RequestURITooLarge',
  415: 'UnsupportedMediaType',
  416: 'RangeNotSatisfiable',
  417: 'ExpectationFailed',
  418: 'ImATeapot',
  422: 'UnprocessableEntity',
  423: 'Locked',
  424: 'FailedDependency',
  428: 'PreconditionRequired',
  429: 'TooManyRequests',
  431: 'RequestHeaderFieldsTooLarge',
  451: 'UnavailableForLegalReasons',
  500: 'InternalServerError',
  501: 'NotImplemented',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
  505: 'HTTPVersionNotSupported',
};

/** Throws `fn`'s error back as the value, failing if it returns. */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

describe('exception classes', () => {
  it('has one class per error status, exported under its Werkzeug name, and abort() throws it', async () => {
    assert.deepEqual([...EXCEPTIONS.keys()].sort(), Object.keys(NAMES).map(Number));
    for (const [code, name] of Object.entries(NAMES)) {
      const cls = (exc as unknown as Record<string, typeof HTTPException>)[name];
      assert.equal(typeof cls, 'function', name);
      assert.equal(cls!.code, Number(code));
      const err = caught(() => abort(Number(code))) as HTTPException;
      assert.ok(err instanceof cls!, `abort(${code}) throws ${name}`);
      assert.ok(err instanceof HTTPException && err instanceof Error);
      assert.equal(err.code, Number(code));
      assert.equal(err.name, name);
      assert.equal(err.description, cls!.description);
      // The response a client gets, through the engine, checked by validate().
      const res = await request(validate(err.asApp()), '/');
      assert.equal(res.statusCode, Number(code));
      assert.equal(res.status, `${code} ${err.reason}`);
      assert.match(res.text, new RegExp(`<h1>${err.reason.replace(/'/g, '&#39;')}</h1>`));
    }
  });

  it('uses the RFC 9110 reason phrases of the shared table', () => {
    assert.equal(new NotFound().reason, 'Not Found');
    assert.equal(new exc.RequestEntityTooLarge().status, '413 Content Too Large');
    assert.equal(new exc.UnprocessableEntity().status, '422 Unprocessable Content');
    assert.equal(new exc.ImATeapot().status, "418 I'm a Teapot");
  });

  it('carries a custom description, a cause, and a message like Python str(e)', () => {
    const cause = new Error('db down');
    const e = new exc.BadGateway('upstream said no', { cause });
    assert.equal(e.description, 'upstream said no');
    assert.equal(e.message, '502 Bad Gateway: upstream said no');
    assert.equal(e.cause, cause);
    assert.match(String(e.stack), /^BadGateway: 502 Bad Gateway/);
  });

  it('abort() of an error status without a class throws a plain HTTPException with that code', async () => {
    const e = caught(() => abort(402, 'pay up')) as HTTPException;
    assert.equal(e.constructor, HTTPException);
    assert.equal(e.code, 402);
    const res = await request(validate(e.asApp()), '/');
    assert.equal(res.status, '402 Payment Required');
    assert.match(res.text, /pay up/);
  });

  it('abort() refuses a status that is not an error', () => {
    for (const s of [200, 301, 399, 600, 404.5, NaN]) assert.throws(() => abort(s), RangeError);
  });

  it('abort(405) takes the allowed methods from an Allow header option', () => {
    const e = caught(() =>
      abort(405, undefined, {
        headers: [
          ['Allow', 'GET, HEAD'],
          ['X-Why', 'because'],
        ],
      }),
    ) as MethodNotAllowed;
    assert.ok(e instanceof MethodNotAllowed);
    assert.deepEqual(e.validMethods, ['GET', 'HEAD']);
    assert.deepEqual(e.headers, [
      ['X-Why', 'because'],
      ['Allow', 'GET, HEAD'],
    ]);
  });
});

describe('rendering', () => {
  it('escapes the description in HTML and turns newlines into <br>', async () => {
    const e = new exc.BadRequest(`<script>alert("x")</script> & 'y'\nline two`);
    const res = await request(e.asApp(), '/');
    assert.equal(res.header('content-type'), 'text/html; charset=utf-8');
    assert.ok(!res.text.includes('<script>'));
    assert.match(res.text, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &#39;y&#39;<br>\nline two/);
    assert.equal(Number(res.header('content-length')), res.body.length);
    assert.equal(res.header('vary'), 'Accept');
  });

  it('answers JSON when Accept prefers application/json, with the description unescaped', async () => {
    const e = new NotFound('no <user> "7"');
    const res = await request(validate(e.asApp()), '/', { headers: { Accept: 'application/json' } });
    assert.equal(res.header('content-type'), 'application/json');
    assert.deepEqual(JSON.parse(res.text), { code: 404, name: 'Not Found', description: 'no <user> "7"' });
    assert.equal(Number(res.header('content-length')), res.body.length);
  });

  it('counts Content-Length in UTF-8 bytes', async () => {
    const res = await request(validate(new NotFound('café ☕').asApp()), '/', { headers: { Accept: 'application/json' } });
    assert.equal(Number(res.header('content-length')), res.body.length);
    assert.equal(JSON.parse(res.text).description, 'café ☕');
  });

  it('chooses by quality, the most specific range deciding', () => {
    const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    const cases: Array<[string | undefined, boolean]> = [
      [undefined, false],
      ['', false],
      ['*/*', false], // curl: a tie goes to HTML
      [browser, false],
      ['application/json', true],
      ['application/json, */*;q=0.1', true],
      ['text/html;q=0.5, application/json', true],
      ['application/json;q=0.5, text/html', false],
      ['application/*', true],
      ['application/json;q=0, */*', false], // q=0 is "not acceptable"
      ['APPLICATION/JSON', true],
    ];
    for (const [accept, json] of cases) assert.equal(prefersJson(accept), json, String(accept));
    assert.equal(acceptQuality('text/*;q=0.3, text/html;q=0.7', 'text/html'), 0.7);
    assert.equal(acceptQuality('text/*;q=0.3', 'application/json'), 0);
  });

  it('sends no body to HEAD but the same headers', async () => {
    const res = await request(validate(new exc.Forbidden().asApp()), '/', { method: 'HEAD' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.body.length, 0);
    assert.ok(Number(res.header('content-length')) > 0);
  });

  it('is reusable: one exception answers many requests', async () => {
    const app = validate(new exc.Gone().asApp());
    for (let i = 0; i < 3; i++) assert.equal((await request(app, '/')).statusCode, 410);
  });
});

describe('extra headers', () => {
  it('MethodNotAllowed sends Allow, upper-cased', async () => {
    const res = await request(validate(new MethodNotAllowed(['get', 'post']).asApp()), '/');
    assert.equal(res.header('allow'), 'GET, POST');
  });

  it('Unauthorized sends one WWW-Authenticate per challenge', async () => {
    const e = new Unauthorized(undefined, { wwwAuthenticate: ['Basic realm="x"', 'Bearer'] });
    const res = await request(validate(e.asApp()), '/');
    assert.deepEqual(
      res.headers.filter(([k]) => k === 'WWW-Authenticate').map(([, v]) => v),
      ['Basic realm="x"', 'Bearer'],
    );
  });

  it('TooManyRequests and ServiceUnavailable send Retry-After as seconds or an HTTP date', async () => {
    assert.deepEqual(new TooManyRequests(undefined, { retryAfter: 120 }).headers, [['Retry-After', '120']]);
    const date = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
    assert.deepEqual(new ServiceUnavailable(undefined, { retryAfter: date }).headers, [['Retry-After', 'Wed, 02 Jan 2030 03:04:05 GMT']]);
    assert.throws(() => new TooManyRequests(undefined, { retryAfter: -1 }), RangeError);
    assert.throws(() => new TooManyRequests(undefined, { retryAfter: 1.5 }), RangeError);
    const res = await request(validate(new TooManyRequests(undefined, { retryAfter: 3 }).asApp()), '/');
    assert.equal(res.header('retry-after'), '3');
  });

  it('RangeNotSatisfiable sends Content-Range with the length', () => {
    assert.deepEqual(new RangeNotSatisfiable(undefined, { length: 1234 }).headers, [['Content-Range', 'bytes */1234']]);
  });

  it('extra headers given as options come after the generated ones', async () => {
    const res = await request(validate(new NotFound(undefined, { headers: [['X-Trace', 'abc']] }).asApp()), '/');
    assert.deepEqual(
      res.headers.map(([k]) => k),
      ['Content-Type', 'Content-Length', 'Vary', 'X-Trace'],
    );
  });
});

describe('RequestRedirect', () => {
  it('is 308 by default with Location and an escaped link', async () => {
    const res = await request(validate(new RequestRedirect('/a/?x=1&y=<2>'.replace('<2>', '%3C2%3E')).asApp()), '/');
    assert.equal(res.status, '308 Permanent Redirect');
    assert.equal(res.header('location'), '/a/?x=1&y=%3C2%3E');
    assert.match(res.text, /<a href="\/a\/\?x=1&amp;y=%3C2%3E">/);
  });

  it('takes 301, 302, 303 and 307, and nothing else', () => {
    for (const code of [301, 302, 303, 307] as const) assert.equal(new RequestRedirect('/x', code).code, code);
    assert.throws(() => new RequestRedirect('/x', 200 as 301), RangeError);
  });

  it('refuses a URL that would inject a header', () => {
    assert.throws(() => new RequestRedirect('/x\r\nSet-Cookie: a=b'), TypeError);
    assert.throws(() => new RequestRedirect('/café'), TypeError);
  });
});
