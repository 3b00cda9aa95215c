// toFetchHandler with plain Requests: the environ a Request gives, uploads, streaming responses with
// backpressure, client disconnects (tsgi.signal and close()), the engine's checks, and the rule that
// the fetch bridge imports nothing from Node's network modules.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Application, Body, Environ } from '../../src/spec.js';
import { toFetchHandler } from '../../src/fetch/index.js';
import type { Logger } from '../../src/runner/log.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, error: (m) => lines.push(m), warn: (m) => lines.push(m), info: (m) => lines.push(m) };
}

/** A body that yields `n` chunks of `size` bytes, counting what it produced and whether it was closed. */
function counted(n: number, size: number, delayMs = 0) {
  const state = { produced: 0, closed: 0, finished: false };
  const body: Body = {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < n; i++) {
        if (delayMs) await sleep(delayMs);
        state.produced++;
        yield new Uint8Array(size).fill(97 + (i % 26));
      }
      state.finished = true;
    },
    close() {
      state.closed++;
    },
  };
  return { state, body };
}

describe('toFetchHandler: the environ of a Request', () => {
  it('builds PEP 3333 keys from the URL and headers', async () => {
    let seen: Environ | undefined;
    const handler = toFetchHandler((environ, start) => {
      seen = environ;
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['ok'];
    });
    const res = await handler(
      new Request('https://example.com:8443/caf%C3%A9/a%2Fb?x=1&y=%20#frag', {
        headers: { 'X-Custom': 'v', Cookie: 'a=1', x_under: 'dropped', 'Content-Type': 'text/plain' },
      }),
    );
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
    const e = seen!;
    assert.equal(e.REQUEST_METHOD, 'GET');
    assert.equal(e.SCRIPT_NAME, '');
    assert.equal(e.PATH_INFO, '/caf\u00c3\u00a9/a/b', 'percent-decoded to latin-1 native string');
    assert.equal(e.QUERY_STRING, 'x=1&y=%20');
    assert.equal(e.REQUEST_URI, '/caf%C3%A9/a%2Fb?x=1&y=%20');
    assert.equal(e.SERVER_NAME, 'example.com');
    assert.equal(e.SERVER_PORT, '8443');
    assert.equal(e['wsgi.url_scheme'], 'https');
    assert.equal(e.HTTP_HOST, 'example.com:8443', 'from the URL when the Request has no Host field');
    assert.equal(e.HTTP_X_CUSTOM, 'v');
    assert.equal(e.HTTP_COOKIE, 'a=1');
    assert.equal(e.CONTENT_TYPE, 'text/plain');
    assert.equal(e.CONTENT_LENGTH, undefined);
    assert.equal('HTTP_X_UNDER' in e, false, 'names with _ are dropped (R71)');
    assert.equal(e.REMOTE_ADDR, undefined, 'absent, not empty, without connection info');
    assert.deepEqual(e['wsgi.version'], [1, 0]);
    assert.equal(e['wsgi.input_terminated'], true);
    assert.ok(e['tsgi.fetch.request'] instanceof Request);
  });

  it('takes SCRIPT_NAME, SERVER_NAME and SERVER_PORT from the options, and REMOTE_ADDR from a resolver', async () => {
    let seen: Environ | undefined;
    const handler = toFetchHandler(
      (environ, start) => {
        seen = environ;
        start('204 No Content', []);
        return [];
      },
      { scriptName: '/app', serverName: 'internal', serverPort: 9000, remoteAddress: () => ({ address: '::ffff:10.0.0.7', port: 5555 }) },
    );
    const res = await handler(new Request('http://example.com/x'), { bindings: true });
    assert.equal(res.status, 204);
    assert.equal(seen!.SCRIPT_NAME, '/app');
    assert.equal(seen!.SERVER_NAME, 'internal');
    assert.equal(seen!.SERVER_PORT, '9000');
    assert.equal(seen!.REMOTE_ADDR, '10.0.0.7');
    assert.equal(seen!.REMOTE_PORT, '5555');
    assert.deepEqual(seen!['tsgi.fetch.env'], { bindings: true }, "the runtime's second argument (Workers' env)");
  });

  it('understands Deno-style and Bun-style connection info by default', async () => {
    const seen: string[] = [];
    const handler = toFetchHandler((environ, start) => {
      seen.push(`${environ.REMOTE_ADDR}:${environ.REMOTE_PORT}`);
      start('200 OK', []);
      return [];
    });
    await handler(new Request('http://x/'), { remoteAddr: { hostname: '192.0.2.1', port: 1234 } });
    await handler(new Request('http://x/'), { requestIP: () => ({ address: '192.0.2.2', port: 4321 }) });
    assert.deepEqual(seen, ['192.0.2.1:1234', '192.0.2.2:4321']);
  });

  it('answers 400 for an invalid Content-Length without running the app', async () => {
    let ran = false;
    const log = capture();
    const handler = toFetchHandler(
      () => {
        ran = true;
        return [];
      },
      { log },
    );
    const req = new Request('http://x/', { method: 'POST', body: 'abc', headers: { 'Content-Length': 'abc' } });
    const res = await handler(req);
    assert.equal(res.status, 400);
    assert.equal(ran, false);
  });
});

describe('toFetchHandler: request bodies', () => {
  it('reads a sized body as wsgi.input, bounded by CONTENT_LENGTH', async () => {
    const handler = toFetchHandler(async (environ, start) => {
      const line = await environ['wsgi.input'].readline();
      const rest = await environ['wsgi.input'].read();
      start('200 OK', [['Content-Type', 'application/json']]);
      return [JSON.stringify({ line: new TextDecoder().decode(line), rest: new TextDecoder().decode(rest), cl: environ.CONTENT_LENGTH })];
    });
    const res = await handler(new Request('http://x/up', { method: 'PUT', body: 'first\nsecond', headers: { 'Content-Length': '12' } }));
    assert.deepEqual(await res.json(), { line: 'first\n', rest: 'second', cl: '12' });
  });

  it('streams an upload: the app reads pieces as the client sends them', async () => {
    const total = 256 * 1024;
    let sent = 0;
    const upload = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= total) return c.close();
        await sleep(1);
        const piece = new Uint8Array(16 * 1024).fill(120);
        sent += piece.length;
        c.enqueue(piece);
      },
    });
    const handler = toFetchHandler(async (environ, start) => {
      let got = 0;
      let reads = 0;
      for (;;) {
        const b = await environ['wsgi.input'].read(8192);
        if (b.length === 0) break;
        got += b.length;
        reads++;
      }
      start('200 OK', []);
      return [`${got} ${reads} ${environ.CONTENT_LENGTH ?? 'none'}`];
    });
    const res = await handler(new Request('http://x/', { method: 'POST', body: upload, duplex: 'half' } as RequestInit));
    assert.equal(await res.text(), `${total} ${total / 8192} none`);
  });

  it('answers 400 when the upload stream breaks (a ClientError, not a 500)', async () => {
    const log = capture();
    const upload = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(10));
        c.error(new Error('connection reset'));
      },
    });
    const handler = toFetchHandler(
      async (environ, start) => {
        await environ['wsgi.input'].read();
        start('200 OK', []);
        return ['never'];
      },
      { log },
    );
    const res = await handler(new Request('http://x/', { method: 'POST', body: upload, duplex: 'half' } as RequestInit));
    assert.equal(res.status, 400);
    assert.match(log.lines.join('\n'), /could not be read: connection reset/);
  });
});

describe('toFetchHandler: responses', () => {
  it('answers an array body in one piece with its Content-Length', async () => {
    const handler = toFetchHandler((_e, start) => {
      start('201 Created', [
        ['Content-Type', 'text/plain'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ]);
      return ['hello ', 'world'];
    });
    const res = await handler(new Request('http://x/'));
    assert.equal(res.status, 201);
    assert.equal(res.statusText, 'Created');
    assert.equal(res.headers.get('content-length'), '11');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(await res.text(), 'hello world');
  });

  it('streams an async body and resolves the Response before the body is complete', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handler = toFetchHandler((_e, start) => {
      start('200 OK', [['Content-Type', 'text/event-stream']]);
      return (async function* () {
        yield 'data: 1\n\n';
        await gate;
        yield 'data: 2\n\n';
      })();
    });
    const res = await handler(new Request('http://x/events'));
    assert.equal(res.headers.get('content-length'), null);
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'data: 1\n\n');
    release();
    assert.equal(new TextDecoder().decode((await reader.read()).value), 'data: 2\n\n');
    assert.equal((await reader.read()).done, true);
  });

  it('honours backpressure: a consumer that does not read stops the producer', async () => {
    const { state, body } = counted(1000, 16 * 1024);
    const handler = toFetchHandler((_e, start) => {
      start('200 OK', []);
      return body;
    });
    const res = await handler(new Request('http://x/'));
    await sleep(50);
    // 64 KiB are queued in the response stream, so only a few 16 KiB chunks were made.
    assert.ok(state.produced <= 6, `produced ${state.produced} chunks without a reader`);
    const reader = res.body!.getReader();
    let bytes = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      bytes += r.value.length;
    }
    assert.equal(bytes, 1000 * 16 * 1024);
    assert.equal(state.closed, 1);
  });

  it("sends the headers with a legacy app's first write() while its body is still to come", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handler = toFetchHandler(async (_e, start) => {
      const write = start('200 OK', [['Content-Type', 'text/plain']]);
      await write('');
      await gate;
      await write('late');
      return [];
    });
    const res = await handler(new Request('http://x/'));
    assert.equal(res.status, 200, 'the Response arrived before the gate opened');
    release();
    assert.equal(await res.text(), 'late');
  });

  it('HEAD: no body, the Content-Length GET would have', async () => {
    const handler = toFetchHandler((_e, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return ['twelve bytes'];
    });
    const res = await handler(new Request('http://x/', { method: 'HEAD' }));
    assert.equal(res.headers.get('content-length'), '12');
    assert.equal(res.body, null);
  });

  it("applies the engine's checks: an app error before the headers is a 500", async () => {
    const log = capture();
    const handler = toFetchHandler(
      (_e, start) => {
        start('200 OK', [['Connection', 'close']]);
        return ['x'];
      },
      { log },
    );
    const res = await handler(new Request('http://x/'));
    assert.equal(res.status, 500);
    assert.match(log.lines.join('\n'), /Hop-by-hop header/);
  });

  it('an error after the headers errors the body stream (the response is cut short)', async () => {
    const log = capture();
    let closed = 0;
    const handler = toFetchHandler(
      (_e, start) => {
        start('200 OK', []);
        return Object.assign(
          (async function* () {
            yield 'partial';
            throw new Error('boom');
          })(),
          { close: () => void closed++ },
        );
      },
      { log },
    );
    const res = await handler(new Request('http://x/'));
    await assert.rejects(res.text(), /cut short/);
    assert.equal(closed, 1);
    assert.match(log.lines.join('\n'), /boom/);
  });

  it('a body shorter than its Content-Length is cut short', async () => {
    const log = capture();
    const handler = toFetchHandler(
      (_e, start) => {
        start('200 OK', [['Content-Length', '10']]);
        return (async function* () {
          yield 'abc';
        })();
      },
      { log },
    );
    const res = await handler(new Request('http://x/'));
    await assert.rejects(res.arrayBuffer());
    assert.match(log.lines.join('\n'), /3 bytes of its Content-Length 10/);
  });
});

describe('toFetchHandler: client disconnects', () => {
  const streaming =
    (events: string[]): Application =>
    (environ, start) => {
      const signal = environ['tsgi.signal'] as AbortSignal;
      signal.addEventListener('abort', () => events.push('signal'));
      start('200 OK', []);
      return {
        async *[Symbol.asyncIterator]() {
          for (let i = 0; ; i++) {
            yield `tick ${i}\n`;
            await sleep(5);
          }
        },
        close() {
          events.push('close');
        },
      };
    };

  it('cancelling the Response body fires tsgi.signal and calls close()', async () => {
    const events: string[] = [];
    const handler = toFetchHandler(streaming(events));
    const res = await handler(new Request('http://x/'));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await sleep(20);
    assert.deepEqual(events.sort(), ['close', 'signal']);
  });

  it("the Request's own signal aborting is a disconnect too", async () => {
    const events: string[] = [];
    const handler = toFetchHandler(streaming(events));
    const controller = new AbortController();
    const res = await handler(new Request('http://x/', { signal: controller.signal }));
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await sleep(30);
    assert.deepEqual(events.sort(), ['close', 'signal']);
  });

  it('tsgi.signal never fires on normal completion', async () => {
    let signal: AbortSignal | undefined;
    const controller = new AbortController();
    const handler = toFetchHandler((environ, start) => {
      signal = environ['tsgi.signal'] as AbortSignal;
      start('200 OK', []);
      return (async function* () {
        yield 'a';
        yield 'b';
      })();
    });
    const res = await handler(new Request('http://x/', { signal: controller.signal }));
    assert.equal(await res.text(), 'ab');
    controller.abort(); // the runtime aborting after the response (as some do) is no disconnect
    await sleep(5);
    assert.equal(signal!.aborted, false);
  });

  it('a disconnect while the app waits between chunks closes the body at once', async () => {
    const events: string[] = [];
    let release!: () => void;
    const handler = toFetchHandler((_e, start) => {
      start('200 OK', []);
      return {
        async *[Symbol.asyncIterator]() {
          yield 'first';
          await new Promise<void>((r) => (release = r));
          yield 'never read';
        },
        close() {
          events.push('close');
        },
      };
    });
    const res = await handler(new Request('http://x/'));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await sleep(5);
    assert.deepEqual(events, ['close'], 'close() ran while the generator was still waiting');
    release();
  });
});

describe('the fetch bridge imports nothing from Node', () => {
  it('src/fetch and everything it imports stay off node: modules', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
        const spec = m[1]!;
        const typeOnly = /^(?:import|export)\s+type\s/.test(m[0]);
        if (!spec.startsWith('.')) {
          assert.ok(typeOnly, `${path.relative(root, file)} imports ${spec}`);
          continue;
        }
        visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    visit(path.join(root, 'fetch/index.ts'));
    assert.ok(seen.size > 5);
  });
});
