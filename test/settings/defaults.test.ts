// The library's defaults are the settings table's: every door, serve() and the CLI's worker start from
// the same numbers. The expected values are worked out here from the table rows themselves (a row's
// default times its unit), so a door that goes back to a number of its own fails.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SETTINGS, defaults, defineConfig, fromConfig, type Settings } from '../../src/settings/index.js';
import { OPTION_DEFAULTS, toOption, toOptions } from '../../src/settings/defaults.js';
import { HTTP_DEFAULTS } from '../../src/http/common/options.js';
import { NetDoor } from '../../src/http/net/door.js';
import { HttpDoor } from '../../src/http/node/server.js';
import { UWSGI_DEFAULTS } from '../../src/uwsgi/door.js';
import { FASTCGI_DEFAULTS, FastcgiDoor } from '../../src/fastcgi/serve.js';
import { silentLogger } from '../../src/runner/log.js';
import type { Application } from '../../src/spec.js';

/** A row's default in the options' unit, computed by hand from the row. */
function fromTable(key: string): number {
  const row = SETTINGS.find((s) => s.key === key);
  assert.ok(row && 'unit' in row, `${key} is a setting with a unit`);
  const perUnit = { s: 1000, ms: 1, bytes: 1, MiB: 1024 * 1024, count: 1 }[row.unit];
  return (row.default as number) * perUnit;
}

const app: Application = (_e, start) => (start('200 OK', []), []);

describe("each door's defaults are the settings table's", () => {
  it('HTTP (both engines): limits and timeouts', () => {
    const expected = {
      limitRequestLine: fromTable('limitRequestLine'),
      limitRequestFields: fromTable('limitRequestFields'),
      maxHeaderSize: fromTable('maxHeaderSize'),
      headersTimeout: fromTable('headersTimeout'),
      bodyTimeout: fromTable('bodyTimeout'),
      keepAliveTimeout: fromTable('keepAlive'),
      requestTimeout: fromTable('requestTimeout'),
      responseTimeout: fromTable('responseTimeout'),
      sendTimeout: fromTable('sendTimeout'),
      handshakeTimeout: fromTable('handshakeTimeout'),
    };
    assert.deepEqual({ ...HTTP_DEFAULTS }, expected);
    // What a door built without options actually uses.
    assert.deepEqual(new NetDoor(app, { log: silentLogger }).opts, expected);
    assert.deepEqual(new HttpDoor(app, { log: silentLogger }).opts, expected);
  });

  it('uwsgi and FastCGI: the head, body and graceful timeouts', () => {
    for (const [name, d] of [
      ['uwsgi', UWSGI_DEFAULTS],
      ['FastCGI', FASTCGI_DEFAULTS],
    ] as const) {
      assert.equal(d.headerTimeout, fromTable('headersTimeout'), name);
      assert.equal(d.bodyTimeout, fromTable('bodyTimeout'), name);
      assert.equal(d.gracefulTimeout, fromTable('gracefulTimeout'), name);
    }
    const door = new FastcgiDoor(app, { log: silentLogger });
    assert.equal(door.settings.headerTimeout, fromTable('headersTimeout'));
    assert.equal(door.settings.bodyTimeout, fromTable('bodyTimeout'));
  });

  it("the CLI's worker converts its settings the same way, so with no settings given it passes the doors' defaults", () => {
    assert.deepEqual(toOptions(defaults()), OPTION_DEFAULTS);
    assert.equal(OPTION_DEFAULTS.gracefulTimeout, fromTable('gracefulTimeout'));
    assert.equal(OPTION_DEFAULTS.maxRss, 0);
    // Seconds become whole milliseconds, MiB bytes, counts stay counts.
    assert.equal(toOption('headersTimeout', 2.5), 2500);
    assert.equal(toOption('keepAlive', 1.1), 1100, 'no floating-point crumbs (1.1 * 1000 is 1100.0000000000002)');
    assert.equal(toOption('maxRss', 512), 512 * 1024 * 1024);
    assert.equal(toOption('backlog', 64), 64);
    const s: Settings = { ...defaults(), headersTimeout: 3, keepAlive: 75 };
    assert.equal(toOptions(s).headersTimeout, 3000);
    assert.equal(toOptions(s).keepAlive, 75_000);
  });

  it('every number setting has a unit, and no other setting has one', () => {
    for (const s of SETTINGS) {
      const numeric = s.type === 'int' || s.type === 'number';
      assert.equal('unit' in s, numeric, s.key);
    }
  });
});

describe('settings with a list of choices', () => {
  it('are literal unions in TypeScript, and refused outside the list at run time', () => {
    const engine: Settings['engine'] = defaults().engine;
    assert.ok(engine === 'net' || engine === 'node');
    // @ts-expect-error: not one of the choices ('node' | 'net')
    const config = defineConfig({ engine: 'nett', accessLogFormat: 'json', logLevel: 'debug' });
    assert.throws(() => fromConfig(config, 'c.json'), /c\.json: engine \(setting engine\): "nett" must be one of node, net/);
  });
});
