// serve() from code: AbortSignal, `await using`, Unix socket paths.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { serve } from '../../src/http/serve.js';
import type { Environ, StartResponse } from '../../src/spec.js';

const app = (_e: Environ, start: StartResponse) => {
  start('200 OK', [['Content-Type', 'text/plain']]);
  return ['hi'];
};

describe('serve() handle', () => {
  it('closes when its AbortSignal aborts, and refuses an already aborted one', async () => {
    const ac = new AbortController();
    const h = await serve(app, { port: 0, signal: ac.signal });
    assert.equal(await (await fetch(h.url)).text(), 'hi');
    ac.abort();
    await h.close();
    assert.equal(h.listener.listening, false);
    await assert.rejects(serve(app, { port: 0, signal: AbortSignal.abort() }), /abort/i);
  });

  it('supports await using, and listens on a Unix socket path', async () => {
    const sock = path.join(mkdtempSync(path.join(tmpdir(), 'tsgi-serve-')), 's.sock');
    let listener;
    {
      await using h = await serve(app, { path: sock });
      listener = h.listener;
      assert.equal(h.url, `http+unix://${sock}`);
      const body = await new Promise<string>((resolve, reject) =>
        http
          .get({ socketPath: sock, path: '/', agent: false }, (res) => {
            let b = '';
            res.on('data', (d) => (b += d));
            res.on('end', () => resolve(b));
          })
          .on('error', reject),
      );
      assert.equal(body, 'hi');
    }
    assert.equal(listener.listening, false);
  });
});
