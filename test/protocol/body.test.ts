// BodyQueue (src/protocol/body.ts), the one request-body queue of every door, against a fake
// transport: framing (Content-Length, chunked, transport-framed), the backpressure rule (charged bytes
// + 128 per piece: pause above the high-water mark, resume below the low-water mark or when a read
// waits), the bound on what one-byte pieces cost, the end, failures, the body timeout, the
// first-read hook (100 Continue) and close().
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BodyQueue, HIGH_WATER, LOW_WATER, type BodyOptions } from '../../src/protocol/body.js';
import { PIECE_OVERHEAD } from '../../src/protocol/pieces.js';
import { ClientError } from '../../src/errors.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const text = (p: Uint8Array | null) => (p === null ? null : Buffer.from(p).toString('latin1'));

function queue(o: Partial<BodyOptions> = {}) {
  const flow = { paused: false, pauses: 0, resumes: 0 };
  const q = new BodyQueue(
    {
      pause: () => {
        flow.paused = true;
        flow.pauses++;
      },
      resume: () => {
        flow.paused = false;
        flow.resumes++;
      },
    },
    { framing: { kind: 'transport' }, timeoutMs: 0, ...o },
  );
  return { q, flow };
}

/** Pulls to the end; the body as text. */
async function drain(q: BodyQueue): Promise<string> {
  let out = '';
  for (let p = await q.pull(); p !== null; p = await q.pull()) out += text(p);
  return out;
}

describe('BodyQueue framing', () => {
  it('Content-Length: takes exactly the length, leaves what follows, ends by itself', async () => {
    const { q } = queue({ framing: { kind: 'length', length: 5 } });
    assert.equal(q.feed(b('hel')), 3);
    assert.equal(q.feed(b('loGET /next')), 2);
    assert.equal(q.complete, true);
    assert.equal(q.feed(b('more')), 0);
    assert.equal(await drain(q), 'hello');
  });

  it('Content-Length: 0 is complete at once', async () => {
    const { q } = queue({ framing: { kind: 'length', length: 0 } });
    assert.equal(q.complete, true);
    assert.equal(await q.pull(), null);
  });

  it('chunked: decoded, ends at the last chunk, leaves what follows', async () => {
    const { q } = queue({ framing: { kind: 'chunked' } });
    const wire = b('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT');
    assert.equal(q.feed(wire.subarray(0, 9)), 9);
    assert.equal(q.feed(wire.subarray(9)), wire.length - 9 - 4);
    assert.equal(q.complete, true);
    assert.equal(await drain(q), 'hello world');
  });

  it("chunked: a malformed body fails the queue with the decoder's 400, after what came before it", async () => {
    let broken: ClientError | null = null;
    const { q } = queue({ framing: { kind: 'chunked' }, onBroken: (e) => (broken = e) });
    assert.equal(q.feed(b('5\r\nhello\r\n0x5\r\n')), 15);
    assert.equal(q.failed, true);
    assert.equal(broken!.code, 'TSGI_ERR_CHUNKED');
    assert.equal(text(await q.pull()), 'hello');
    await assert.rejects(q.pull(), (e: unknown) => e instanceof ClientError && e.status === 400 && e.code === 'TSGI_ERR_CHUNKED');
  });

  it('transport-framed: end() ends it; a declared length bounds it and a short body is a 400', async () => {
    const a = queue({ framing: { kind: 'transport' } }).q;
    a.feed(b('abc'));
    a.end();
    assert.equal(await drain(a), 'abc');

    const c = queue({ framing: { kind: 'transport', length: 3 } }).q;
    assert.equal(c.feed(b('abcdef')), 3);
    c.end();
    assert.equal(await drain(c), 'abc');

    const d = queue({ framing: { kind: 'transport', length: 10 } }).q;
    d.feed(b('abc'));
    d.end();
    assert.equal(text(await d.pull()), 'abc');
    await assert.rejects(d.pull(), (e: unknown) => e instanceof ClientError && e.code === 'TSGI_ERR_BODY_INCOMPLETE' && /3 of 10/.test(e.message));
  });

  it('chunked ended by the transport before its last chunk is a 400', async () => {
    const { q } = queue({ framing: { kind: 'chunked' } });
    q.feed(b('5\r\nhel'));
    q.end();
    assert.equal(text(await q.pull()), 'hel');
    await assert.rejects(q.pull(), (e: unknown) => e instanceof ClientError && e.code === 'TSGI_ERR_BODY_INCOMPLETE');
  });
});

describe('BodyQueue reads', () => {
  it('a waiting read gets the next piece at once, in order with what was queued', async () => {
    const { q } = queue();
    const first = q.pull();
    const second = q.pull();
    q.feed(b('a'));
    q.feed(b('b'));
    q.end();
    assert.deepEqual([text(await first), text(await second), await q.pull()], ['a', 'b', null]);
  });

  it('fail() rejects a waiting read and calls onBroken once', async () => {
    let broken = 0;
    const { q } = queue({ onBroken: () => broken++ });
    const p = q.pull();
    q.fail(new ClientError(400, 'gone'));
    q.fail(new ClientError(400, 'again'));
    await assert.rejects(p, /gone/);
    assert.equal(broken, 1);
  });

  it('fail() after the body is complete changes nothing', async () => {
    const { q } = queue({ framing: { kind: 'length', length: 2 } });
    q.feed(b('ok'));
    q.fail(new ClientError(400, 'late'));
    assert.equal(await drain(q), 'ok');
  });

  it('the body timeout fails a read that waits too long with a 408, and only then', async () => {
    const { q } = queue({ timeoutMs: 60 });
    // Reads answered in time keep it from firing, however many there are.
    for (let i = 0; i < 5; i++) {
      const p = q.pull();
      await new Promise((r) => setTimeout(r, 20));
      q.feed(b('x'));
      assert.equal(text(await p), 'x');
    }
    const t0 = Date.now();
    await assert.rejects(q.pull(), (e: unknown) => e instanceof ClientError && e.status === 408 && e.code === 'TSGI_ERR_BODY_TIMEOUT');
    assert.ok(Date.now() - t0 >= 55, `fired after ${Date.now() - t0} ms`);
    assert.equal(q.failed, true);
  });

  it('onFirstPull runs once, at the first read (where 100 Continue goes)', async () => {
    let calls = 0;
    const { q } = queue({ onFirstPull: () => calls++ });
    assert.equal(calls, 0);
    q.feed(b('a'));
    await q.pull();
    q.end();
    await q.pull();
    assert.equal(calls, 1);
  });

  it('close(): a waiting read sees the end, what is queued or comes later is dropped', async () => {
    const { q, flow } = queue();
    const p = q.pull();
    q.close();
    assert.equal(await p, null);
    q.feed(new Uint8Array(HIGH_WATER * 2));
    assert.equal(q.queuedCost, 0);
    assert.equal(flow.paused, false);
    assert.equal(await q.pull(), null);
  });
});

describe('BodyQueue without a promise per piece: pullNow() and waitNow(), as Input reads it', () => {
  it('pullNow() hands over what is queued, undefined when a read would wait, null at the end', () => {
    const { q } = queue({ framing: { kind: 'length', length: 2 } });
    assert.equal(q.pullNow(), undefined);
    q.feed(b('a'));
    assert.equal(text(q.pullNow()!), 'a');
    assert.equal(q.pullNow(), undefined);
    q.feed(b('b'));
    assert.equal(text(q.pullNow()!), 'b');
    assert.equal(q.pullNow(), null);
  });

  it('waitNow() wakes the reader once when a piece comes, the body ends or breaks; it resumes a paused transport', async () => {
    const { q, flow } = queue();
    q.feed(new Uint8Array(HIGH_WATER + 1));
    assert.equal(flow.paused, true);
    assert.equal(q.pullNow()!.length, HIGH_WATER + 1);
    let woken = 0;
    q.waitNow(() => woken++);
    assert.equal(flow.paused, false, 'a read that waits resumes the transport');
    q.feed(b('x'));
    assert.equal(woken, 1);
    assert.equal(text(q.pullNow()!), 'x');
    q.waitNow(() => woken++);
    q.end();
    assert.equal(woken, 2);
    assert.equal(q.pullNow(), null);

    const broken = queue().q;
    broken.waitNow(() => woken++);
    broken.fail(new ClientError(400, 'gone'));
    assert.equal(woken, 3);
    assert.equal(broken.pullNow(), undefined, 'a broken body: pullNow has no piece, pull() says why');
    await assert.rejects(broken.pull(), /gone/);
  });

  it('the body timeout wakes a reader that waits too long, and pull() then rejects with a 408', async () => {
    const { q } = queue({ timeoutMs: 40 });
    await new Promise<void>((resolve) => q.waitNow(resolve));
    assert.equal(q.pullNow(), undefined);
    await assert.rejects(q.pull(), (e: unknown) => e instanceof ClientError && e.status === 408);
  });
});

describe('BodyQueue backpressure: one rule, bytes plus a charge per piece', () => {
  it('large pieces: pauses above the high-water mark, resumes below the low-water mark', async () => {
    const { q, flow } = queue();
    const piece = () => new Uint8Array(64 * 1024);
    while (!flow.paused) q.feed(piece());
    assert.ok(q.queuedCost > HIGH_WATER && q.queuedCost <= HIGH_WATER + 64 * 1024 + PIECE_OVERHEAD, String(q.queuedCost));
    while (q.queuedCost >= LOW_WATER) {
      assert.equal(flow.paused, true, `still paused at ${q.queuedCost}`);
      await q.pull();
    }
    assert.equal(flow.paused, false);
    assert.equal(flow.resumes, 1);
  });

  it('a read that has to wait resumes a paused transport', async () => {
    const { q, flow } = queue({ highWater: 10, lowWater: 0 });
    q.feed(new Uint8Array(2048));
    assert.equal(flow.paused, true);
    await q.pull();
    const waiting = q.pull();
    assert.equal(flow.paused, false);
    q.end();
    assert.equal(await waiting, null);
  });

  it('one-byte pieces cost their bytes: 262,144 of them pause at the same mark as large ones, not 262,144 pieces later', () => {
    const { q, flow } = queue();
    let fed = 0;
    while (!flow.paused && fed < 10_000_000) {
      q.feed(b('x'));
      fed++;
    }
    assert.equal(flow.paused, true);
    // Copied together: held as 16 KiB runs, each charged one overhead.
    assert.ok(fed <= HIGH_WATER, `paused after ${fed} one-byte pieces`);
    assert.ok(q.queuedCost <= HIGH_WATER + PIECE_OVERHEAD + 1, String(q.queuedCost));
  });

  it('pieces that could not be copied (views of their own buffers) are charged 128 bytes each', () => {
    const { q, flow } = queue();
    let pieces = 0;
    while (!flow.paused) {
      q.feed(new Uint8Array(1024));
      pieces++;
    }
    assert.equal(pieces, Math.floor(HIGH_WATER / (1024 + PIECE_OVERHEAD)) + 1);
  });

  it('it pauses again on every piece over the mark (node:http may resume its socket itself)', () => {
    const { q, flow } = queue({ highWater: 1024 });
    q.feed(new Uint8Array(2048));
    q.feed(new Uint8Array(2048));
    assert.equal(flow.pauses, 2);
  });

  it('the bytes handed out are the bytes fed, in order, across copies and views', async () => {
    const { q } = queue();
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const size of [1, 1, 3, 2000, 1, 70_000, 5, 16_384, 1, 1]) {
      const p = new Uint8Array(size).map(() => n++ & 0xff);
      parts.push(p);
      q.feed(p);
    }
    q.end();
    const out: Uint8Array[] = [];
    for (let p = await q.pull(); p !== null; p = await q.pull()) out.push(p);
    assert.deepEqual(Buffer.concat(out), Buffer.concat(parts));
  });
});
