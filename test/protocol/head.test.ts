// The net engine's request-head parser on its own (the chunked decoder: chunked.test.ts): every case whole and
// split at every byte (the parser is called again with more bytes, as the connection does), so
// that no split changes the answer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientError } from '../../src/errors.js';
import { parseHead, type Head } from '../../src/protocol/head.js';

const LIMITS = { limitRequestLine: 100, limitRequestFields: 5, maxHeaderSize: 400 };

/** Feeds `text` growing one byte at a time; returns the first non-null head or the error status. */
function byteByByte(text: string): Head | number | null {
  const all = Buffer.from(text, 'latin1');
  for (let n = 1; n <= all.length; n++) {
    try {
      const h = parseHead(all.subarray(0, n), 0, LIMITS);
      if (h !== null) return h;
    } catch (err) {
      if (err instanceof ClientError) return err.status;
      throw err;
    }
  }
  return null;
}

function whole(text: string): Head | number | null {
  try {
    return parseHead(Buffer.from(text, 'latin1'), 0, LIMITS);
  } catch (err) {
    if (err instanceof ClientError) return err.status;
    throw err;
  }
}

const OK: Array<[string, string, Partial<Head>]> = [
  ['simple GET', 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { method: 'GET', url: '/', httpVersion: '1.1', rawHeaders: ['Host', 'h'] }],
  ['HTTP/1.0, no headers', 'GET /x?y=1 HTTP/1.0\r\n\r\n', { url: '/x?y=1', versionMinor: 0, rawHeaders: [] }],
  ['a custom method token', 'PURGE /a HTTP/1.1\r\nHost: h\r\n\r\n', { method: 'PURGE' }],
  ['OWS around a value is dropped, inner spaces kept', 'GET / HTTP/1.1\r\nX-A: \t a  b \t\r\nHost: h\r\n\r\n', { rawHeaders: ['X-A', 'a  b', 'Host', 'h'] }],
  ['an empty value', 'GET / HTTP/1.1\r\nX-E:\r\nHost: h\r\n\r\n', { rawHeaders: ['X-E', '', 'Host', 'h'] }],
  ['obs-text in a value stays as latin-1', 'GET / HTTP/1.1\r\nX-L: caf\xe9\r\nHost: h\r\n\r\n', { rawHeaders: ['X-L', 'caf\xe9', 'Host', 'h'] }],
  ['a leading empty line is ignored (RFC 9112 §2.2)', '\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n', { method: 'GET' }],
  ['absolute-form target', 'GET http://example.com/p HTTP/1.1\r\nHost: example.com\r\n\r\n', { url: 'http://example.com/p' }],
  ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n', { url: '*' }],
  ['HTTP/1.2 is served as 1.1 (RFC 9110 §2.5), its version kept', 'GET / HTTP/1.2\r\nHost: h\r\n\r\n', { httpVersion: '1.2', versionMinor: 1 }],
  ['any CR and LF before the request line are skipped, as llhttp does', '\r\n\n\r\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n', { method: 'GET' }],
  ['a token method that is not upper-case letters (RFC 9110 §9.1)', '-BLARGH /foo HTTP/1.1\r\nHost: h\r\n\r\n', { method: '-BLARGH' }],
  // Whether the form suits the method is frameRequest()'s to judge (framing.test.ts); the parser
  // checks only the shape, where llhttp does.
  ['GET * parses (frameRequest refuses it)', 'GET * HTTP/1.1\r\n\r\n', { url: '*' }],
  ['an ftp: URI parses (frameRequest refuses it)', 'GET ftp://x/y HTTP/1.1\r\n\r\n', { url: 'ftp://x/y' }],
  // Size as llhttp counts it: target + names + values = 1 + 1 + 397 = 399 < 400 (OWS before a value not counted).
  ['a head just under the size limit', `GET / HTTP/1.1\r\nX:    ${'a'.repeat(397)}\r\n\r\n`, { url: '/' }],
];

const BAD: Array<[string, string, number]> = [
  ['bare LF after the request line', 'GET / HTTP/1.1\nHost: h\r\n\r\n', 400],
  ['bare LF after a field', 'GET / HTTP/1.1\r\nHost: h\n\r\n', 400],
  ['CR not followed by LF', 'GET / HTTP/1.1\r\nHost: h\r\n\rX', 400],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n', 400],
  ['space before the colon', 'GET / HTTP/1.1\r\nHost : h\r\n\r\n', 400],
  ['no colon', 'GET / HTTP/1.1\r\nHost h\r\n\r\n', 400],
  ['empty field name', 'GET / HTTP/1.1\r\n: v\r\n\r\n', 400],
  ['NUL in a name', 'GET / HTTP/1.1\r\nX-\x00: v\r\n\r\n', 400],
  ['NUL in a value', 'GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n', 400],
  ['DEL in a value', 'GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n', 400],
  ['invalid method', 'G@T / HTTP/1.1\r\n\r\n', 400],
  ['lower-case version', 'GET / http/1.1\r\n\r\n', 400],
  ['HTTP/0.9 (no version)', 'GET /\r\n\r\n', 505],
  ['HTTP/2.0', 'GET / HTTP/2.0\r\n\r\n', 505],
  ['HTTP/3.0', 'GET / HTTP/3.0\r\n\r\n', 505],
  ['a target of no form, before the version is looked at', 'GET a/b HTTP/0.9\r\n\r\n', 400],
  ['a version where the target should be', 'GET HTTP/1.1\r\n\r\n', 400],
  ['HTTP/111', 'GET / HTTP/111\r\n\r\n', 400],
  ['raw non-ASCII in the target', 'GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n', 400],
  ['raw non-ASCII in the target, seen before the line ends', 'GET /caf\xc3\xa9', 400],
  ['a TAB in the target', 'GET /a\tb HTTP/1.1\r\n\r\n', 400],
  ['two spaces', 'GET  / HTTP/1.1\r\n\r\n', 400],
  ['control byte in the target', 'GET /a\x01b HTTP/1.1\r\n\r\n', 400],
  ['target too long', `GET /${'a'.repeat(120)} HTTP/1.1\r\n\r\n`, 414],
  ['too many fields', `GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(6)}\r\n`, 431],
  ['head too large', `GET / HTTP/1.1\r\nX: ${'a'.repeat(500)}\r\n\r\n`, 431],
  ['a head that reaches the size limit (target + names + values = 400)', `GET / HTTP/1.1\r\nX:  ${'a'.repeat(398)}\r\n\r\n`, 431],
  ['trailing OWS counts, as llhttp counts it', `GET / HTTP/1.1\r\nX: ${'a'.repeat(390)}        \r\n\r\n`, 431],
  ['binary junk', '\x00\x10\x00\x00\x04\x00HOST', 400],
];

describe('h1 parser', () => {
  for (const [title, text, want] of OK) {
    it(`parses: ${title}`, () => {
      for (const got of [whole(text), byteByByte(text)]) {
        assert.ok(got !== null && typeof got === 'object', `${title}: ${String(got)}`);
        for (const [k, v] of Object.entries(want)) assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, `${title}: ${k}`);
        assert.equal(got.end, Buffer.byteLength(text, 'latin1'));
      }
    });
  }
  for (const [title, text, status] of BAD) {
    it(`refuses with ${status}: ${title}`, () => {
      assert.equal(whole(text), status, 'whole');
      assert.equal(byteByByte(text), status, 'byte by byte');
    });
  }
  it('waits for more bytes while the head is incomplete, and returns where it ends', () => {
    assert.equal(parseHead(Buffer.from('GET / HTTP/1.1\r\nHost: h\r\n'), 0, LIMITS), null);
    const two = Buffer.from('GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n');
    const a = parseHead(two, 0, LIMITS)!;
    assert.equal(a.url, '/a');
    assert.equal(parseHead(two.subarray(a.end), 0, LIMITS)!.url, '/b');
  });
});

// Lines up to 96 bytes and heads up to 384 are searched in JavaScript, longer ones with Buffer#indexOf:
// every line and head length across both bounds, with a next request after it in the same buffer,
// gives the same head.
describe('h1 parser: the short and the long search agree', () => {
  const BIG = { limitRequestLine: 8190, limitRequestFields: 100, maxHeaderSize: 16384 };
  it('values of 80 to 110 bytes, heads of 360 to 420 bytes, a pipelined request after each', () => {
    for (let n = 80; n <= 110; n++) {
      for (const lines of [1, 4]) {
        const value = 'v'.repeat(n);
        const text = `GET /p HTTP/1.1\r\nHost: h\r\n${`X-L: ${value}\r\n`.repeat(lines)}\r\n`;
        const buf = Buffer.from(`${text}GET /next HTTP/1.1\r\n\r\n`, 'latin1');
        for (const start of [0, 3]) {
          const b = start === 0 ? buf : Buffer.concat([Buffer.from('\r\n\r\n'.slice(0, start)), buf]);
          const h = parseHead(b, 0, BIG)!;
          assert.equal(h.end, text.length + start, `value ${n}, ${lines} lines`);
          assert.deepEqual(h.rawHeaders, ['Host', 'h', ...Array.from({ length: lines }, () => ['X-L', value]).flat()]);
          assert.equal(parseHead(b.subarray(h.end), 0, BIG)!.url, '/next');
        }
      }
    }
  });
});
