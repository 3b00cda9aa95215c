// The one reason-phrase table (src/protocol/status.ts), held against node:http's STATUS_CODES as an
// independent record of the registry: the same codes and phrases, except where RFC 9110 renamed a
// status after Node took its list from RFC 7231, and Node's unregistered 509.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STATUS_CODES } from 'node:http';
import { REGISTERED_STATUSES, reasonPhrase } from '../../src/protocol/status.js';
import { rawError } from '../../src/http/common/door.js';

const RENAMED_BY_RFC_9110: Record<number, string> = { 413: 'Content Too Large', 422: 'Unprocessable Content' };
const NOT_REGISTERED = new Set([509]); // "Bandwidth Limit Exceeded": an Apache extension, never registered

test('every registered status has its RFC 9110 phrase; the rest say Unknown', () => {
  const nodeCodes = Object.keys(STATUS_CODES)
    .map(Number)
    .filter((c) => !NOT_REGISTERED.has(c));
  assert.deepEqual([...REGISTERED_STATUSES], nodeCodes);
  for (const code of REGISTERED_STATUSES) {
    assert.equal(reasonPhrase(code), RENAMED_BY_RFC_9110[code] ?? STATUS_CODES[code], String(code));
  }
  for (const code of [99, 199, 306, 509, 599, 600, 1000]) assert.equal(reasonPhrase(code), 'Unknown', String(code));
});

test("an HTTP door's raw refusal names its status with the same phrase", () => {
  assert.match(rawError(431), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n[^]*\r\n\r\nRequest Header Fields Too Large\n$/);
  assert.match(rawError(413), /^HTTP\/1\.1 413 Content Too Large\r\n/);
});
