// checkHeaders on its own: the pairs that passed are remembered by position (a response's headers repeat
// from one response to the next), and that memory never lets through what the checks refuse.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHeaders } from '../../src/runner/checks.js';

describe('checkHeaders: the memory of pairs that passed', () => {
  it('the same list again passes and declares the same length', () => {
    const list = () => [
      ['Content-Type', 'text/plain'],
      ['Content-Length', '5'],
      ['X-A', 'b'],
    ];
    for (let i = 0; i < 3; i++) assert.equal(checkHeaders(list(), 200), 5);
  });

  it('a pair that differs from the one that passed at its position is checked in full', () => {
    assert.equal(checkHeaders([['X-A', 'ok']], 200), -1);
    assert.throws(() => checkHeaders([['X-A', 'ok\r\nSet-Cookie: x']], 200), /Control characters/);
    assert.throws(() => checkHeaders([['X A', 'ok']], 200), /Invalid header name/);
    assert.throws(() => checkHeaders([['X-A', 'caf\u20ac']], 200), /latin-1/);
    assert.equal(checkHeaders([['X-A', 'ok']], 200), -1);
  });

  it('a refused pair is never remembered: refused again, at any position', () => {
    for (let i = 0; i < 2; i++) {
      assert.throws(() => checkHeaders([['Connection', 'close']], 200), /Hop-by-hop/);
      assert.throws(
        () =>
          checkHeaders(
            [
              ['X-A', 'b'],
              ['Keep-Alive', 'timeout=5'],
            ],
            200,
          ),
        /Hop-by-hop/,
      );
    }
  });

  it('Content-Length is checked against the status every time (never remembered)', () => {
    assert.equal(checkHeaders([['Content-Length', '0']], 200), 0);
    assert.throws(() => checkHeaders([['Content-Length', '0']], 204), /not allowed with status 204/);
    assert.throws(
      () =>
        checkHeaders(
          [
            ['Content-Length', '5'],
            ['content-length', '6'],
          ],
          200,
        ),
      /Conflicting/,
    );
    assert.equal(checkHeaders([['Content-Length', '0']], 200), 0);
  });
});
