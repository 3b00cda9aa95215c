// The record parser and encoders against the captured fixtures: every request file parses to the
// same records fed whole, byte by byte and in random splits, with any padding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import {
  FCGI,
  ProtocolError,
  RecordParser,
  beginRequest,
  decodePairs,
  encodePairs,
  encodeRecord,
  encodeStream,
  endRequest,
  parseBegin,
  parseEnd,
  parseRecords,
  unknownType,
  type FcgiRecord,
} from '../../src/protocol/fastcgi.js';
import { FIXTURES, fixture, pieces, type Split } from './client.js';

const requestFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.bin') && !/^uwsgi-fastcgi-response-(hello|stream)\.bin$/.test(f));

function parseIn(parts: Uint8Array[]): FcgiRecord[] {
  const out: FcgiRecord[] = [];
  const p = new RecordParser((r) => out.push({ ...r, content: r.content.slice() }));
  for (const part of parts) p.push(part);
  assert.equal(p.midRecord, false, 'the data ends between records');
  return out;
}

const simplify = (rs: FcgiRecord[]) => rs.map((r) => [r.type, r.requestId, Buffer.from(r.content).toString('hex')]);

for (const name of requestFiles) {
  test(`${name}: the same records whole, byte by byte and in random splits`, () => {
    const data = fixture(name);
    const whole = parseIn([data]);
    assert.ok(whole.length >= 4, 'a request has at least BEGIN, PARAMS, empty PARAMS, empty STDIN');
    for (const split of ['bytes', 'random'] as Split[]) {
      for (const seed of [1, 7, 42]) assert.deepEqual(simplify(parseIn(pieces(data, split, seed))), simplify(whole), `${split} ${seed}`);
    }
    // Every request starts with a RESPONDER BEGIN_REQUEST for id 1 and has a decodable PARAMS stream.
    assert.equal(whole[0]!.type, FCGI.BEGIN_REQUEST);
    assert.equal(parseBegin(whole[0]!.content).role, 1);
    const params = whole.filter((r) => r.type === FCGI.PARAMS && r.content.length > 0);
    const pairs = decodePairs(Buffer.concat(params.map((r) => r.content)));
    assert.ok(pairs.some(([k]) => k === 'REQUEST_METHOD'));
    assert.ok(whole.every((r) => r.requestId === 1));
  });
}

test('nginx pads to 8 bytes; the padding never shows in the content', () => {
  const recs = parseRecords(fixture('nginx-fastcgi-post.bin'));
  const stdin = recs.filter((r) => r.type === FCGI.STDIN);
  assert.equal(Buffer.from(stdin[0]!.content).toString(), 'hello');
  assert.equal(stdin[1]!.content.length, 0);
});

test('nginx splits a 70000-byte body into 32768 + 32768 + 4464', () => {
  const recs = parseRecords(fixture('nginx-fastcgi-post-70k.bin'));
  assert.deepEqual(
    recs.filter((r) => r.type === FCGI.STDIN).map((r) => r.content.length),
    [32768, 32768, 4464, 0],
  );
});

test('a 6000-byte value uses the four-byte length form', () => {
  const recs = parseRecords(fixture('nginx-fastcgi-largeheader.bin'));
  const params = Buffer.concat(recs.filter((r) => r.type === FCGI.PARAMS).map((r) => r.content));
  assert.ok(params.includes(Buffer.from([0x80, 0x00, 0x17, 0x70])));
  const large = decodePairs(params).find(([k]) => k === 'HTTP_X_LARGE');
  assert.equal(large?.[1], 'a'.repeat(6000));
  // Re-encoding gives the same bytes: the encoder picks the same forms.
  assert.deepEqual(Buffer.from(encodePairs(decodePairs(params))), params);
});

test('two requests on one connection (nginx keepalive pool, Apache enablereuse)', () => {
  for (const name of ['nginx-fastcgi-keepconn-2req.bin', 'apache-fastcgi-reuse-2req.bin']) {
    const begins = parseRecords(fixture(name)).filter((r) => r.type === FCGI.BEGIN_REQUEST);
    assert.equal(begins.length, 2, name);
    for (const b of begins) assert.equal(parseBegin(b.content).keepConn, true, name);
  }
});

test('any padding from 0 to 255 is skipped, in any split', () => {
  for (const padding of [0, 1, 7, 8, 100, 255]) {
    const data = Buffer.concat([
      encodeRecord(FCGI.STDIN, 3, Buffer.from('abc'), padding),
      encodeRecord(FCGI.STDIN, 3, new Uint8Array(0), padding),
      encodeRecord(FCGI.PARAMS, 3, Buffer.from('xyz'), padding),
    ]);
    for (const split of ['whole', 'bytes', 'random'] as Split[]) {
      assert.deepEqual(simplify(parseIn(pieces(data, split, padding + 1))), [
        [FCGI.STDIN, 3, Buffer.from('abc').toString('hex')],
        [FCGI.STDIN, 3, ''],
        [FCGI.PARAMS, 3, Buffer.from('xyz').toString('hex')],
      ]);
    }
  }
});

test('a version other than 1 is a ProtocolError', () => {
  const bad = Buffer.from(encodeRecord(FCGI.STDIN, 1, Buffer.from('x')));
  bad[0] = 2;
  assert.throws(() => parseRecords(bad), ProtocolError);
  // An HTTP request sent to the FastCGI port by mistake.
  assert.throws(() => parseRecords(Buffer.from('GET / HTTP/1.1\r\n\r\n')), ProtocolError);
});

test('name-value pairs: both length forms, empty values, truncation', () => {
  const pairs: Array<[string, string]> = [
    ['A', ''],
    ['B'.repeat(127), 'x'],
    ['C'.repeat(128), 'y'.repeat(70000)],
    ['\xe9', '\xff\x00'],
  ];
  const data = encodePairs(pairs);
  assert.deepEqual(decodePairs(data), pairs);
  assert.throws(() => decodePairs(data.subarray(0, data.length - 1)), ProtocolError);
  assert.throws(() => decodePairs(Uint8Array.of(0x80, 0, 0)), ProtocolError);
  assert.throws(() => decodePairs(Uint8Array.of(5)), ProtocolError);
  assert.throws(() => decodePairs(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 0)), ProtocolError);
});

test('encoders: stream records of at most 65535 bytes, END_REQUEST, UNKNOWN_TYPE, BEGIN_REQUEST', () => {
  const big = Buffer.alloc(65535 * 2 + 10, 7);
  const recs = parseRecords(encodeStream(FCGI.STDOUT, 9, big));
  assert.deepEqual(
    recs.map((r) => r.content.length),
    [65535, 65535, 10],
  );
  assert.equal(encodeStream(FCGI.STDOUT, 9, new Uint8Array(0)).length, 0);
  assert.deepEqual(parseEnd(parseRecords(endRequest(2, 0xfffffffe, 3))[0]!.content), { appStatus: 0xfffffffe, protocolStatus: 3 });
  assert.deepEqual([...unknownType(77)], [1, 11, 0, 0, 0, 8, 0, 0, 77, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(parseBegin(parseRecords(beginRequest(5, 1, 1))[0]!.content), { role: 1, keepConn: true });
  assert.throws(() => encodeRecord(FCGI.STDOUT, 1, new Uint8Array(65536)), RangeError);
});

test("uWSGI's FastCGI responses parse as STDOUT..., empty STDOUT, END_REQUEST", () => {
  for (const name of ['uwsgi-fastcgi-response-hello.bin', 'uwsgi-fastcgi-response-stream.bin']) {
    const recs = parseRecords(fixture(name));
    const types = recs.map((r) => r.type);
    assert.deepEqual(types.slice(-2), [FCGI.STDOUT, FCGI.END_REQUEST]);
    assert.equal(recs.at(-2)!.content.length, 0);
    assert.deepEqual(parseEnd(recs.at(-1)!.content), { appStatus: 0, protocolStatus: 0 });
  }
});
