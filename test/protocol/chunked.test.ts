// The one chunked decoder (src/protocol/chunked.ts), used by the net engine and the uwsgi door: valid
// streams whole, byte by byte and cut at random; every malformed case refused with the same
// ClientError (400, TSGI_ERR_CHUNKED) whatever the cut; the H31–H37 rows of research/reliability.md
// and the chunked cases of gunicorn's request corpus (tests/requests, bodies copied inline).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNKED_LIMITS, ChunkedDecoder, type ChunkedLimits } from '../../src/protocol/chunked.js';
import { ClientError } from '../../src/errors.js';
import { fixture, referenceDecode, splits } from '../uwsgi/support.js';

const b = (s: string) => Buffer.from(s, 'latin1');

interface Decoded {
  body: string;
  done: boolean;
  /** The bytes after the end of the chunked body. */
  after: string;
}

/** Decodes the pieces in order, as a connection would feed them. */
function decode(pieces: Uint8Array[], limits?: Partial<ChunkedLimits>): Decoded {
  const d = new ChunkedDecoder(limits);
  let body = '';
  const after: Uint8Array[] = [];
  for (const p of pieces) {
    if (d.done) {
      after.push(p);
      continue;
    }
    const end = d.push(p, (data) => {
      assert.ok(data.length > 0, 'no empty piece is emitted');
      body += Buffer.from(data).toString('latin1');
    });
    if (end !== -1) after.push(p.subarray(end));
  }
  return { body, done: d.done, after: Buffer.concat(after).toString('latin1') };
}

/** The error decoding `wire` cut as `pieces` raises (it must be a ClientError 400 TSGI_ERR_CHUNKED). */
function refusal(pieces: Uint8Array[], limits?: Partial<ChunkedLimits>): ClientError {
  try {
    decode(pieces, limits);
  } catch (err) {
    assert.ok(err instanceof ClientError, `a ClientError, not ${String(err)}`);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'TSGI_ERR_CHUNKED');
    assert.match(err.message, /^malformed chunked request body: /);
    return err;
  }
  assert.fail('accepted');
}

describe('valid chunked bodies', () => {
  const cases: Array<[string, string, string]> = [
    ['one chunk', '5\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['several chunks, upper and lower hex', 'a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n', '0123456789abcdefghij'],
    ['extensions', '5;a=b\r\nhello\r\n0;c="d"\r\n\r\n', 'hello'],
    ['whitespace before an extension', '5 ;a=b\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['BWS all around the ; and = of extensions (RFC 9112 §7.1.1)', '5 \t; a = b ;c\t=\t"d" ; e\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['a quoted extension with an escaped quote and obs-text', '5;a="x \\" y\xe9"\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['leading zeros', '0005\r\nhello\r\n000\r\n\r\n', 'hello'],
    ['the largest size digits allowed (16, leading zeros)', '0000000000000005\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['trailers', '5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n', 'hello'],
    ['an empty body', '0\r\n\r\n', ''],
    ['binary data with CR and LF inside', '4\r\n\r\n\r\n\r\n0\r\n\r\n', '\r\n\r\n'],
    // gunicorn tests/requests/valid: the bodies of the chunked cases.
    ['gunicorn valid/010', '1e\r\nall your base are belong to us\r\n0\r\n\r\n', 'all your base are belong to us'],
    ['gunicorn valid/011 (000 ends)', '5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n', 'hello world'],
    ['gunicorn valid/012 (trailers)', '5\r\nhello\r\n6\r\n world\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n', 'hello world'],
    ['gunicorn valid/013 (extensions, BWS before ;)', '5; some; parameters=stuff\r\nhello\r\n6; blahblah; blah\r\n world\r\n0\r\n\r\n', 'hello world'],
    ['gunicorn rfc9112_chunked_ext_quoted_01', '5;foo="bar baz"\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['gunicorn rfc9112_chunked_size_leading_zeros_01', '0005\r\nhello\r\n0\r\n\r\n', 'hello'],
    ['gunicorn rfc9112_chunked_size_uppercase_hex_01', 'A\r\n0123456789\r\n0\r\n\r\n', '0123456789'],
    ['H38: a trailer section that looks like a request', '0\r\nX:GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n', ''],
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

  test('bytes after the last chunk are not part of the body, at every split', () => {
    const wire = b('5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nGET /next HTTP/1.1\r\n\r\n');
    for (let i = 1; i < wire.length; i++) {
      const r = decode([wire.subarray(0, i), wire.subarray(i)]);
      assert.deepEqual(r, { body: 'hello world', done: true, after: 'GET /next HTTP/1.1\r\n\r\n' }, `split at ${i}`);
    }
  });

  test('the uWSGI router fixture (uwsgi-router-ka-chunked.bin) decodes to "hello"', () => {
    const { body } = referenceDecode(fixture('uwsgi-router-ka-chunked.bin'));
    assert.equal(decode([body]).body, 'hello');
  });

  test('an unfinished stream is not done (gunicorn rfc9112_chunked_missing_final_crlf_01)', () => {
    assert.equal(decode([b('5\r\nhel')]).done, false);
    assert.equal(decode([b('5\r\nhello\r\n0\r\n')]).done, false);
    assert.equal(decode([b('0\r\n')]).done, false);
  });

  test('a large chunk is handed over in views of the input, not copied', () => {
    const data = Buffer.alloc(100_000, 0x61);
    const wire = Buffer.concat([b('186a0\r\n'), data, b('\r\n0\r\n\r\n')]);
    const d = new ChunkedDecoder();
    const seen: Uint8Array[] = [];
    assert.equal(
      d.push(wire, (p) => seen.push(p)),
      wire.length,
    );
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.buffer, wire.buffer);
  });
});

describe('malformed chunked bodies are refused, whole and byte by byte', () => {
  const MiB = 1 << 20;
  const cases: Array<[string, string]> = [
    // research/reliability.md H31–H37: the body rows of the hostile catalogue.
    ['H31: a size that overflows 64 bits', '10000000000000005\r\nhello\r\n0\r\n\r\n'],
    ['H32: a 0x prefix', '0x5\r\nhello\r\n0\r\n\r\n'],
    ['H33: a + sign', '+5\r\nhello\r\n0\r\n\r\n'],
    ['H34: a space after the size, no extension', '5 \r\nhello\r\n0\r\n\r\n'],
    ['H35: a bare CR in an extension', '5;a=b\rc\r\nhello\r\n0\r\n\r\n'],
    ['H36: data not followed by CRLF', '5\r\nhelloXX0\r\n\r\n'],
    ['H37: a 1 MiB extension', `1;x=${'a'.repeat(MiB)}\r\nZ\r\n0\r\n\r\n`],
    // Sizes.
    ['a size of 16 digits that does not fit 2^52', '1000000000000005\r\nhello\r\n0\r\n\r\n'],
    ['17 digits, even of zeros', '00000000000000005\r\nhello\r\n0\r\n\r\n'],
    ['an empty size line (gunicorn chunked_13)', '\r\nhello\r\n0\r\n\r\n'],
    ['a negative size (gunicorn rfc9112_chunked_size_minus_sign_01)', '-5\r\nhello\r\n0\r\n\r\n'],
    ['an underscore in the size (gunicorn chunked_01)', '5\r\nhello\r\n6_0\r\n world\r\n0\r\n\r\n'],
    ['whitespace before the size (gunicorn chunked_10)', '5\r\nhello\r\n 0\r\n\r\n'],
    ['whitespace after the last size (gunicorn chunked_09)', '5\r\nhello\r\n0 \r\n\r\n'],
    ['an extension without a size (gunicorn chunked_12)', ' ;foo=bar\r\nhello\r\n0\r\n\r\n'],
    // Line ends.
    ['a bare LF ending the size line', '5\nhello\r\n0\r\n\r\n'],
    ['a bare LF before an extension (gunicorn chunked_11)', '5\n;\r\nhello\r\n0\r\n\r\n'],
    ['a bare LF after chunk data', '5\r\nhello\n0\r\n\r\n'],
    ['a bare LF ending a trailer', '0\r\nX: 1\n\r\n'],
    ['a bare LF ending the body', '0\r\n\n'],
    ['a bare CR in a trailer', '0\r\nX: a\rb\r\n\r\n'],
    // Extensions.
    ['a bare CR in an extension value (gunicorn chunked_14)', '5;ext=val\rue\r\nhello\r\n0\r\n\r\n'],
    ['a NUL in an extension', '5;a\u0000\r\nhello\r\n0\r\n\r\n'],
    ['an empty extension name', '5;=b\r\nhello\r\n0\r\n\r\n'],
    ['an extension name with a space inside', '5;a b\r\nhello\r\n0\r\n\r\n'],
    ['an extension with = and no value', '5;a=\r\nhello\r\n0\r\n\r\n'],
    ['whitespace before the CRLF of an extension', '5;a=b \r\nhello\r\n0\r\n\r\n'],
    ['an unterminated quoted value', '5;a="b\r\nhello\r\n0\r\n\r\n'],
    ['a byte after a closing quote', '5;a="b"c\r\nhello\r\n0\r\n\r\n'],
    // Trailers.
    ['obs-fold in the trailers', '0\r\nX: 1\r\n  2\r\n\r\n'],
    ['a trailer without a colon', '0\r\nX 1\r\n\r\n'],
    ['a trailer with a space before the colon', '0\r\nX : 1\r\n\r\n'],
    ['a DEL in a trailer value', '0\r\nX: a\x7fb\r\n\r\n'],
    ['endless trailers', `0\r\n${'X-T: 1\r\n'.repeat(3000)}\r\n`],
  ];
  for (const [what, wire] of cases) {
    test(what, () => {
      const bytes = b(wire);
      for (const [label, pieces] of splits(bytes, 2)) {
        if (label === 'byte by byte' && bytes.length > 100_000) continue;
        refusal(pieces);
      }
    });
  }

  test('H37 is refused once the extension passes its limit, not after reading all of it', () => {
    const d = new ChunkedDecoder();
    // `;x=` and the value: exactly the limit, then one byte more.
    const head = b(`1;x=${'a'.repeat(CHUNKED_LIMITS.maxExtension - 3)}`);
    assert.equal(
      d.push(head, () => {}),
      -1,
    );
    assert.throws(() => d.push(b('a'), () => {}), /chunk extensions longer than 4096 bytes/);
  });

  test('the limits are settable, and each names itself in the message', () => {
    assert.match(refusal([b('5;abcdefghij\r\nhello\r\n0\r\n\r\n')], { maxExtension: 8 }).message, /extensions longer than 8/);
    assert.match(refusal([b('00005\r\nhello\r\n0\r\n\r\n')], { maxSizeDigits: 4 }).message, /more than 4 hex digits/);
    assert.match(refusal([b('0\r\nX: 123456\r\n\r\n')], { maxTrailers: 8 }).message, /trailer section longer than 8/);
    assert.equal(decode([b('5;abcdefg\r\nhello\r\n0\r\n\r\n')], { maxExtension: 8 }).body, 'hello');
  });
});
