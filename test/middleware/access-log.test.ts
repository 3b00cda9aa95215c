// accessLog() and its encoders: Apache common/combined, JSON lines; status, bytes, duration, request id;
// every way a response can end; in-process and over a real server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compose } from '../../src/compose.js';
import {
  accessLog,
  clfDate,
  encodeCombined,
  encodeCommon,
  encodeJson,
  escapeField,
  formatAccessLine,
  requestLine,
  type AccessEntry,
} from '../../src/middleware/access-log.js';
import { requestId } from '../../src/middleware/request-id.js';
import type { Application, Body, Status } from '../../src/spec.js';
import { createEnviron, request, runApp } from '../../src/testing/index.js';
import { httpRequest, withServer } from './support.js';

const savedTZ = process.env.TZ;
before(() => {
  process.env.TZ = 'UTC'; // Apache's %t is local time; pin it
});
after(() => {
  if (savedTZ === undefined) delete process.env.TZ;
  else process.env.TZ = savedTZ;
});

const T = Date.UTC(2000, 9, 10, 13, 55, 36); // 10/Oct/2000:13:55:36

function entry(path: string, headers: Record<string, string> = {}, extra: Partial<AccessEntry> = {}): AccessEntry {
  const environ = createEnviron(path, { headers, remoteAddr: '127.0.0.1', protocol: 'HTTP/1.0' });
  return { environ, status: 200, bytes: 2326, time: T, ...extra };
}

describe('encoders', () => {
  it("write Apache's common log format", () => {
    const e = entry('/apache_pb.gif');
    e.environ.REMOTE_USER = 'frank';
    assert.equal(encodeCommon(e), '127.0.0.1 - frank [10/Oct/2000:13:55:36 +0000] "GET /apache_pb.gif HTTP/1.0" 200 2326');
  });

  it("write Apache's combined log format", () => {
    const e = entry('/apache_pb.gif', {
      Referer: 'http://www.example.com/start.html',
      'User-Agent': 'Mozilla/4.08 [en] (Win98; I ;Nav)',
    });
    assert.equal(
      encodeCombined(e),
      '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /apache_pb.gif HTTP/1.0" 200 2326 ' +
        '"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"',
    );
  });

  it("end common and combined lines with Apache's %D (microseconds) when the duration is known", () => {
    const e = entry('/apache_pb.gif', {}, { duration: 12.3456 });
    assert.equal(encodeCommon(e), '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /apache_pb.gif HTTP/1.0" 200 2326 12346');
    assert.equal(encodeCombined(e), '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /apache_pb.gif HTTP/1.0" 200 2326 "-" "-" 12346');
  });

  it('write - for absent user, referer, agent and zero bytes', () => {
    assert.equal(encodeCombined(entry('/', {}, { bytes: 0 })), '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.0" 200 - "-" "-"');
  });

  it('escape what the client sent, so no field or line can be forged', () => {
    const e = entry('/', { 'User-Agent': 'evil" 200 999 "x\\', Referer: 'a\tb\x7fc' });
    e.environ.HTTP_USER_AGENT += '\n127.0.0.1 - - [forged]';
    const line = encodeCombined(e);
    assert.equal(line.split('\n').length, 1);
    assert.ok(line.endsWith('"a\\x09b\\x7fc" "evil\\" 200 999 \\"x\\\\\\x0a127.0.0.1 - - [forged]"'), line);
    assert.equal(escapeField('caf\u00c3\u00a9'), 'caf\\xc3\\xa9', 'native strings are bytes');
    assert.equal(escapeField('\u20ac'), '\\xe2\\x82\\xac', 'text beyond latin-1 is escaped as its UTF-8 bytes');
  });

  it('use the raw request target when the door keeps one, else rebuild it quoted', () => {
    const e = createEnviron('/a%20b?x=1');
    assert.equal(requestLine(e), 'GET /a%20b?x=1 HTTP/1.1');
    delete e.REQUEST_URI;
    delete e.RAW_URI; // the test client keeps the raw target too: without either, the line is rebuilt
    e.SCRIPT_NAME = '/app';
    e.PATH_INFO = '/a b';
    assert.equal(requestLine(e), 'GET /app/a%20b?x=1 HTTP/1.1');
  });

  it('format dates as %t with the local offset', () => {
    assert.equal(clfDate(T), '10/Oct/2000:13:55:36 +0000');
    process.env.TZ = 'America/New_York';
    try {
      assert.equal(clfDate(T), '10/Oct/2000:09:55:36 -0400');
    } finally {
      process.env.TZ = 'UTC';
    }
  });

  it("format by name through formatAccessLine (the prefork access log's signature)", () => {
    const e = entry('/apache_pb.gif', { 'User-Agent': 'ua' });
    assert.equal(formatAccessLine(e), encodeCombined(e));
    assert.equal(formatAccessLine(e, 'common'), encodeCommon(e));
    assert.equal(formatAccessLine(e, 'json'), encodeJson(e));
  });

  it('write JSON lines with typed OpenTelemetry fields', () => {
    const e = entry('/search?q=caf%C3%A9', { 'User-Agent': 'curl/8', Referer: 'https://x.test/' }, { duration: 12.3456, requestId: 'r-1' });
    const line = encodeJson(e);
    const o = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(o, {
      time: '2000-10-10T13:55:36.000Z',
      'client.address': '127.0.0.1',
      'http.request.method': 'GET',
      'url.path': '/search',
      'url.query': 'q=caf%C3%A9',
      'url.scheme': 'http',
      'network.protocol.version': '1.0',
      'http.response.status_code': 200,
      'http.response.body.size': 2326,
      'http.server.request.duration': 0.012346,
      'http.request.header.referer': 'https://x.test/',
      'user_agent.original': 'curl/8',
      'request.id': 'r-1',
      'process.pid': process.pid,
    });
  });

  it('escape JSON with the encoder, decode UTF-8 header bytes, and leave absent fields out', () => {
    const e = entry('/', { 'User-Agent': 'a"b\n"injected": true' }, { bytes: -1 });
    e.environ.HTTP_REFERER = 'https://x.test/caf\u00c3\u00a9'; // UTF-8 bytes as a native string
    const line = encodeJson(e);
    assert.equal(line.split('\n').length, 1);
    const o = JSON.parse(line) as Record<string, unknown>;
    assert.equal(o['user_agent.original'], 'a"b\n"injected": true');
    assert.equal(o['http.request.header.referer'], 'https://x.test/café');
    assert.equal('injected' in o, false);
    assert.equal('http.response.body.size' in o, false, 'unknown size');
    assert.equal('url.query' in o, false);
    assert.equal('request.id' in o, false);
  });
});

/** A log that keeps its lines. */
function capture(format: 'common' | 'combined' | 'json' = 'json') {
  const lines: string[] = [];
  return { lines, mw: accessLog({ format, write: (l) => lines.push(l) }), json: () => lines.map((l) => JSON.parse(l)) };
}

const ok =
  (body: Body, status: Status = '200 OK'): Application =>
  (_e, start) => {
    start(status, [['Content-Type', 'text/plain']]);
    return body;
  };

describe('accessLog in-process', () => {
  it('logs an array response with its size, once, after the response', async () => {
    const log = capture();
    const res = await request(compose(ok(['hello', ' wörld']), log.mw), '/x?y=1');
    assert.equal(res.text, 'hello wörld');
    assert.equal(res.header('Content-Length'), '12', 'the array stays an array for the engine');
    const [o] = log.json();
    assert.equal(log.lines.length, 1);
    assert.equal(o['http.response.status_code'], 200);
    assert.equal(o['http.response.body.size'], 12);
    assert.equal(o['url.path'], '/x');
    assert.equal(typeof o['http.server.request.duration'], 'number');
  });

  it('counts generator and async generator chunks, closing the inner body once', async () => {
    let closes = 0;
    const gen = Object.assign(
      (function* () {
        yield 'ab';
        yield new Uint8Array(3);
      })(),
      { close: () => void closes++ },
    );
    const log = capture();
    await request(compose(ok(gen), log.mw));
    assert.equal(log.json()[0]['http.response.body.size'], 5);
    assert.equal(closes, 1);

    const log2 = capture();
    const slow: Application = (_e, start) =>
      (async function* () {
        start('201 Created', []);
        await new Promise((r) => setTimeout(r, 20));
        yield 'xyz';
      })();
    await request(compose(slow, log2.mw));
    const [o] = log2.json();
    assert.equal(o['http.response.status_code'], 201);
    assert.equal(o['http.response.body.size'], 3);
    assert.ok((o['http.server.request.duration'] as number) >= 0.015, 'duration covers the body');
  });

  it('counts write() data', async () => {
    const log = capture();
    const legacy: Application = (_e, start) => {
      const write = start('200 OK', []);
      void write('1234');
      return ['56'];
    };
    const res = await request(compose(legacy, log.mw));
    assert.equal(res.text, '123456');
    assert.equal(log.json()[0]['http.response.body.size'], 6);
  });

  it('logs 500 when the application throws or rejects, and lets the error through', async () => {
    const log = capture();
    const res = await request(
      compose(() => {
        throw new Error('boom');
      }, log.mw),
    );
    assert.equal(res.statusCode, 500);
    assert.match(res.log.join('\n'), /boom/, 'the server still sees and logs the error');
    assert.equal(log.json()[0]['http.response.status_code'], 500);

    const log2 = capture();
    await request(compose(async () => Promise.reject(new Error('later')), log2.mw));
    assert.equal(log2.json()[0]['http.response.status_code'], 500);
    assert.equal(log2.lines.length, 1);
  });

  it('logs 500 for a body that fails before its first byte, the status sent for one that fails after', async () => {
    const early = capture();
    await request(
      compose(
        ok(
          // biome-ignore lint/correctness/useYield: a generator that fails before its first chunk
          (function* () {
            throw new Error('early');
          })(),
        ),
        early.mw,
      ),
    );
    assert.equal(early.json()[0]['http.response.status_code'], 500);

    const late = capture();
    const res = await request(
      compose(
        ok(
          (function* () {
            yield 'part';
            throw new Error('late');
          })(),
        ),
        late.mw,
      ),
    );
    assert.equal(res.aborted, true);
    const [o] = late.json();
    assert.equal(o['http.response.status_code'], 200);
    assert.equal(o['http.response.body.size'], 4);
  });

  it('logs 0 bytes for HEAD, 204 and 304', async () => {
    const log = capture();
    await request(compose(ok(['body']), log.mw), '/', { method: 'HEAD' });
    await request(compose(ok([], '204 No Content'), log.mw));
    await request(compose(ok([], '304 Not Modified'), log.mw));
    assert.deepEqual(
      log.json().map((o) => [o['http.response.status_code'], o['http.response.body.size']]),
      [
        [200, 0],
        [204, 0],
        [304, 0],
      ],
    );
  });

  it('picks up the request id and the client address whichever order the middleware are in', async () => {
    const log = capture();
    const fixClient: Application = (environ, start) => {
      environ.REMOTE_ADDR = '203.0.113.9'; // as proxyHeaders would, inside the log
      return ok(['x'])(environ, start);
    };
    await request(compose(fixClient, log.mw, requestId()), '/', { headers: { 'X-Request-ID': 'outer' } });
    await request(compose(fixClient, requestId(), log.mw), '/', { headers: { 'X-Request-ID': 'inner' } });
    assert.deepEqual(
      log.json().map((o) => [o['request.id'], o['client.address']]),
      [
        ['outer', '203.0.113.9'],
        ['inner', '203.0.113.9'],
      ],
    );
  });

  it('writes common and combined lines, custom encoders, and skips', async () => {
    const common = capture('common');
    await request(compose(ok(['abc']), common.mw), '/p', { headers: { 'User-Agent': 'ua' } });
    assert.match(common.lines[0]!, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/p HTTP\/1\.1" 200 3 \d+$/, '%D (microseconds) ends the line');
    const combined = capture('combined');
    await request(compose(ok(['abc']), combined.mw), '/p', { headers: { 'User-Agent': 'ua' } });
    assert.match(combined.lines[0]!, /"GET \/p HTTP\/1\.1" 200 3 "-" "ua" \d+$/);

    const lines: string[] = [];
    const custom = accessLog({
      format: (e) => `${e.status} ${e.environ.PATH_INFO} ${e.bytes}`,
      write: (l) => lines.push(l),
      skip: (e) => e.environ.PATH_INFO === '/health',
    });
    await request(compose(ok(['abc']), custom), '/health');
    await request(compose(ok(['abc']), custom), '/real');
    assert.deepEqual(lines, ['200 /real 3']);
    assert.throws(() => accessLog({ format: 'xml' as 'json' }), /unknown format/);
  });

  it('reports a failing log writer to wsgi.errors without breaking the response', async () => {
    const mw = accessLog({
      write: () => {
        throw new Error('disk full');
      },
    });
    const environ = createEnviron('/');
    const res = await runApp(compose(ok(['fine']), mw), environ);
    assert.equal(res.text, 'fine');
    assert.match((environ['wsgi.errors'] as unknown as { getvalue(): string }).getvalue(), /disk full/);
  });
});

describe('accessLog over a real server', () => {
  it('logs each request on the wire as JSON with the request id', async () => {
    const log = capture();
    const streaming: Application = (_e, start) =>
      (async function* () {
        start('200 OK', [['Content-Type', 'text/plain']]);
        yield 'streamed ';
        yield 'body';
      })();
    const perRequest = compose(streaming, requestId(), log.mw);
    await withServer(perRequest, async (server) => {
      const res = await httpRequest(`${server.url}/wire?a=b`, { headers: { 'User-Agent': 'test-agent', 'X-Request-ID': 'wire-1' } });
      assert.equal(res.text, 'streamed body');
      // The line is written when the server closes the body, right after the last byte.
      for (let i = 0; i < 50 && log.lines.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    });
    const [o] = log.json();
    assert.equal(o['http.request.method'], 'GET');
    assert.equal(o['url.path'], '/wire');
    assert.equal(o['url.query'], 'a=b');
    assert.equal(o['http.response.body.size'], 13);
    assert.equal(o['user_agent.original'], 'test-agent');
    assert.equal(o['request.id'], 'wire-1');
    assert.equal(o['client.address'], '127.0.0.1');
    assert.equal(o['network.protocol.version'], '1.1');
  });
});
