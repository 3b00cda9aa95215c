// internName (src/protocol/intern.ts): a name read from bytes is always the string of those bytes,
// whatever names came before it: near misses that share its length and the bytes the hash samples,
// names past the table's capacity, names longer than it keeps, latin-1 bytes above 127.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internName } from '../../src/protocol/intern.js';
import { parseVars, encodePacket } from '../../src/protocol/uwsgi.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');
/** The name at an offset inside a larger buffer, as parsers meet it. */
function read(name: string, pad = 3): string {
  const b = Buffer.concat([Buffer.alloc(pad, 0x7e), bytes(name), Buffer.alloc(pad, 0x7e)]);
  return internName(b, pad, name.length);
}

// First in the file: the later tests fill the table, and a name that finds no free slot is not kept.
test('internName keeps its own copy of a name: bytes overwritten after it was read change nothing', () => {
  // The same length and the same bytes where the hash looks (first, last, middle, a quarter in): one slot.
  const first = 'HTTP_X_AAAAA_B';
  const second = 'HTTP_X_AAABA_B';
  const b = Buffer.from(first, 'latin1');
  assert.equal(internName(b, 0, b.length), first);
  b.write(second, 'latin1');
  assert.equal(internName(Buffer.from(second, 'latin1'), 0, second.length), second);
  assert.equal(internName(Buffer.from(first, 'latin1'), 0, first.length), first);
});

test('internName answers the string of the bytes, for CGI names and their near misses', () => {
  const names = [
    'REQUEST_METHOD',
    'SERVER_NAME',
    'SERVER_PORT',
    'SERVER_ADDR',
    'REMOTE_ADDR',
    'REMOTE_PORT',
    'HTTP_HOST',
    'HTTP_ACCEPT_ENCODING',
    'HTTP_ACCEPT_LANGUAGE',
  ];
  for (let round = 0; round < 3; round++) {
    for (const name of names) {
      assert.equal(read(name, round + 1), name);
      // The same length, first, last and middle bytes as `name`, one other byte changed: never `name`.
      for (let i = 1; i < name.length - 1; i++) {
        const near = name.slice(0, i) + (name[i] === 'X' ? 'Y' : 'X') + name.slice(i + 1);
        assert.equal(read(near), near);
      }
    }
  }
});

test('internName: names past its capacity, longer than it keeps, and latin-1 bytes are still right', () => {
  for (let i = 0; i < 5000; i++) {
    const name = `HTTP_X_${i.toString(36).toUpperCase()}`;
    assert.equal(read(name), name);
  }
  const long = `HTTP_${'A'.repeat(100)}`;
  assert.equal(read(long), long);
  assert.equal(read(long), long);
  const latin1 = 'HTTP_\xe9\xff\x80';
  assert.equal(read(latin1), latin1);
  assert.equal(read('A'), 'A');
  assert.equal(read('B'), 'B');
});

test('parseVars gives the same names and values with interning as the packet holds', () => {
  const vars: Array<[string, string]> = [
    ['REQUEST_METHOD', 'GET'],
    ['HTTP_X_A', '1'],
    ['HTTP_X_B', '2'],
    ['SERVER_NAME', 'a'],
    ['SERVER_NAMF', 'b'],
  ];
  for (let i = 0; i < 3; i++) {
    const packet = encodePacket(vars);
    assert.deepEqual(parseVars(packet.subarray(4)), vars);
  }
});
