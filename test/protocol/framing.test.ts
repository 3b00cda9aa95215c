// frameRequest() and the list parsing under it, on their own: the rules both engines apply to a
// parsed head (target form, Host, Content-Length, Transfer-Encoding, keep-alive, Expect). The same
// rules over real sockets, on both engines, are in gunicorn-corpus.test.ts and parity.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientError } from '../../src/errors.js';
import { listMembers } from '../../src/protocol/fields.js';
import { frameRequest, type Framing } from '../../src/protocol/framing.js';
import { checkTarget, isHostPort } from '../../src/protocol/target.js';

function frame(fields: string[], options: { method?: string; target?: string; minor?: number } = {}): Framing | [number, string] {
  const r = frameRequest({ method: options.method ?? 'POST', target: options.target ?? '/', versionMinor: options.minor ?? 1, rawHeaders: fields });
  return r instanceof ClientError ? [r.status, r.code] : r;
}

const H = ['Host', 'h'];

describe('listMembers (RFC 9110 §5.6.1)', () => {
  it('splits at commas, drops OWS (SP, HTAB) around members and empty members', () => {
    assert.deepEqual(listMembers([' a ,\tb\t,, ,c']), ['a', 'b', 'c']);
    assert.deepEqual(listMembers(['a', 'b, c']), ['a', 'b', 'c']);
  });
  it('keeps every other byte: \\v, \\f, 0xA0 are not OWS', () => {
    assert.deepEqual(listMembers(['chunked\xa0']), ['chunked\xa0']);
    assert.deepEqual(listMembers(['\x0bchunked\x0c']), ['\x0bchunked\x0c']);
  });
  it('does not split inside a quoted-string', () => {
    assert.deepEqual(listMembers(['a;q="x, y", b']), ['a;q="x, y"', 'b']);
    assert.deepEqual(listMembers(['a;q="x\\", y", b']), ['a;q="x\\", y"', 'b']);
  });
});

describe('frameRequest: Transfer-Encoding (RFC 9112 §6.1, §6.3)', () => {
  it('chunked, in any case, is a chunked body', () => {
    for (const te of ['chunked', 'Chunked', 'CHUNKED', ' chunked\t', ', chunked']) {
      assert.deepEqual(frame([...H, 'Transfer-Encoding', te]), { body: 'chunked', length: Infinity, keepAlive: true, expectContinue: false }, te);
    }
  });
  it('a final coding that only looks like chunked is 400 (the smuggling bug trim() made)', () => {
    for (const te of ['chunked\xa0', '\xa0chunked', 'chunked;ext', '"chunked"', 'xchunked', 'chunked, identity', '']) {
      assert.deepEqual(frame([...H, 'Transfer-Encoding', te]), [400, 'TSGI_ERR_TRANSFER_ENCODING'], JSON.stringify(te));
    }
  });
  it('chunked twice is 400, on one line or two', () => {
    assert.deepEqual(frame([...H, 'Transfer-Encoding', 'chunked, chunked']), [400, 'TSGI_ERR_TRANSFER_ENCODING']);
    assert.deepEqual(frame([...H, 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked']), [400, 'TSGI_ERR_TRANSFER_ENCODING']);
  });
  it('another coding before chunked is 501: framed, but not understood', () => {
    for (const te of [['gzip, chunked'], ['identity, chunked'], ['gzip', 'chunked'], ['gzip;q=1 , chunked']]) {
      const fields = te.flatMap((v) => ['Transfer-Encoding', v]);
      assert.deepEqual(frame([...H, ...fields]), [501, 'TSGI_ERR_TRANSFER_CODING'], te.join(' | '));
    }
  });
  it('a non-token before chunked is 400', () => {
    assert.deepEqual(frame([...H, 'Transfer-Encoding', '"gz", chunked']), [400, 'TSGI_ERR_TRANSFER_ENCODING']);
  });
  it('with Content-Length is 400', () => {
    assert.deepEqual(frame([...H, 'Content-Length', '3', 'Transfer-Encoding', 'chunked']), [400, 'TSGI_ERR_TRANSFER_ENCODING']);
  });
  it('on HTTP/1.0: processed, and the connection closes whatever Connection says (H20)', () => {
    assert.deepEqual(frame(['Connection', 'keep-alive', 'Transfer-Encoding', 'chunked'], { minor: 0 }), {
      body: 'chunked',
      length: Infinity,
      keepAlive: false,
      expectContinue: false,
    });
  });
});

describe('frameRequest: Content-Length (RFC 9110 §8.6)', () => {
  it('digits are the body length; 0 is no body', () => {
    assert.deepEqual(frame([...H, 'Content-Length', '0005']), { body: 'length', length: 5, keepAlive: true, expectContinue: false });
    assert.deepEqual(frame([...H, 'Content-Length', '0']), { body: 'length', length: 0, keepAlive: true, expectContinue: false });
    assert.deepEqual(frame([...H]), { body: 'none', length: 0, keepAlive: true, expectContinue: false });
  });
  it('anything else is 400: sign, space, list, hex, empty, 16 digits, two fields (even equal)', () => {
    for (const cl of ['-1', '+1', '-0', '1 2', '5, 5', '0x5', '', 'abc', '0_1', '1234567890123456', '5\xa0']) {
      assert.deepEqual(frame([...H, 'Content-Length', cl]), [400, 'TSGI_ERR_CONTENT_LENGTH'], JSON.stringify(cl));
    }
    assert.deepEqual(frame([...H, 'Content-Length', '5', 'content-length', '5']), [400, 'TSGI_ERR_CONTENT_LENGTH']);
  });
  it('a name with an underscore is another field (and never the framing)', () => {
    assert.deepEqual(frame([...H, 'Content_Length', '-1E23', 'Transfer_Encoding', 'x']), { body: 'none', length: 0, keepAlive: true, expectContinue: false });
  });
});

describe('frameRequest: Content-Type (RFC 9110 §5.3, §8.3)', () => {
  it('one field only: two are 400, whatever their values', () => {
    assert.deepEqual(frame([...H, 'Content-Type', 'a/b', 'content-type', 'a/b']), [400, 'TSGI_ERR_FIELD']);
    assert.equal((frame([...H, 'Content-Type', 'a/b, c/d']) as Framing).body, 'none');
  });
});

describe('frameRequest: keep-alive (RFC 9112 §9.3)', () => {
  const keep = (fields: string[], minor: number) => (frame(fields, { minor }) as Framing).keepAlive;
  it('HTTP/1.1 stays open unless a close option; HTTP/1.0 closes unless keep-alive', () => {
    assert.equal(keep(H, 1), true);
    assert.equal(keep([...H, 'Connection', 'Close'], 1), false);
    assert.equal(keep([...H, 'Connection', 'upgrade, \tclose'], 1), false);
    assert.equal(keep([...H, 'Connection', 'x', 'Connection', 'close'], 1), false);
    assert.equal(keep([], 0), false);
    assert.equal(keep(['Connection', 'Keep-Alive'], 0), true);
    assert.equal(keep(['Connection', 'keep-alive, close'], 0), false);
  });
  it('a close option padded with something that is not OWS is not close', () => {
    assert.equal(keep([...H, 'Connection', 'close\xa0'], 1), true);
  });
});

describe('frameRequest: Expect (RFC 9110 §10.1.1)', () => {
  it('100-continue on HTTP/1.1 waits for 100 Continue; anything else is 417', () => {
    assert.equal((frame([...H, 'Expect', '100-Continue', 'Content-Length', '1']) as Framing).expectContinue, true);
    assert.deepEqual(frame([...H, 'Expect', 'foo']), [417, 'TSGI_ERR_EXPECTATION']);
    assert.deepEqual(frame([...H, 'Expect', '100-continue, foo']), [417, 'TSGI_ERR_EXPECTATION']);
  });
  it('is ignored on HTTP/1.0', () => {
    assert.deepEqual(frame(['Expect', 'foo'], { minor: 0 }), { body: 'none', length: 0, keepAlive: false, expectContinue: false });
    assert.equal((frame(['Expect', '100-continue'], { minor: 0 }) as Framing).expectContinue, false);
  });
});

describe('frameRequest: Host (RFC 9112 §3.2)', () => {
  it('HTTP/1.1 needs one valid Host; HTTP/1.0 may have none; an empty one is allowed', () => {
    assert.deepEqual(frame([]), [400, 'TSGI_ERR_HOST']);
    assert.deepEqual(frame(['Host', 'a', 'host', 'b']), [400, 'TSGI_ERR_HOST']);
    assert.equal((frame([], { minor: 0 }) as Framing).body, 'none');
    assert.equal((frame(['Host', '']) as Framing).body, 'none');
  });
  it('host[:port] grammar', () => {
    for (const h of ['example.com', 'example.com:8080', '0.0.0.0=5000', '[::1]:8080', '[v1.x]', 'a%20b', 'h:']) assert.ok(isHostPort(h), h);
    for (const h of ['a b', 'a/b', 'a@b', 'a:b', '[::1', '[]', 'a%2', 'caf\xe9', 'a:80:80']) assert.ok(!isHostPort(h), h);
    assert.deepEqual(frame(['Host', 'evil/x']), [400, 'TSGI_ERR_HOST']);
  });
  it('the Host remembered from the last request lets only an equal string by, never a near one', () => {
    // frameRequest skips the grammar for the Host that passed last (the same on every request of a client).
    const random = (n: number) => ((n * 2654435761) >>> 0).toString(36);
    for (let k = 0; k < 2000; k++) {
      const good = `h${random(k)}.example:${k % 65536}`;
      const bad = [`${good}x`, `${good} `, `${good}:1`, `${good.replace('.', '/')}`, `${good}\xe9`, `[${good}`];
      assert.equal((frame(['Host', good], { method: 'GET' }) as Framing).body, 'none', good);
      for (const b of bad) assert.deepEqual(frame(['Host', b], { method: 'GET' }), [400, 'TSGI_ERR_HOST'], b);
      // Equal text built another way (a different string object) is still served.
      assert.equal((frame(['Host', [...good].join('')], { method: 'GET' }) as Framing).body, 'none', good);
    }
  });
  it('reg-name and IPv4 hosts: the same verdict as the RFC 3986 grammar on 20,000 random strings', () => {
    // host = *( unreserved / pct-encoded / sub-delims ), port = *DIGIT (RFC 3986 §3.2.2, §3.2.3).
    const grammar = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*(?::[0-9]*)?$/;
    const alphabet = 'aZ09.-_~!$=%:%:/@ \xe9fF';
    let seed = 15;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let k = 0; k < 20_000; k++) {
      let h = '';
      for (let n = rand(9); n > 0; n--) h += alphabet[rand(alphabet.length)];
      assert.equal(isHostPort(h), grammar.test(h), JSON.stringify(h));
      // needHost (an http URI's authority): the host part is not empty; needPort (CONNECT): a port is there.
      assert.equal(isHostPort(h, 0, h.length, true), grammar.test(h) && !h.startsWith(':') && h !== '', JSON.stringify(h));
      assert.equal(isHostPort(h, 0, h.length, false, true), grammar.test(h) && /:[0-9]+$/.test(h), JSON.stringify(h));
    }
  });
});

describe('request-target forms (RFC 9112 §3.2)', () => {
  const verdict = (method: string, target: string) => checkTarget(method, target)?.status ?? 'ok';
  it('origin-form and http(s) absolute-form for every method', () => {
    for (const t of [
      '/',
      '/a?b#c',
      '//x',
      '/with_"quotes"',
      'http://example.com/foo?q=1',
      'HTTPS://example.com',
      'http://[::1]:8080/foo',
      'http://user:pass@example.com:8080/foo?q=1',
    ]) {
      assert.equal(verdict('GET', t), 'ok', t);
    }
  });
  it('asterisk-form only for OPTIONS; authority-form only for CONNECT (which is 501: not a proxy)', () => {
    assert.equal(verdict('OPTIONS', '*'), 'ok');
    assert.equal(verdict('GET', '*'), 400);
    assert.equal(verdict('GET', 'example.com:443'), 400);
    assert.equal(verdict('CONNECT', 'example.com:443'), 501);
    assert.equal(verdict('CONNECT', '[::1]:443'), 501);
    assert.equal(verdict('CONNECT', '/x'), 400);
    assert.equal(verdict('CONNECT', 'example.com'), 400);
  });
  it('anything else is 400: another scheme, no host, a relative path, bytes outside VCHAR', () => {
    for (const t of [
      'ftp://evil/x',
      'http://',
      'http:///x',
      'http:/x',
      'foo/bar',
      's://]ufd/:',
      'http://a b/',
      'http://caf\xe9/',
      '/caf\xe9',
      '/a\tb',
      '/a\x7f',
      '',
    ]) {
      assert.equal(verdict('GET', t), 400, JSON.stringify(t));
    }
  });
});
