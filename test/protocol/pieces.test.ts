// Pieces (src/protocol/pieces.ts), the FIFO under BodyQueue and wsgi.input, on what take(n) copies:
// joins of given pieces made in place (the result is a view of a piece's own buffer, no allocation),
// and never a byte overwritten that was handed out, nor any byte of a lent piece. Every case keeps
// all it took to the end and checks it then, so a join that wrote over earlier results shows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pieces } from '../../src/protocol/pieces.js';
import { prng } from '../http/raw-client.js';

/** Body byte i: a pattern that does not repeat every 64 KiB, so a misplaced block shows. */
const byteAt = (i: number) => (i * 7 + (i >>> 16)) % 251;

/** A body of `size` bytes. */
function body(size: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = byteAt(i);
  return b;
}

/**
 * The body as the net engine feeds it: 64 KiB socket reads from the start of the request, the first
 * one beginning with a `head`-byte request head, so every body piece after it is a whole read and
 * the body's 64 KiB blocks straddle two of them. Each piece is a view of a buffer of its own.
 */
function socketReads(data: Uint8Array, head: number): Uint8Array<ArrayBuffer>[] {
  const out: Uint8Array<ArrayBuffer>[] = [];
  let at = 0;
  let first = true;
  while (at < data.length) {
    const room = first ? 65536 - head : 65536;
    const n = Math.min(room, data.length - at);
    const buf = new Uint8Array(first ? head + n : n);
    buf.fill(0xee, 0, first ? head : 0); // the head: not the body's
    buf.set(data.subarray(at, at + n), first ? head : 0);
    out.push(buf.subarray(first ? head : 0));
    at += n;
    first = false;
  }
  return out;
}

function assertBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.fail(`${what}: byte ${i} is ${got[i]}, not ${want[i]}`);
}

describe('Pieces: joins of given pieces are made in place', () => {
  it('read(65536) of a 1 MiB body a head off its socket reads: one buffer allocated, the other blocks are the reads themselves', () => {
    const data = body(1024 * 1024);
    const reads = socketReads(data, 150);
    const p = new Pieces(true);
    for (const r of reads) p.push(r);
    const fed = new Set(reads.map((r) => r.buffer));
    const taken: Uint8Array[] = [];
    while (p.size > 0) taken.push(p.take(Math.min(65536, p.size)));
    assert.equal(taken.length, 16);
    // The first block joins the head's read and the next: no room before it (the head is not the
    // queue's to overwrite), so it is copied. Every later block moves back into its own read.
    assert.ok(!fed.has(taken[0]!.buffer as ArrayBuffer), 'the first join is a new buffer');
    for (let i = 1; i < taken.length; i++) {
      assert.ok(fed.has(taken[i]!.buffer as ArrayBuffer), `block ${i} is a view of a socket read`);
      assert.equal(taken[i]!.byteOffset, 0);
    }
    for (let i = 0; i < taken.length; i++) assertBytes(taken[i]!, data.subarray(i * 65536, (i + 1) * 65536), `block ${i}`);
    // The head in front of the first read was never touched.
    assert.ok(new Uint8Array(reads[0]!.buffer, 0, 150).every((c) => c === 0xee));
  });

  it('any cut of the body and any sizes taken: what was handed out is never overwritten', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = prng(seed);
      const data = body(300_000 + Math.floor(rand() * 100_000));
      // Pieces of 1 byte to 100 KB, some views into larger buffers (a head or trailer beside them).
      const pieces: Uint8Array<ArrayBuffer>[] = [];
      for (let at = 0; at < data.length; ) {
        const r = rand();
        const n = Math.min(
          data.length - at,
          r < 0.2 ? 1 + Math.floor(rand() * 50) : r < 0.5 ? 1 + Math.floor(rand() * 5000) : 1 + Math.floor(rand() * 100_000),
        );
        const before = rand() < 0.3 ? Math.floor(rand() * 300) : 0;
        const buf = new Uint8Array(before + n + (rand() < 0.3 ? 100 : 0)).fill(0xee);
        buf.set(data.subarray(at, at + n), before);
        pieces.push(buf.subarray(before, before + n));
        at += n;
      }
      const p = new Pieces(true);
      const taken: Uint8Array[] = [];
      let next = 0;
      let expect = 0;
      while (expect < data.length) {
        // Feed a few pieces, take a few sizes: takes that end inside a piece, span many, equal one.
        for (let k = Math.floor(rand() * 4); k >= 0 && next < pieces.length; k--) p.push(pieces[next++]!);
        if (p.size === 0) continue;
        const r = rand();
        const n = Math.min(p.size, r < 0.3 ? 1 + Math.floor(rand() * 100) : r < 0.6 ? 65536 : 1 + Math.floor(rand() * 150_000));
        taken.push(p.take(n));
        expect += n;
      }
      let at = 0;
      for (const [i, t] of taken.entries()) {
        assertBytes(t, data.subarray(at, at + t.length), `seed ${seed}, take ${i}`);
        at += t.length;
      }
      assert.equal(at, data.length);
    }
  });

  it('lent pieces (the default) are never written: a join is a new buffer', () => {
    const data = body(200_000);
    const reads = socketReads(data, 150);
    const copies = reads.map((r) => new Uint8Array(r.buffer.slice(0)));
    const p = new Pieces();
    for (const r of reads) p.push(r);
    const fed = new Set(reads.map((r) => r.buffer));
    let at = 0;
    while (p.size > 0) {
      const t = p.take(Math.min(65536, p.size));
      // Every 64 KiB block spans two reads: joined into a buffer of its own (the last, shorter, is a view).
      if (t.length === 65536) assert.ok(!fed.has(t.buffer as ArrayBuffer), `the block at ${at} is a buffer of its own`);
      assertBytes(t, data.subarray(at, at + t.length), `at ${at}`);
      at += t.length;
    }
    reads.forEach((r, i) => assertBytes(new Uint8Array(r.buffer), copies[i]!, `socket read ${i}`));
  });

  it('a piece whose start was handed out as a view is not joined in place over it', () => {
    // 4 KiB pieces on buffers of their own: kept as they came, not copied (pieces.ts).
    const a = new Uint8Array(4096).map((_, i) => i % 256);
    const b = new Uint8Array(4096).fill(9);
    const p = new Pieces(true);
    p.push(a);
    p.push(b);
    const first = p.take(100); // a view of a's first 100 bytes
    const joined = p.take(4096); // a[100..4096) + b[0..100): must not move back over `first`
    assert.equal(first.buffer, a.buffer);
    assertBytes(first, a.slice(0, 100), 'the view handed out first');
    assert.notEqual(joined.buffer, a.buffer);
    assertBytes(joined.subarray(0, 3996), a.slice(100), 'the join');
    assert.ok(joined.subarray(3996).every((c) => c === 9));
    // b's first 100 bytes were copied out, never handed out: the next join may move back over them.
    p.push(new Uint8Array(4096).fill(5));
    const again = p.take(4096);
    assert.equal(again.buffer, b.buffer);
    assert.ok(again.subarray(0, 3996).every((c) => c === 9) && again.subarray(3996).every((c) => c === 5));
  });
});
