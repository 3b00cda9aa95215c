// compress(): gzip/brotli by Accept-Encoding, the skips (tiny, encoded, no-transform, event streams,
// ranges, types), per-chunk flushing, write(), excInfo and close(); in-process and over a real server.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { compose } from '../../src/compose.js';
import { compress, isCompressible, negotiateEncoding, type CompressOptions } from '../../src/middleware/compress.js';
import type { Application, Body, HeaderList, Status } from '../../src/spec.js';
import { request, type RequestOptions } from '../../src/testing/index.js';
import { httpRequest, withServer } from './support.js';

const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(100); // 4500 bytes

function decode(encoding: string | undefined, body: Uint8Array): string {
  const b = Buffer.from(body);
  if (encoding === 'gzip') return zlib.gunzipSync(b).toString();
  if (encoding === 'br') return zlib.brotliDecompressSync(b).toString();
  return b.toString();
}

/** Decodes what has arrived so far (a flushed prefix of the stream). */
function decodePrefix(encoding: string, body: Buffer): string {
  if (encoding === 'gzip') return zlib.gunzipSync(body, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();
  return zlib.brotliDecompressSync(body, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }).toString();
}

const respond =
  (body: Body, headers: HeaderList = [['Content-Type', 'text/plain; charset=utf-8']], status: Status = '200 OK'): Application =>
  (_e, start) => {
    start(status, headers);
    return body;
  };

const run = (app: Application, acceptEncoding: string | null = 'gzip, deflate, br', options?: CompressOptions, extra: RequestOptions = {}) =>
  request(compose(app, compress(options)), '/', {
    ...extra,
    headers: { ...(acceptEncoding === null ? {} : { 'Accept-Encoding': acceptEncoding }), ...(extra.headers as Record<string, string>) },
  });

describe('negotiation', () => {
  it('picks the best coding by quality, brotli on a tie', () => {
    assert.equal(negotiateEncoding('gzip, deflate, br'), 'br');
    assert.equal(negotiateEncoding('gzip'), 'gzip');
    assert.equal(negotiateEncoding('br;q=0.5, gzip;q=0.8'), 'gzip');
    assert.equal(negotiateEncoding('br;q=0, gzip'), 'gzip');
    assert.equal(negotiateEncoding('*'), 'br');
    assert.equal(negotiateEncoding('*;q=0.1, gzip;q=0.5'), 'gzip');
    assert.equal(negotiateEncoding('br;q=0, *;q=0'), null);
    assert.equal(negotiateEncoding('identity'), null);
    assert.equal(negotiateEncoding(''), null);
    assert.equal(negotiateEncoding('x-gzip'), 'gzip');
    assert.equal(negotiateEncoding('gzip, br', ['gzip', 'br']), 'gzip', "the server's order breaks the tie");
    assert.equal(negotiateEncoding('br', ['gzip']), null);
  });

  it('knows which types compress', () => {
    for (const t of [
      'text/html',
      'text/css',
      'application/json',
      'application/javascript',
      'image/svg+xml',
      'application/problem+json',
      'application/atom+xml',
    ]) {
      assert.equal(isCompressible(t), true, t);
    }
    for (const t of ['text/event-stream', 'image/png', 'video/mp4', 'application/zip', 'application/octet-stream', 'font/woff2']) {
      assert.equal(isCompressible(t), false, t);
    }
  });
});

describe('compress in-process', () => {
  it('compresses an array body in one go, keeping a Content-Length', async () => {
    for (const [accept, coding] of [
      ['gzip, deflate, br', 'br'],
      ['gzip', 'gzip'],
    ] as const) {
      const res = await run(respond([TEXT.slice(0, 2000), TEXT.slice(2000)]), accept);
      assert.equal(res.header('Content-Encoding'), coding);
      assert.equal(res.header('Vary'), 'Accept-Encoding');
      assert.equal(res.header('Content-Length'), String(res.body.length));
      assert.ok(res.body.length < TEXT.length / 5);
      assert.equal(decode(coding, res.body), TEXT);
    }
  });

  it('leaves tiny bodies alone (array size or declared length), still saying Vary', async () => {
    const small = await run(respond(['short']));
    assert.equal(small.header('Content-Encoding'), undefined);
    assert.equal(small.header('Vary'), 'Accept-Encoding');
    assert.equal(small.text, 'short');
    const declared = await run(
      respond(
        (function* () {
          yield 'abc';
        })(),
        [
          ['Content-Type', 'text/plain'],
          ['Content-Length', '3'],
        ],
      ),
    );
    assert.equal(declared.header('Content-Encoding'), undefined);
    assert.equal(declared.text, 'abc');
    const lowered = await run(respond(['short']), 'gzip', { threshold: 0 });
    assert.equal(lowered.header('Content-Encoding'), 'gzip');
  });

  it('sends identity to a client that accepts no coding, with Vary', async () => {
    const res = await run(respond([TEXT]), null);
    assert.equal(res.header('Content-Encoding'), undefined);
    assert.equal(res.header('Vary'), 'Accept-Encoding');
    assert.equal(res.text, TEXT);
    const refused = await run(respond([TEXT]), 'gzip;q=0, br;q=0');
    assert.equal(refused.header('Content-Encoding'), undefined);
  });

  it('skips encoded, no-transform, event-stream, partial, bodiless and binary responses', async () => {
    const cases: Array<[string, HeaderList, Status?]> = [
      [
        'already encoded',
        [
          ['Content-Type', 'text/plain'],
          ['Content-Encoding', 'gzip'],
        ],
      ],
      [
        'no-transform',
        [
          ['Content-Type', 'text/plain'],
          ['Cache-Control', 'public, no-transform'],
        ],
      ],
      ['event stream', [['Content-Type', 'text/event-stream']]],
      [
        'partial content',
        [
          ['Content-Type', 'text/plain'],
          ['Content-Range', 'bytes 0-4499/9000'],
        ],
        '206 Partial Content',
      ],
      ['png', [['Content-Type', 'image/png']]],
      ['no content type', []],
    ];
    for (const [name, headers, status] of cases) {
      const res = await run(respond([TEXT], headers, status));
      assert.equal(res.header('Content-Encoding'), name === 'already encoded' ? 'gzip' : undefined, name);
      assert.equal(res.header('Vary'), undefined, name);
      assert.equal(res.text, TEXT, name);
    }
    const notModified = await run(
      respond(
        [],
        [
          ['Content-Type', 'text/plain'],
          ['ETag', '"x"'],
        ],
        '304 Not Modified',
      ),
    );
    assert.equal(notModified.statusCode, 304);
    assert.equal(notModified.header('Content-Encoding'), undefined);
    const noContent = await run(respond([], [['Content-Type', 'text/plain']], '204 No Content'));
    assert.equal(noContent.header('Content-Encoding'), undefined);
  });

  it('takes its own filter', async () => {
    const res = await run(respond([TEXT], [['Content-Type', 'application/octet-stream']]), 'gzip', { filter: () => true });
    assert.equal(res.header('Content-Encoding'), 'gzip');
  });

  it('weakens a strong ETag, drops Accept-Ranges and Content-Length, merges Vary', async () => {
    const res = await run(
      respond(
        (function* () {
          yield TEXT;
        })(),
        [
          ['Content-Type', 'text/html'],
          ['ETag', '"v1"'],
          ['Accept-Ranges', 'bytes'],
          ['Content-Length', String(TEXT.length)],
          ['Vary', 'Origin'],
        ],
      ),
      'gzip',
    );
    assert.equal(res.header('ETag'), 'W/"v1"');
    assert.equal(res.header('Accept-Ranges'), undefined);
    assert.equal(res.header('Content-Length'), undefined);
    assert.equal(res.header('Vary'), 'Origin, Accept-Encoding');
    assert.equal(decode('gzip', res.body), TEXT);
  });

  it('compresses a stream chunk by chunk, each one flushed and decodable at once', async () => {
    for (const coding of ['gzip', 'br'] as const) {
      let closes = 0;
      const parts = ['first part. '.repeat(50), 'second part. '.repeat(50), 'third.'];
      const body = Object.assign(
        (function* () {
          yield* parts;
        })(),
        { close: () => void closes++ },
      );
      const res = await run(respond(body), coding);
      assert.equal(res.header('Content-Encoding'), coding);
      assert.equal(decode(coding, res.body), parts.join(''));
      // One output chunk per input chunk, plus the end of the stream (R52).
      assert.equal(res.chunks.length, parts.length + 1, coding);
      let sofar = Buffer.alloc(0);
      for (let i = 0; i < parts.length; i++) {
        sofar = Buffer.concat([sofar, Buffer.from(res.chunks[i]!)]);
        assert.equal(decodePrefix(coding, sofar), parts.slice(0, i + 1).join(''), `${coding} chunk ${i} flushed`);
      }
      assert.equal(closes, 1);
    }
  });

  it('compresses an async stream whose app calls startResponse inside the body', async () => {
    const app: Application = (_e, start) =>
      (async function* () {
        yield ''; // empty chunks before startResponse are allowed (R43)
        start('200 OK', [['Content-Type', 'application/json']]);
        yield '{"a":';
        await new Promise((r) => setTimeout(r, 5));
        yield '1}';
      })();
    const res = await run(app, 'br');
    assert.equal(res.header('Content-Encoding'), 'br');
    assert.equal(decode('br', res.body), '{"a":1}');
  });

  it('compresses write() data in order, before the body', async () => {
    const app: Application = (_e, start) => {
      const write = start('200 OK', [['Content-Type', 'text/plain']]);
      void write('one ');
      void write('two ');
      return ['three'];
    };
    const res = await run(app, 'gzip');
    assert.equal(res.header('Content-Encoding'), 'gzip');
    assert.equal(decode('gzip', res.body), 'one two three');
  });

  it('passes an error response (excInfo) on at once, uncompressed', async () => {
    const app: Application = (_e, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      start('500 Internal Server Error', [['Content-Type', 'text/plain']], new Error('oops'));
      return [TEXT];
    };
    const res = await run(app, 'gzip');
    assert.equal(res.statusCode, 500);
    assert.equal(res.header('Content-Encoding'), undefined);
    assert.equal(res.text, TEXT);
  });

  it('raises bad headers when startResponse is called, and refuses a second call without excInfo', async () => {
    let thrown: unknown;
    const bad: Application = (_e, start) => {
      try {
        start('200 OK', [['Bad Name', 'x']]);
      } catch (err) {
        thrown = err;
        start('400 Bad Request', [['Content-Type', 'text/plain']], err);
        return ['caught'];
      }
      return ['not reached'];
    };
    const res = await run(bad, 'gzip');
    assert.match(String(thrown), /RFC 9110 token/);
    assert.equal(res.statusCode, 400);
    assert.equal(res.text, 'caught');
    const twice = await run((_e, start) => {
      start('200 OK', []);
      start('200 OK', []);
      return [];
    }, 'gzip');
    assert.equal(twice.statusCode, 500);
    assert.match(twice.log.join('\n'), /Headers already set/);
  });

  it('sends the headers GET would for HEAD, stopping the body early and closing it', async () => {
    let closes = 0;
    let finished = false;
    const body = Object.assign(
      (function* () {
        try {
          yield TEXT;
          yield TEXT;
        } finally {
          finished = true;
        }
      })(),
      { close: () => void closes++ },
    );
    const res = await run(respond(body), 'gzip', {}, { method: 'HEAD' });
    assert.equal(res.header('Content-Encoding'), 'gzip');
    assert.equal(res.body.length, 0);
    assert.equal(closes, 1);
    assert.equal(finished, true, "the inner generator's finally ran (return() passed on)");
  });

  it('lets errors in the body through to the server', async () => {
    const res = await run(
      respond(
        (function* () {
          yield TEXT;
          throw new Error('mid-stream');
        })(),
      ),
      'gzip',
    );
    assert.equal(res.aborted, true);
    assert.match(res.log.join('\n'), /mid-stream/);
  });

  it('refuses unknown encodings in its options', () => {
    assert.throws(() => compress({ encodings: ['deflate' as 'gzip'] }), /unknown encoding/);
  });
});

describe('compress over a real server', () => {
  it('sends gzip and br bodies a client decodes', async () => {
    await withServer(compose(respond([TEXT]), compress()), async (server) => {
      for (const coding of ['gzip', 'br']) {
        const res = await httpRequest(server.url, { headers: { 'Accept-Encoding': coding } });
        assert.equal(res.headers['content-encoding'], coding);
        assert.equal(res.headers['content-length'], String(res.body.length));
        assert.equal(decode(coding, res.body), TEXT);
      }
      const plain = await httpRequest(server.url);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.text, TEXT);
      const viaFetch = await fetch(server.url, { headers: { 'Accept-Encoding': 'br' } });
      assert.equal(await viaFetch.text(), TEXT, 'fetch decodes it transparently');
    });
  });

  it('flushes each chunk to the client before the application produces the next', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app: Application = (_e, start) =>
      (async function* () {
        start('200 OK', [['Content-Type', 'text/event-stream-ish; charset=utf-8']]);
        yield 'data: first event\n\n'.repeat(20);
        await gate; // the client must have decoded the first event by now
        yield 'data: second event\n\n';
      })();
    await withServer(compose(app, compress({ filter: () => true })), async (server) => {
      let received = Buffer.alloc(0);
      const res = await httpRequest(server.url, {
        headers: { 'Accept-Encoding': 'gzip' },
        onChunk: (chunk) => {
          received = Buffer.concat([received, chunk]);
          if (decodePrefix('gzip', received).includes('first event')) release();
        },
      });
      assert.equal(res.headers['content-encoding'], 'gzip');
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.match(decode('gzip', res.body), /second event/);
    });
  });

  it('closes the body once and frees the request when the client goes away mid-stream', async () => {
    let closes = 0;
    let produced = 0;
    const app: Application = (_e, start) => {
      const gen = (async function* () {
        start('200 OK', [['Content-Type', 'text/plain']]);
        for (;;) {
          produced++;
          yield `tick ${produced}\n`.repeat(10);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      return Object.assign(gen, { close: () => void closes++ });
    };
    await withServer(compose(app, compress()), async (server) => {
      await new Promise<void>((resolve, reject) => {
        const req = http.request(server.url, { headers: { 'Accept-Encoding': 'gzip' }, agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
        req.end();
      });
      for (let i = 0; i < 100 && closes === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const t0 = Date.now();
      await server.close(); // resolves once no response is in flight
      assert.ok(Date.now() - t0 < 2000, 'the stopped response does not hold the server');
    });
    assert.equal(closes, 1);
    const after = produced;
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(produced - after <= 1, 'the application stopped producing');
  });

  it('leaves text/event-stream uncompressed on the wire', async () => {
    const app: Application = (_e, start) =>
      (async function* () {
        start('200 OK', [['Content-Type', 'text/event-stream']]);
        yield 'data: x\n\n'.repeat(200);
      })();
    await withServer(compose(app, compress()), async (server) => {
      const res = await httpRequest(server.url, { headers: { 'Accept-Encoding': 'gzip, br' } });
      assert.equal(res.headers['content-encoding'], undefined);
      assert.equal(res.text, 'data: x\n\n'.repeat(200));
    });
  });
});
