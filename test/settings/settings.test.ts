import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SETTINGS, defaults, fromEnv, helpText, parseCommandLine, resolve } from '../../src/settings/index.js';
import { VERSION } from '../../src/version.js';

describe('settings table', () => {
  it('declares each setting once, with a flag, an env var and help', () => {
    const flags = SETTINGS.map((s) => s.flag);
    assert.equal(new Set(flags).size, flags.length);
    for (const s of SETTINGS) {
      // Only command-line actions (--print-config, --check-config) have no environment variable.
      assert.ok((s.env.length > 0 || ('cliOnly' in s && s.cliOnly)) && s.help.length > 10, s.key);
      assert.ok(helpText().includes(`--${s.flag}`), s.flag);
    }
  });

  it('resolves defaults < environment < command line', () => {
    assert.equal(defaults().limitRequestLine, 8190);
    const env = { TSGI_LIMIT_REQUEST_LINE: '100', TSGI_KEEP_ALIVE: '90' };
    const cli = parseCommandLine(['app.ts', '--limit-request-line', '200']).settings;
    const s = resolve(cli, env);
    assert.equal(s.limitRequestLine, 200, 'the command line wins over the environment');
    assert.equal(s.keepAlive, 90, 'the environment wins over the default');
    assert.equal(s.headersTimeout, 10, 'the default stands');
  });

  it('reads PORT and HOST as platforms set them, unless TSGI_BIND is given', () => {
    assert.deepEqual(fromEnv({ PORT: '5000' }).bind, ['0.0.0.0:5000']);
    assert.equal(fromEnv({ WEB_CONCURRENCY: '4' }).workers, 4);
    assert.equal(fromEnv({ WEB_CONCURRENCY: '4', TSGI_WORKERS: '2' }).workers, 2, 'TSGI_WORKERS is more specific');
    assert.deepEqual(fromEnv({ PORT: '5000', HOST: '127.0.0.1' }).bind, ['127.0.0.1:5000']);
    assert.deepEqual(fromEnv({ PORT: '5000', TSGI_BIND: '127.0.0.1:1 127.0.0.1:2' }).bind, ['127.0.0.1:1', '127.0.0.1:2']);
    assert.throws(() => fromEnv({ PORT: 'eighty' }), /PORT: "eighty" is not a port number/);
  });

  it('collects repeated --bind flags', () => {
    assert.deepEqual(parseCommandLine(['a.ts', '-b', '1', '--bind', '2']).settings.bind, ['1', '2']);
  });

  it('keeps VERSION equal to package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(VERSION, pkg.version);
  });
});
