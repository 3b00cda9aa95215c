// proxyHeaders(): one trust setting, X-Forwarded-* and RFC 7239 Forwarded, the chain walked right to
// left, originals kept; in-process and over a real server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compose } from '../../src/compose.js';
import { compileTrust, parseForwarded, parseIP, PROXY_ORIGINAL_KEY, proxyHeaders, type ProxyHeadersOptions } from '../../src/middleware/proxy.js';
import type { Application, Environ } from '../../src/spec.js';
import { applicationUri } from '../../src/util.js';
import { request } from '../../src/testing/index.js';
import { httpRequest, withServer } from './support.js';

const KEYS = ['REMOTE_ADDR', 'REMOTE_PORT', 'wsgi.url_scheme', 'HTTP_HOST', 'SERVER_NAME', 'SERVER_PORT', 'SCRIPT_NAME'] as const;

/** Answers with the environ values the middleware may change, as JSON. */
const show: Application = (environ, start) => {
  start('200 OK', [['Content-Type', 'application/json']]);
  const seen: Record<string, unknown> = {};
  for (const k of KEYS) seen[k] = environ[k] ?? null;
  seen.original = environ[PROXY_ORIGINAL_KEY];
  seen.url = applicationUri(environ);
  return [JSON.stringify(seen)];
};

async function seen(options: ProxyHeadersOptions, headers: Record<string, string>, remoteAddr: string | null = '127.0.0.1') {
  const environ: Record<string, unknown> = {};
  if (remoteAddr === null) environ.REMOTE_ADDR = undefined;
  const res = await request(compose(show, proxyHeaders(options)), '/', {
    headers,
    remoteAddr: remoteAddr ?? undefined,
    environ,
    serverName: 'backend',
    serverPort: '8000',
  });
  return JSON.parse(res.text) as Record<string, string | null> & { original: Record<string, string> };
}

describe('addresses and trust', () => {
  it('parses IPv4 and IPv6 into one 16-byte form', () => {
    assert.deepEqual(parseIP('1.2.3.4'), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]);
    assert.deepEqual(parseIP('::ffff:1.2.3.4'), parseIP('1.2.3.4'));
    assert.deepEqual(parseIP('::1'), [...Array(15).fill(0), 1]);
    assert.deepEqual(parseIP('2001:db8::8:800:200c:417a')?.slice(0, 4), [0x20, 0x01, 0x0d, 0xb8]);
    assert.deepEqual(parseIP('fe80::1%eth0')?.[15], 1);
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1:2:3:4:5:6:7:8:9', '1::2::3', 'unknown', '', '::g', '1.2.3.4.5']) {
      assert.equal(parseIP(bad), null, bad);
    }
    assert.notEqual(parseIP('1:2:3:4:5:6:7:8'), null);
    assert.notEqual(parseIP('::'), null);
  });

  it('compiles loopback, CIDR lists, strings, * and functions', () => {
    const loop = compileTrust('loopback');
    assert.equal(loop('127.0.0.1'), true);
    assert.equal(loop('127.9.9.9'), true);
    assert.equal(loop('::1'), true);
    assert.equal(loop('::ffff:127.0.0.1'), true);
    assert.equal(loop(undefined), true, 'a Unix-socket peer is local');
    assert.equal(loop('10.0.0.1'), false);
    const nets = compileTrust(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    assert.equal(nets('10.200.0.1'), true);
    assert.equal(nets('11.0.0.1'), false);
    assert.equal(nets('192.168.1.7'), true);
    assert.equal(nets('192.168.1.8'), false);
    assert.equal(nets('fdab::1'), true);
    assert.equal(nets(undefined), false);
    const env = compileTrust('127.0.0.1, 172.16.0.0/12');
    assert.equal(env('172.31.255.255'), true);
    assert.equal(env('172.32.0.0'), false);
    assert.equal(compileTrust('*')('8.8.8.8'), true);
    assert.equal(compileTrust((a) => a === '9.9.9.9')('9.9.9.9'), true);
    assert.equal(compileTrust('unix')(undefined), true);
    assert.throws(() => compileTrust('10.0.0.0/33'), /bad prefix length/);
    assert.throws(() => compileTrust(['localhost']), /not an IP address or CIDR range/);
    assert.throws(() => compileTrust(''), /trust is empty/);
    assert.throws(() => proxyHeaders({} as ProxyHeadersOptions), /give \{ trust \}/);
    assert.throws(() => proxyHeaders({ trust: '*', headers: 'x-real-ip' as 'forwarded' }), /headers must be/);
  });

  it('parses RFC 7239 Forwarded, quoted strings included', () => {
    assert.deepEqual(parseForwarded('for="_gazonk"'), [{ for: '_gazonk' }]);
    assert.deepEqual(parseForwarded('For="[2001:db8:cafe::17]:4711"'), [{ for: '[2001:db8:cafe::17]:4711' }]);
    assert.deepEqual(parseForwarded('for=192.0.2.60;proto=http;by=203.0.113.43'), [{ for: '192.0.2.60', proto: 'http', by: '203.0.113.43' }]);
    assert.deepEqual(parseForwarded('for=192.0.2.43, for=198.51.100.17'), [{ for: '192.0.2.43' }, { for: '198.51.100.17' }]);
    assert.deepEqual(parseForwarded('for="a,b\\"c";host=x'), [{ for: 'a,b"c', host: 'x' }]);
  });
});

describe('proxyHeaders with X-Forwarded-*', () => {
  it('believes nothing from a peer that is not trusted', async () => {
    const s = await seen({ trust: '10.0.0.0/8' }, { 'X-Forwarded-For': '1.1.1.1', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.test' });
    assert.equal(s.REMOTE_ADDR, '127.0.0.1');
    assert.equal(s['wsgi.url_scheme'], 'http');
    assert.equal(s.HTTP_HOST, 'backend');
  });

  it('takes the client, scheme and host from a trusted proxy', async () => {
    const s = await seen(
      { trust: 'loopback' },
      { Host: 'backend:8000', 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'www.example.com' },
    );
    assert.equal(s.REMOTE_ADDR, '203.0.113.7');
    assert.equal(s.REMOTE_PORT, null, "the proxy's port is not the client's");
    assert.equal(s['wsgi.url_scheme'], 'https');
    assert.equal(s.HTTP_HOST, 'www.example.com');
    assert.equal(s.SERVER_NAME, 'www.example.com');
    assert.equal(s.SERVER_PORT, '443');
    assert.equal(s.url, 'https://www.example.com/');
    assert.deepEqual(s.original, {
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_PORT: '0',
      'wsgi.url_scheme': 'http',
      HTTP_HOST: 'backend:8000',
      SERVER_NAME: 'backend',
      SERVER_PORT: '8000',
      SCRIPT_NAME: '',
    });
  });

  it('walks the chain right to left, stopping at the first untrusted hop', async () => {
    const trust = '127.0.0.1, 10.0.0.0/8';
    // The client claims to be 6.6.6.6; the edge proxy 10.0.0.2 saw 198.51.100.4.
    const s = await seen({ trust }, { 'X-Forwarded-For': '6.6.6.6, 198.51.100.4, 10.0.0.2' });
    assert.equal(s.REMOTE_ADDR, '198.51.100.4');
    const allTrusted = await seen({ trust }, { 'X-Forwarded-For': '10.0.0.9, 10.0.0.2' });
    assert.equal(allTrusted.REMOTE_ADDR, '10.0.0.9', 'every hop trusted: the leftmost');
    const spoofedOnly = await seen({ trust: 'loopback' }, { 'X-Forwarded-For': '6.6.6.6, 198.51.100.4' });
    assert.equal(spoofedOnly.REMOTE_ADDR, '198.51.100.4', 'only the entry the trusted peer appended counts');
  });

  it('reads ports and bracketed IPv6 in the chain, and keeps what a proxy wrote for an unknown client', async () => {
    const v4 = await seen({ trust: 'loopback' }, { 'X-Forwarded-For': '198.51.100.4:51234' });
    assert.equal(v4.REMOTE_ADDR, '198.51.100.4');
    assert.equal(v4.REMOTE_PORT, '51234');
    const v6 = await seen({ trust: 'loopback' }, { 'X-Forwarded-For': '[2001:db8::1]:443' });
    assert.equal(v6.REMOTE_ADDR, '2001:db8::1');
    const bare6 = await seen({ trust: 'loopback' }, { 'X-Forwarded-For': '2001:db8::2' });
    assert.equal(bare6.REMOTE_ADDR, '2001:db8::2');
    const unknown = await seen({ trust: 'loopback' }, { 'X-Forwarded-For': 'unknown' });
    assert.equal(unknown.REMOTE_ADDR, 'unknown');
  });

  it('takes list values from the outermost trusted proxy', async () => {
    const trust = '127.0.0.1, 10.0.0.0/8';
    // Two trusted hops (127.0.0.1, then 10.0.0.2): the second value from the right.
    const s = await seen({ trust }, { 'X-Forwarded-For': '198.51.100.4, 10.0.0.2', 'X-Forwarded-Proto': 'http, https, http' });
    assert.equal(s['wsgi.url_scheme'], 'https');
    const one = await seen({ trust: 'loopback' }, { 'X-Forwarded-For': '198.51.100.4', 'X-Forwarded-Proto': 'https, http' });
    assert.equal(one['wsgi.url_scheme'], 'http', 'a value the client injected on the left is ignored');
    const shorter = await seen({ trust }, { 'X-Forwarded-For': '198.51.100.4, 10.0.0.2', 'X-Forwarded-Proto': 'https' });
    assert.equal(shorter['wsgi.url_scheme'], 'https', 'one value from a chain of trusted proxies');
  });

  it('applies X-Forwarded-Port and -Prefix, and ignores malformed values', async () => {
    const s = await seen(
      { trust: 'loopback' },
      { Host: 'example.com', 'X-Forwarded-Port': '8443', 'X-Forwarded-Prefix': '/my%20app/', 'X-Forwarded-Proto': 'https' },
    );
    assert.equal(s.SERVER_PORT, '8443');
    assert.equal(s.HTTP_HOST, 'example.com:8443');
    assert.equal(s.SCRIPT_NAME, '/my app');
    assert.equal(s.url, 'https://example.com:8443/my%20app');
    const bad = await seen(
      { trust: 'loopback' },
      {
        'X-Forwarded-Proto': 'gopher',
        'X-Forwarded-Host': 'evil.test/path',
        'X-Forwarded-Port': '99999',
        'X-Forwarded-Prefix': '/a/../b',
      },
    );
    assert.equal(bad['wsgi.url_scheme'], 'http');
    assert.equal(bad.HTTP_HOST, 'backend');
    assert.equal(bad.SERVER_PORT, '8000');
    assert.equal(bad.SCRIPT_NAME, '');
    const v6host = await seen({ trust: 'loopback' }, { 'X-Forwarded-Host': '[2001:db8::1]:8080' });
    assert.equal(v6host.SERVER_NAME, '[2001:db8::1]');
    assert.equal(v6host.SERVER_PORT, '8080');
  });

  it('trusts a Unix-socket peer under loopback', async () => {
    const s = await seen({ trust: 'loopback' }, { 'X-Forwarded-For': '198.51.100.4' }, null);
    assert.equal(s.REMOTE_ADDR, '198.51.100.4');
    const strict = await seen({ trust: '10.0.0.0/8' }, { 'X-Forwarded-For': '198.51.100.4' }, null);
    assert.equal(strict.REMOTE_ADDR, null);
  });

  it('ignores Forwarded in x-forwarded mode', async () => {
    const s = await seen({ trust: 'loopback' }, { Forwarded: 'for=6.6.6.6;proto=https' });
    assert.equal(s.REMOTE_ADDR, '127.0.0.1');
    assert.equal(s['wsgi.url_scheme'], 'http');
  });
});

describe('proxyHeaders with RFC 7239 Forwarded', () => {
  const fwd = (trust: string) => ({ trust, headers: 'forwarded' as const });

  it('takes for, proto and host from the element the trusted proxy added', async () => {
    const s = await seen(fwd('loopback'), { Forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https;host=www.example.com' });
    assert.equal(s.REMOTE_ADDR, '2001:db8:cafe::17');
    assert.equal(s.REMOTE_PORT, '4711');
    assert.equal(s['wsgi.url_scheme'], 'https');
    assert.equal(s.HTTP_HOST, 'www.example.com');
  });

  it('walks elements right to left over trusted hops', async () => {
    const trust = '127.0.0.1, 10.0.0.0/8';
    const s = await seen(fwd(trust), {
      Forwarded: 'for=6.6.6.6;proto=http, for=198.51.100.4;proto=https;host=shop.test, for=10.0.0.2',
    });
    assert.equal(s.REMOTE_ADDR, '198.51.100.4');
    assert.equal(s['wsgi.url_scheme'], 'https');
    assert.equal(s.HTTP_HOST, 'shop.test');
    const untrustedPeer = await seen(fwd('10.0.0.0/8'), { Forwarded: 'for=198.51.100.4;proto=https' });
    assert.equal(untrustedPeer.REMOTE_ADDR, '127.0.0.1');
  });

  it('keeps obfuscated identifiers and ignores X-Forwarded-* in forwarded mode', async () => {
    const s = await seen(fwd('loopback'), { Forwarded: 'for=_hidden;proto=https', 'X-Forwarded-For': '6.6.6.6' });
    assert.equal(s.REMOTE_ADDR, '_hidden');
    assert.equal(s['wsgi.url_scheme'], 'https');
    const none = await seen(fwd('loopback'), { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https' });
    assert.equal(none.REMOTE_ADDR, '127.0.0.1');
    assert.equal(none['wsgi.url_scheme'], 'http');
  });
});

describe('proxyHeaders over a real server', () => {
  it('honours a trusted loopback proxy and ignores an untrusted one', async () => {
    const trusted = compose(show, proxyHeaders({ trust: 'loopback' }));
    await withServer(trusted, async (server) => {
      const res = await httpRequest(`${server.url}/`, {
        headers: { 'X-Forwarded-For': '6.6.6.6, 203.0.113.50', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'public.example' },
      });
      const s = JSON.parse(res.text) as Record<string, unknown> & { original: Environ };
      assert.equal(s.REMOTE_ADDR, '203.0.113.50');
      assert.equal(s.url, 'https://public.example/');
      assert.equal(s.original.REMOTE_ADDR, '127.0.0.1');
    });
    const untrusted = compose(show, proxyHeaders({ trust: '10.0.0.0/8' }));
    await withServer(untrusted, async (server) => {
      const res = await httpRequest(`${server.url}/`, { headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https' } });
      const s = JSON.parse(res.text) as Record<string, unknown>;
      assert.equal(s.REMOTE_ADDR, '127.0.0.1');
      assert.equal(s['wsgi.url_scheme'], 'http');
    });
  });
});
