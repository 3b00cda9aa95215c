// The uwsgi packet parser, driven by the captured fixtures (each fed whole, byte by byte and in
// random splits) and by the malformed packets of research/reliability.md (e).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_VARS_SIZE, PacketError, UwsgiParser, encodePacket, looksLikeHttp, looksLikeUwsgi, type Parsed } from '../../src/protocol/uwsgi.js';
import { REQUEST_FIXTURES, byteByByte, fixture, referenceDecode, splits } from './support.js';

/** Feeds the pieces; returns the packet and every byte after the vars block (rest + later pieces). */
function feed(pieces: Uint8Array[], bufferSize?: number): { parsed: Parsed; after: Buffer } {
  const p = new UwsgiParser(bufferSize);
  let parsed: Parsed | null = null;
  const after: Uint8Array[] = [];
  for (const piece of pieces) {
    if (parsed === null) {
      parsed = p.push(piece);
      if (parsed !== null) after.push(parsed.rest);
    } else after.push(piece);
  }
  if (parsed === null) throw p.end();
  return { parsed, after: Buffer.concat(after) };
}

/** The error a malformed packet gives, fed in the given pieces (the EOF included). */
function failure(pieces: Uint8Array[], bufferSize?: number): PacketError {
  try {
    feed(pieces, bufferSize);
  } catch (err) {
    assert.ok(err instanceof PacketError, `expected a PacketError, got ${String(err)}`);
    return err;
  }
  assert.fail('the packet was accepted');
}

const u16 = (n: number) => [n & 0xff, n >> 8];
const ascii = (s: string) => [...Buffer.from(s, 'latin1')];
/** A packet from raw parts: header fields and the vars block bytes exactly as given. */
function raw(modifier1: number, size: number, block: number[], modifier2 = 0): Uint8Array {
  return Uint8Array.from([modifier1, ...u16(size), modifier2, ...block]);
}
const pair = (k: string, v: string) => [...u16(k.length), ...ascii(k), ...u16(v.length), ...ascii(v)];

describe('captured fixtures', () => {
  assert.ok(REQUEST_FIXTURES.length >= 30, `fixtures found: ${REQUEST_FIXTURES.length}`);
  for (const name of REQUEST_FIXTURES) {
    const bytes = fixture(name);
    const ref = referenceDecode(bytes);
    test(`${name}: whole, byte by byte and in random splits`, () => {
      for (const [label, pieces] of splits(bytes, 20)) {
        const { parsed, after } = feed(pieces);
        assert.deepEqual(parsed.packet.vars, ref.vars, label);
        assert.equal(parsed.packet.modifier1, 0, label);
        assert.deepEqual(after, ref.body, label);
      }
    });
  }

  test("every captured request is recognised as uwsgi (for the HTTP door's hint)", () => {
    for (const name of REQUEST_FIXTURES) assert.equal(looksLikeUwsgi(fixture(name)), true, name);
    assert.equal(looksLikeUwsgi(Buffer.from('GET / HTTP/1.1\r\n\r\n')), false);
    assert.equal(looksLikeUwsgi(Uint8Array.from([0, 0, 0, 0, 0, 0])), false);
  });

  test("the 6 KB header nginx sends (datasize 6384) needs more than uWSGI's 4 KiB default", () => {
    const bytes = fixture('nginx-uwsgi-largeheader.bin');
    assert.equal(feed([bytes]).parsed.packet.vars.find(([k]) => k === 'HTTP_X_LARGE')![1].length, 6000);
    assert.equal(failure([bytes], 4096).kind, 'too-big');
  });
});

describe('malformed packets (reliability.md (e))', () => {
  // [id, what, bytes, expected code, bufferSize]
  const cases: Array<[string, string, Uint8Array, string, number?]> = [
    ['U3', 'datasize 0xFFFF over a 4096 buffer', raw(0, 0xffff, pair('A', 'b')), 'too-big', 4096],
    ['U4', 'a key length past the end', raw(0, 8, [...u16(0x5054), ...ascii('ABCDEF')]), 'key-overrun'],
    ['U4b', 'a lone byte where a key length should be', raw(0, 1, [5]), 'key-overrun'],
    ['U5', 'a value length past the end', raw(0, 9, [...u16(3), ...ascii('KEY'), ...u16(900), 1, 2]), 'value-overrun'],
    ['U5b', 'a key with no value length', raw(0, 5, [...u16(3), ...ascii('KEY')]), 'value-overrun'],
    ['U6', 'a zero-length key', raw(0, 6, [...u16(0), ...u16(2), ...ascii('xy')]), 'empty-key'],
    ['U7', 'two of the four header bytes, then EOF', Uint8Array.from([0, 10]), 'truncated'],
    ['U8', 'half the vars block, then EOF', raw(0, 40, pair('REQUEST_METHOD', 'GET')), 'truncated'],
    ['U9', 'modifier1 99', raw(99, 8, pair('A', 'bc')), 'modifier'],
    ['U15', 'datasize 0', raw(0, 0, []), 'empty'],
    ['HTTP', 'an HTTP request on the uwsgi port', Buffer.from('GET /x HTTP/1.1\r\nHost: h\r\n\r\n'), 'http'],
    ['HTTP2', 'the HTTP/2 preface', Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'http'],
    ['TLS', 'a TLS ClientHello', Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), 'tls'],
    ['EOF', 'nothing at all', new Uint8Array(0), 'truncated'],
  ];
  for (const [id, what, bytes, code, bufferSize] of cases) {
    test(`${id}: ${what} -> ${code}, whole and byte by byte`, () => {
      assert.equal(failure([bytes], bufferSize).kind, code);
      assert.equal(failure(byteByByte(bytes), bufferSize).kind, code);
    });
  }

  test('the log line for HTTP on a uwsgi port says so and quotes the request line', () => {
    const err = failure([Buffer.from('GET /x?y=1 HTTP/1.1\r\nHost: h\r\n\r\n')]);
    assert.match(err.message, /this looks like HTTP on a uwsgi port \("GET \/x\?y=1 HTTP\/1\.1"\)/);
  });

  test('an error message escapes what it quotes', () => {
    const err = failure([raw(0, 9, [...u16(3), 0x0a, 0x22, 0xff, ...u16(900), 1, 2])]);
    assert.match(err.message, /"\\x0a\\x22\\xff"/);
  });

  test('a failed parser refuses more input', () => {
    const p = new UwsgiParser();
    assert.throws(() => p.push(raw(99, 1, [0])), PacketError);
    assert.throws(() => p.push(new Uint8Array(1)), /after the end/);
  });
});

describe('sizes and limits', () => {
  test('a block of exactly bufferSize bytes is accepted, one more is not', () => {
    const block = pair('K', 'v'.repeat(95)); // 100 bytes
    assert.equal(block.length, 100);
    assert.deepEqual(feed([raw(0, 100, block)], 100).parsed.packet.vars, [['K', 'v'.repeat(95)]]);
    assert.equal(failure([raw(0, 101, [...block, 0])], 100).kind, 'too-big');
  });

  test('the default buffer takes the full 64 KiB block', () => {
    const value = 'x'.repeat(MAX_VARS_SIZE - 4 - 1);
    const bytes = encodePacket([['X', value]]);
    assert.equal(bytes.length, 4 + MAX_VARS_SIZE);
    for (const [label, pieces] of splits(bytes, 3)) {
      if (label === 'byte by byte') continue; // 64 K single-byte pushes add nothing the splits do not
      assert.equal(feed(pieces).parsed.packet.vars[0]![1].length, value.length, label);
    }
  });

  test('bufferSize must be 1 to 65535', () => {
    assert.throws(() => new UwsgiParser(0), RangeError);
    assert.throws(() => new UwsgiParser(65536), RangeError);
    assert.throws(() => new UwsgiParser(1.5), RangeError);
  });

  test('encodePacket never wraps the 16-bit size (Apache CVE-2020-11984)', () => {
    assert.throws(() => encodePacket([['X', 'y'.repeat(65535)]]), RangeError);
    assert.throws(() => encodePacket([['X', 'é€']]), RangeError);
  });

  test('bytes after the block come back as the start of the body, even in the same read', () => {
    const bytes = encodePacket([['REQUEST_METHOD', 'POST']], Buffer.from('hello'));
    const { parsed, after } = feed([bytes]);
    assert.equal(Buffer.from(parsed.rest).toString(), 'hello');
    assert.equal(after.toString(), 'hello');
  });

  test('values keep every byte as a latin-1 char; duplicates are kept in order', () => {
    const vars: Array<[string, string]> = [
      ['PATH_INFO', '/caf\u00c3\u00a9\u0000\u00ff'],
      ['HTTP_X_DUP', 'a'],
      ['HTTP_X_DUP', 'b'],
      ['EMPTY', ''],
    ];
    assert.deepEqual(feed([encodePacket(vars)]).parsed.packet.vars, vars);
  });
});

describe('looksLikeHttp', () => {
  test('request lines of every method read as HTTP; uwsgi headers do not', () => {
    for (const m of ['GET /', 'POST /', 'HEAD /', 'PUT /', 'DELETE /', 'OPTIONS *', 'PATCH /', 'CONNECT h:1', 'PRI *']) {
      assert.equal(looksLikeHttp(Buffer.from(`${m} HTTP/1.1\r\n`)), true, m);
    }
    assert.equal(looksLikeHttp(Buffer.from('POST')), true);
    assert.equal(looksLikeHttp(Uint8Array.from([0, 1, 0, 0])), false);
    assert.equal(looksLikeHttp(Buffer.from('Get / HTTP/1.1')), false);
    assert.equal(looksLikeHttp(Buffer.from('GE')), false);
  });
});
