// The engine's contract, in-process through the test client: startResponse checks, framing,
// Content-Length enforcement, HEAD, errors and close().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Application, Body, Environ, StartResponse, Status } from '../../src/spec.js';
import { createEnviron, request, runApp } from '../../src/testing/index.js';
import { ClientError, runApp as runRaw, type Sink } from '../../src/runner/handler.js';
import { silentLogger } from '../../src/runner/log.js';

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** A body whose close() calls are counted. */
function tracked(chunks: Array<string | Uint8Array>): Body & { closes: number } {
  const body = {
    closes: 0,
    *[Symbol.iterator]() {
      yield* chunks;
    },
    close() {
      body.closes++;
    },
  };
  return body;
}

describe('startResponse checks', () => {
  const cases: Array<[string, string, Array<[string, string]>, RegExp]> = [
    ['status without reason space', '200', [], /at least 4 characters/],
    ['status not digits', 'abc OK', [], /3-digit code/],
    ['no space after code', '200xOK', [], /space after code/],
    ['control char in status', '200 O\nK', [], /Control characters are not allowed in status/],
    ['non-latin-1 status', '200 Ok \u20ac', [], /latin-1/],
    ['header name not a token', '200 OK', [['Bad Name', 'x']], /RFC 9110 token/],
    ['CR in header value', '200 OK', [['X-A', 'a\r\nSet-Cookie: evil']], /Control characters not allowed/],
    ['NUL in header value', '200 OK', [['X-A', 'a\0b']], /Control characters not allowed/],
    ['non-latin-1 header value', '200 OK', [['X-A', '\u0100']], /must be latin-1/],
    ['hop-by-hop Connection', '200 OK', [['Connection', 'close']], /Hop-by-hop header/],
    ['hop-by-hop Transfer-Encoding', '200 OK', [['Transfer-Encoding', 'chunked']], /Hop-by-hop header/],
    ['bad Content-Length', '200 OK', [['Content-Length', '12a']], /Invalid Content-Length/],
  ];
  for (const [name, status, headers, message] of cases) {
    it(`refuses ${name} when startResponse is called`, async () => {
      let thrown: unknown;
      const app: Application = (_env, start) => {
        try {
          start(status as Status, headers); // malformed on purpose: the runtime check is under test
        } catch (err) {
          thrown = err;
          throw err;
        }
        return ['x'];
      };
      const res = await request(app);
      assert.match(String((thrown as Error).message), message);
      assert.equal(res.statusCode, 500, 'the failed app gets the server error response');
      assert.match(res.log.join('\n'), message);
    });
  }

  it('lets the application catch the check and answer differently', async () => {
    const app: Application = (_env, start) => {
      try {
        start('200 OK', [['X-Bad', 'a\nb']]);
      } catch (err) {
        start('400 Bad Request', [['Content-Type', 'text/plain']], err);
        return ['fixed'];
      }
      return ['unreachable'];
    };
    const res = await request(app);
    assert.equal(res.status, '400 Bad Request');
    assert.equal(res.text, 'fixed');
  });

  it('refuses a second call without excInfo', async () => {
    const app: Application = (_env, start) => {
      start('200 OK', []);
      start('404 Not Found', []);
      return [];
    };
    const res = await request(app);
    assert.equal(res.statusCode, 500);
    assert.match(res.log.join('\n'), /Headers already set!/);
  });

  it('replaces status and headers with excInfo before anything was sent', async () => {
    const app: Application = (_env, start) => {
      start('200 OK', [['X-First', '1']]);
      start('503 Service Unavailable', [['X-Second', '2']], [Error, new Error('x'), null]);
      return ['late'];
    };
    const res = await request(app);
    assert.equal(res.status, '503 Service Unavailable');
    assert.equal(res.header('X-First'), undefined);
    assert.equal(res.header('X-Second'), '2');
  });

  it('rethrows the original error when excInfo comes after the headers went out', async () => {
    const original = new Error('boom after headers');
    let rethrown: unknown;
    const app: Application = (_env, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (function* () {
        yield 'part one';
        try {
          start('500 Oops', [], [Error, original, null]);
        } catch (err) {
          rethrown = err;
          throw err;
        }
      })();
    };
    const res = await request(app);
    assert.equal(rethrown, original, 'the very same error object is rethrown');
    assert.equal(res.status, '200 OK');
    assert.equal(res.aborted, true, 'the response is cut short');
  });
});

describe('framing', () => {
  it('declares Content-Length for an array body', async () => {
    const res = await request((_e, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['héllo', new Uint8Array([33])];
    });
    assert.equal(res.header('Content-Length'), '7');
    assert.equal(text(res.body), 'héllo!');
  });

  it('sends strings as UTF-8', async () => {
    const res = await request((_e, start) => {
      start('200 OK', []);
      return ['€'];
    });
    assert.deepEqual([...res.body], [0xe2, 0x82, 0xac]);
  });

  it('leaves the length unknown for a generator (the door frames it)', async () => {
    const res = await request((_e, start) => {
      start('200 OK', []);
      return (function* () {
        yield 'a';
        yield 'b';
      })();
    });
    assert.equal(res.header('Content-Length'), undefined);
    assert.deepEqual(res.chunks.map(text), ['a', 'b']);
  });

  it('sends headers with the first non-empty chunk, so startResponse may come during iteration', async () => {
    const res = await request((_e, start) =>
      (function* () {
        yield '';
        start('201 Created', [['X-Late', 'yes']]);
        yield 'made';
      })(),
    );
    assert.equal(res.status, '201 Created');
    assert.equal(res.text, 'made');
  });

  it('answers an empty body with Content-Length 0', async () => {
    const res = await request((_e, start) => {
      start('200 OK', []);
      return (function* () {})();
    });
    assert.equal(res.header('Content-Length'), '0');
    assert.equal(res.body.length, 0);
  });

  it('adds no Content-Length to 204 and sends no body for 204 and 304', async () => {
    for (const status of ['204 No Content', '304 Not Modified'] as const) {
      const body = tracked(['ignored']);
      const res = await request((_e, start) => {
        start(status, []);
        return body;
      });
      assert.equal(res.header('Content-Length'), undefined, status);
      assert.equal(res.body.length, 0, status);
      assert.equal(body.closes, 1, status);
    }
  });

  it('sends no body for HEAD but keeps the GET length', async () => {
    const res = await request(
      (_e, start) => {
        start('200 OK', [['Content-Type', 'text/plain']]);
        return ['twelve bytes'];
      },
      '/',
      { method: 'HEAD' },
    );
    assert.equal(res.header('Content-Length'), '12');
    assert.equal(res.body.length, 0);
  });

  it('stops iterating a HEAD body after the headers', async () => {
    let produced = 0;
    let finalized = false;
    const res = await request(
      (_e, start) => {
        start('200 OK', []);
        return (function* () {
          try {
            for (;;) {
              produced++;
              yield 'x';
            }
          } finally {
            finalized = true;
          }
        })();
      },
      '/',
      { method: 'HEAD' },
    );
    assert.equal(res.body.length, 0);
    assert.equal(produced, 1);
    assert.equal(finalized, true, "the generator's finally block ran");
  });
});

describe('Content-Length enforcement', () => {
  it('truncates a body longer than declared and logs it', async () => {
    const body = tracked(['12345', '67890']);
    const res = await request((_e, start) => {
      start('200 OK', [['Content-Length', '7']]);
      return body;
    });
    assert.equal(res.text, '1234567');
    assert.match(res.log.join('\n'), /more than its Content-Length 7/);
    assert.equal(body.closes, 1);
  });

  it('aborts the connection when the body is shorter than declared', async () => {
    const res = await request((_e, start) => {
      start('200 OK', [['Content-Length', '10']]);
      return ['short'];
    });
    assert.equal(res.aborted, true);
    assert.match(res.log.join('\n'), /5 bytes of its Content-Length 10/);
  });

  it('throws from write() past the declared length', async () => {
    let thrown: unknown;
    await request(async (_e, start) => {
      const write = start('200 OK', [['Content-Length', '3']]);
      await write('abc');
      try {
        await write('d');
      } catch (err) {
        thrown = err;
      }
      return [];
    });
    assert.match(String(thrown), /past Content-Length/);
  });
});

describe('write()', () => {
  it('sends written data before the returned body', async () => {
    const res = await request(async (_e, start) => {
      const write = start('200 OK', []);
      await write('one,');
      await write(new TextEncoder().encode('two,'));
      return ['three'];
    });
    assert.equal(res.text, 'one,two,three');
  });

  it('sends nothing for HEAD even through write()', async () => {
    const res = await request(
      async (_e, start) => {
        const write = start('200 OK', [['Content-Length', '5']]);
        await write('hello');
        return [];
      },
      '/',
      { method: 'HEAD' },
    );
    assert.equal(res.header('Content-Length'), '5');
    assert.equal(res.body.length, 0);
    assert.equal(res.aborted, false);
  });
});

describe('errors and close()', () => {
  it('answers a ClientError from wsgi.input with its status and asks the door to close, with no Connection field', async () => {
    const heads: Array<{ status: string; headers: string[][]; close: boolean | undefined }> = [];
    const sink: Sink = {
      head: (_code, status, headers, _length, _bodyless, close) => void heads.push({ status, headers, close }),
      write: () => true,
      drain: () => Promise.resolve(),
      end: () => {},
      abort: () => {},
      closed: false,
    };
    const app: Application = () => {
      throw new ClientError(413, 'the body is larger than the limit');
    };
    await runRaw(app, createEnviron('/'), sink, { log: silentLogger, method: 'GET' });
    assert.deepEqual(heads, [
      {
        status: '413 Content Too Large',
        headers: [
          ['Content-Type', 'text/plain'],
          ['Content-Length', '18'],
        ],
        close: true,
      },
    ]);
    const ok: Application = (_e, start) => (start('200 OK', []), []);
    heads.length = 0;
    await runRaw(ok, createEnviron('/'), sink, { log: silentLogger, method: 'GET' });
    assert.equal(heads[0]!.close, false, 'an application response leaves the connection to the door');
  });

  it('answers 500 when the app throws before the headers, with the error logged', async () => {
    const res = await request(() => {
      throw new Error('kaput');
    });
    assert.equal(res.status, '500 Internal Server Error');
    assert.equal(res.text, 'A server error occurred.  Please contact the administrator.');
    assert.match(res.log.join('\n'), /kaput/);
  });

  it('answers 500 when the returned promise rejects', async () => {
    const res = await request(async () => {
      throw new Error('async kaput');
    });
    assert.equal(res.statusCode, 500);
  });

  it('answers 500 when the app returns a string instead of an iterable', async () => {
    const res = await request(((_e: Environ, start: StartResponse) => {
      start('200 OK', []);
      return 'not a body';
    }) as unknown as Application);
    assert.equal(res.statusCode, 500);
    assert.match(res.log.join('\n'), /wrap it in an array/);
  });

  it('answers 500 when the app never calls startResponse', async () => {
    const res = await request(() => ['data']);
    assert.equal(res.statusCode, 500);
    assert.match(res.log.join('\n'), /without calling startResponse/);
  });

  it('calls close() once after success, after a failing body, and after a body error mid-stream', async () => {
    const ok = tracked(['a', 'b']);
    await request((_e, start) => {
      start('200 OK', []);
      return ok;
    });
    assert.equal(ok.closes, 1);

    let closes = 0;
    const failing: Body = {
      *[Symbol.iterator]() {
        yield 'first';
        throw new Error('mid-stream');
      },
      close() {
        closes++;
      },
    };
    const res = await request((_e, start) => {
      start('200 OK', []);
      return failing;
    });
    assert.equal(closes, 1);
    assert.equal(res.aborted, true, 'after the headers went out the connection is aborted');

    let asyncCloses = 0;
    const asyncBody: Body = {
      async *[Symbol.asyncIterator]() {
        yield 'x';
      },
      async close() {
        asyncCloses++;
      },
    };
    await request((_e, start) => {
      start('200 OK', []);
      return asyncBody;
    });
    assert.equal(asyncCloses, 1);
  });

  it('logs an error thrown by close() and still completes the response', async () => {
    const res = await request((_e, start) => {
      start('200 OK', []);
      return Object.assign(['done'], {
        close() {
          throw new Error('close failed');
        },
      });
    });
    assert.equal(res.text, 'done');
    assert.match(res.log.join('\n'), /close failed/);
  });
});

describe('wsgi.input', () => {
  it('reads, reads lines and iterates, never past CONTENT_LENGTH', async () => {
    const environ = createEnviron('/', { method: 'POST', body: 'line one\nline two\nthree' });
    const input = environ['wsgi.input'];
    assert.equal(text(await input.read(4)), 'line');
    assert.equal(text(await input.readline()), ' one\n');
    assert.equal(text(await input.readline(4)), 'line');
    const rest: string[] = [];
    for await (const line of input) rest.push(text(line));
    assert.deepEqual(rest, [' two\n', 'three']);
    assert.equal((await input.read()).length, 0, 'EOF reads are empty');
  });

  it('readlines honours the hint', async () => {
    const environ = createEnviron('/', { method: 'POST', body: 'a\nb\nc\n' });
    // As Python's IOBase.readlines: stop once the lines read reach the hint.
    const lines = await environ['wsgi.input'].readlines(3);
    assert.deepEqual(lines.map(text), ['a\n', 'b\n']);
  });

  it('gives an async app the body', async () => {
    const res = await runApp(
      async (environ, start) => {
        const body = await environ['wsgi.input'].read();
        start('200 OK', []);
        return [body];
      },
      createEnviron('/', { json: { a: 1 } }),
    );
    assert.equal(res.text, '{"a":1}');
  });
});

describe('statuses that cannot carry what the app gives them', () => {
  it('refuses an interim 1xx status as the response status', async () => {
    const res = await request((_e, start) => {
      start('103 Early Hints', []);
      return [];
    });
    assert.equal(res.statusCode, 500);
    assert.match(res.log.join('\n'), /Status 103 is interim/);
  });

  it('refuses Content-Length on 204', async () => {
    const res = await request((_e, start) => {
      start('204 No Content', [['Content-Length', '5']]);
      return [];
    });
    assert.equal(res.statusCode, 500);
    assert.match(res.log.join('\n'), /Content-Length is not allowed with status 204/);
  });

  it('refuses a tab in the reason phrase, as wsgiref does', async () => {
    const res = await request((_e, start) => {
      start('200 O\tK', []);
      return [];
    });
    assert.match(res.log.join('\n'), /Control characters are not allowed in status/);
  });

  it('refuses a size that is not a whole number in wsgi.input', async () => {
    const environ = createEnviron('/', { body: 'abc' });
    await assert.rejects(environ['wsgi.input'].read(Number.NaN), /size must be a whole number/);
    await assert.rejects(environ['wsgi.input'].readline(1.5), /size must be a whole number/);
  });
});

describe('wsgi.input under concurrent reads', () => {
  it('hands out bytes in order when reads overlap', async () => {
    const { Input } = await import('../../src/runner/input.js');
    const pieces = ['ab', 'cd', 'ef', 'gh'].map((s) => new TextEncoder().encode(s));
    let i = 0;
    // A source that answers each pull on a later tick, as a socket does.
    const input = new Input({ pull: () => new Promise((r) => setTimeout(() => r(pieces[i++] ?? null), 5)) }, 8);
    const [a, b, c] = await Promise.all([input.read(3), input.read(3), input.read()]);
    assert.equal([a, b, c].map(text).join(''), 'abcdefgh');
    assert.deepEqual([a, b, c].map(text), ['abc', 'def', 'gh']);
  });
});

describe('HEAD without a body, read1, and a client that left', () => {
  it('declares no Content-Length when the app skips the body for HEAD', async () => {
    const res = await request(
      (environ, start) => {
        start('200 OK', [['Content-Type', 'text/plain']]);
        return environ.REQUEST_METHOD === 'HEAD' ? [] : ['the GET body'];
      },
      '/',
      { method: 'HEAD' },
    );
    assert.equal(res.header('Content-Length'), undefined);
    assert.equal(res.body.length, 0);
  });

  it('read1 hands out what has arrived without waiting for more', async () => {
    const { Input } = await import('../../src/runner/input.js');
    const pieces = [new TextEncoder().encode('abc'), new Uint8Array(0), new TextEncoder().encode('defg')];
    let i = 0;
    const input = new Input({ pull: () => Promise.resolve(pieces[i++] ?? null) }, 7);
    assert.equal(text(await input.read1(100)), 'abc');
    assert.equal(text(await input.read1(2)), 'de');
    assert.equal(text(await input.read1()), 'fg');
    assert.equal((await input.read1()).length, 0);
  });
});

describe('a body shorter than its Content-Length', () => {
  it('is an error for the reader, answered 400, never a silently short body', async () => {
    const { Input } = await import('../../src/runner/input.js');
    let i = 0;
    const input = new Input({ pull: () => Promise.resolve(i++ === 0 ? new TextEncoder().encode('abc') : null) }, 10);
    await assert.rejects(input.read(), /ended 7 bytes before its Content-Length/);
    const environ = createEnviron('/', { method: 'POST' });
    environ.CONTENT_LENGTH = '10';
    let j = 0;
    environ['wsgi.input'] = new Input({ pull: () => Promise.resolve(j++ === 0 ? new TextEncoder().encode('abc') : null) }, 10);
    const res = await runApp(async (env, start) => {
      await env['wsgi.input'].read();
      start('200 OK', []);
      return ['read it all'];
    }, environ);
    assert.equal(res.statusCode, 400);
  });
});

describe('Sink.endAscii: one ASCII string in an array', () => {
  /** A sink that records which of end() and endAscii() ended the response, and with what. */
  function recorder() {
    const calls: Array<{ via: string; headers: string[][]; body: string | null }> = [];
    let headers: string[][] = [];
    const sink: Sink = {
      head: (_code, _status, h) => void (headers = h.map((x) => [...x])),
      write: (chunk) => (calls.push({ via: 'write', headers, body: text(chunk) }), true),
      drain: () => Promise.resolve(),
      end: (last) => void calls.push({ via: 'end', headers, body: last === undefined ? null : text(last) }),
      endAscii: (t) => void calls.push({ via: 'endAscii', headers, body: t }),
      abort: () => void calls.push({ via: 'abort', headers, body: null }),
      closed: false,
    };
    return { sink, calls };
  }
  const run = async (body: string, headers: Array<[string, string]> = [], method = 'GET') => {
    const { sink, calls } = recorder();
    const log: string[] = [];
    const logger = { ...silentLogger, error: (m: string) => void log.push(m) };
    await runRaw((_e, start) => (start('200 OK', headers), [body]), createEnviron('/', { method }), sink, { log: logger });
    return { calls, log };
  };

  it('hands an ASCII text to endAscii with the Content-Length it computed', async () => {
    const { calls } = await run('Hello, World!\n');
    assert.deepEqual(calls, [{ via: 'endAscii', headers: [['Content-Length', '14']], body: 'Hello, World!\n' }]);
  });

  it('sends a non-ASCII text as UTF-8 bytes through end(), its length in bytes', async () => {
    const { calls } = await run('café');
    assert.deepEqual(calls, [{ via: 'end', headers: [['Content-Length', '5']], body: 'café' }]);
  });

  it('keeps the general path for a text longer than the declared Content-Length: truncated and logged', async () => {
    const { calls, log } = await run('0123456789', [['Content-Length', '4']]);
    assert.deepEqual(calls, [{ via: 'end', headers: [['Content-Length', '4']], body: '0123' }]);
    assert.match(log.join('\n'), /more than its Content-Length 4; truncated/);
  });

  it('aborts a text shorter than the declared Content-Length, as for bytes', async () => {
    const { calls, log } = await run('01', [['Content-Length', '4']]);
    assert.deepEqual(
      calls.map((c) => c.via),
      ['write', 'abort'],
    );
    assert.match(log.join('\n'), /sent 2 bytes of its Content-Length 4/);
  });

  it('sends no body for HEAD, declaring the length GET would send', async () => {
    const { calls } = await run('Hello', [], 'HEAD');
    assert.deepEqual(calls, [{ via: 'end', headers: [['Content-Length', '5']], body: null }]);
  });

  it('answers an empty text with Content-Length 0 and no body', async () => {
    const { calls } = await run('');
    assert.deepEqual(calls, [{ via: 'endAscii', headers: [['Content-Length', '0']], body: '' }]);
  });
});
