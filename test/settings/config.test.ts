// The one settings table: config files, precedence, --print-config, --check-config, docs drift.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SETTINGS, SettingError, fromConfig, parseCommandLine, renderSettingsDoc, resolveAll } from '../../src/settings/index.js';
import { ROOT, runCli } from '../helpers/cli.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'tsgi-settings-'));

describe('settings: config file and precedence', () => {
  it('defaults < config file < environment < command line, each source remembered', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'tsgi.config.json'), JSON.stringify({ workers: 3, timeout: 7, keepAlive: 70, 'max-requests': 100 }));
    const cli = parseCommandLine(['app.ts', '--timeout', '9']).settings;
    const r = await resolveAll(cli, { WEB_CONCURRENCY: '5', TSGI_KEEP_ALIVE: '80' }, dir);
    assert.equal(r.settings.maxRequests, 100, 'config file over default');
    assert.equal(r.settings.workers, 5, 'environment over config file');
    assert.equal(r.settings.keepAlive, 80);
    assert.equal(r.settings.timeout, 9, 'command line over everything');
    assert.equal(r.settings.gracefulTimeout, 30, 'default');
    assert.equal(r.sources.workers, 'WEB_CONCURRENCY');
    assert.equal(r.sources.maxRequests, 'tsgi.config.json');
    assert.equal(r.sources.timeout, '--timeout');
    assert.equal(r.sources.gracefulTimeout, 'default');
  });

  it('loads tsgi.config.ts with defineConfig', async () => {
    const dir = tmp();
    const settings = path.join(ROOT, 'src/settings/index.ts');
    writeFileSync(
      path.join(dir, 'tsgi.config.ts'),
      `import { defineConfig } from ${JSON.stringify(settings)};\nexport default defineConfig({ workers: 2, bind: ['127.0.0.1:9999'] });\n`,
    );
    const r = await resolveAll({}, {}, dir);
    assert.equal(r.settings.workers, 2);
    assert.deepEqual(r.settings.bind, ['127.0.0.1:9999']);
  });

  it('names the setting, the file and the allowed values in every error', () => {
    assert.throws(() => fromConfig({ workers: 'x' }, 'tsgi.config.json'), /tsgi\.config\.json: workers \(setting workers\): "x" is not a whole number/);
    assert.throws(
      () => fromConfig({ logLevel: 'loud' }, 'c.json'),
      /c\.json: logLevel \(setting log-level\): "loud" must be one of debug, info, warning, error, critical/,
    );
    assert.throws(
      () => fromConfig({ wrokers: 2 }, 'c.json'),
      (e: Error) => e instanceof SettingError && /c\.json: wrokers: unknown setting/.test(e.message),
    );
    assert.throws(() => fromConfig({ printConfig: true }, 'c.json'), /unknown setting/);
    assert.throws(() => parseCommandLine(['a.ts', '--max-requests=-1']), /--max-requests: -1 must be a whole number of 0 or more/);
    assert.throws(() => parseCommandLine(['a.ts', '--socket-mode', '999']), /--socket-mode: "999" must be an octal file mode/);
  });

  it('--print-config shows every value and its source', async () => {
    const r = await runCli(['--print-config', '-w', '3'], { TSGI_TIMEOUT: '12' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^workers\s+= 3\s+# --workers$/m);
    assert.match(r.stdout, /^timeout\s+= 12\s+# TSGI_TIMEOUT$/m);
    assert.match(r.stdout, /^graceful-timeout\s+= 30\s+# default$/m);
    assert.match(r.stdout, /^forwarded-allow-ips\s+= 127\.0\.0\.1,::1\s+# default$/m);
  });

  it('--check-config loads the application and exits', async () => {
    const ok = await runCli(['examples/hello.ts', '--check-config']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /configuration is valid/);
    const bad = await runCli(['test/fixtures/apps/broken.ts', '--check-config']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /this module fails on purpose/);
  });

  it('passes FORWARDED_ALLOW_IPS through as settings.forwardedAllowIps', async () => {
    const r = await resolveAll({}, { FORWARDED_ALLOW_IPS: '10.0.0.0/8' }, tmp());
    assert.equal(r.settings.forwardedAllowIps, '10.0.0.0/8');
  });

  it('docs/settings.md is what the table generates (node --import tsx scripts/gen-settings-doc.mjs)', () => {
    const page = readFileSync(path.join(ROOT, 'docs/settings.md'), 'utf8');
    assert.equal(page, renderSettingsDoc(), 'docs/settings.md drifted from src/settings/table.ts: regenerate it');
    for (const s of SETTINGS) assert.ok(page.includes(`### ${s.flag}\n`), s.flag);
  });
});
