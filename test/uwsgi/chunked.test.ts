// The chunked decoder used for the uWSGI router's --http-chunked-input bodies: valid streams in any
// split, and the malformed chunk lines of research/reliability.md H31–H37.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkError, ChunkedDecoder } from '../../src/uwsgi/chunked.js';
import { fixture, referenceDecode, splits } from './support.js';

/** Decodes the pieces; returns the body, whether the end was seen, and the bytes left after it. */
function decode(pieces: Uint8Array[]): { body: string; done: boolean; after: string } {
  const d = new ChunkedDecoder();
  const out: Uint8Array[] = [];
  const after: Uint8Array[] = [];
  for (const p of pieces) {
    if (d.done) {
      after.push(p);
      continue;
    }
    const used = d.push(p, out);
    after.push(p.subarray(used));
  }
  return { body: Buffer.concat(out).toString('latin1'), done: d.done, after: Buffer.concat(after).toString('latin1') };
}

const b = (s: string) => Buffer.from(s, 'latin1');

describe('valid chunked bodies', () => {
  const cases: Array<[string, string, string]> = [
    ['one chunk', '5\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['several chunks, upper and lower hex', 'a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n', '0123456789abcdefghij'],
    ['extensions', '5;a=b\r\nhello\r\n0;c="d"\r\n\r\n', 'hello'],
    ['whitespace before an extension', '5 ;a=b\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['leading zeros', '0005\r\nhello\r\n000\r\n\r\n', 'hello'],
    ['trailers', '5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n', 'hello'],
    ['an empty body', '0\r\n\r\n', ''],
    ['binary data with CR and LF inside', '4\r\n\r\n\r\n\r\n0\r\n\r\n', '\r\n\r\n'],
  ];
  for (const [what, wire, body] of cases) {
    test(`${what}: whole, byte by byte, random splits`, () => {
      for (const [label, pieces] of splits(b(wire), 10)) {
        const r = decode(pieces);
        assert.equal(r.body, body, label);
        assert.equal(r.done, true, label);
        assert.equal(r.after, '', label);
      }
    });
  }

  test('bytes after the last chunk are not part of the body', () => {
    const r = decode([b('5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n')]);
    assert.equal(r.body, 'hello');
    assert.equal(r.after, 'GET /smuggled HTTP/1.1\r\n\r\n');
  });

  test('the router fixture (uwsgi-router-ka-chunked.bin) decodes to "hello"', () => {
    const { body } = referenceDecode(fixture('uwsgi-router-ka-chunked.bin'));
    assert.equal(decode([body]).body, 'hello');
  });

  test('an unfinished stream is not done', () => {
    assert.equal(decode([b('5\r\nhel')]).done, false);
    assert.equal(decode([b('5\r\nhello\r\n0\r\n')]).done, false);
  });
});

describe('malformed chunked bodies are refused', () => {
  const cases: Array<[string, string]> = [
    ['H31: a size that overflows 64 bits', '10000000000000005\r\nhello\r\n0\r\n\r\n'],
    ['H32: a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n'],
    ['H33: a + sign', '+5\r\nhello\r\n0\r\n\r\n'],
    ['H34: a space after the size, no extension', '5 \r\nhello\r\n0\r\n\r\n'],
    ['H35: a bare CR in an extension', '5;a=b\rc\r\nhello\r\n0\r\n\r\n'],
    ['H36: data not followed by CRLF', '5\r\nhelloXX0\r\n\r\n'],
    ['H37: a 1 MiB extension', `1;x=${'a'.repeat(1 << 20)}\r\nZ\r\n0\r\n\r\n`],
    ['a bare LF ending the size line', '5\nhello\r\n0\r\n\r\n'],
    ['an empty size line', '\r\nhello\r\n0\r\n\r\n'],
    ['a negative size', '-5\r\nhello\r\n0\r\n\r\n'],
    ['a NUL in an extension', '5;a\u0000\r\nhello\r\n0\r\n\r\n'],
    ['endless trailers', `0\r\n${'X-T: 1\r\n'.repeat(3000)}\r\n`],
  ];
  for (const [what, wire] of cases) {
    test(what, () => {
      for (const [label, pieces] of splits(b(wire), 2)) {
        if (label === 'byte by byte' && wire.length > 100_000) continue;
        assert.throws(() => decode(pieces), ChunkError, label);
      }
    });
  }
});
