// The environ oracle: tsgi serving ../shared/oracle/oracle_app.ts must build the environ that the
// five trusted Python servers (wsgiref, gunicorn, waitress, uWSGI, werkzeug) agree on, request for
// request. Waivers are only for requests tsgi refuses on purpose, for safety.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { SHARED, startCli, type RunningCli } from '../helpers/cli.js';

const ORACLE = path.join(SHARED, 'oracle');

/** Each waiver: a case all five answer 200 that RFC 9112 says to reject, and we do. */
const WAIVERS: Record<string, string> = {
  http11_no_host: 'RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host',
  host_duplicate: 'RFC 9112 §3.2: two Host headers MUST get 400 (a cache-poisoning vector)',
  header_obs_fold: 'RFC 9112 §5.2: obs-fold may be rejected; the Python servers keep CR/LF or mangle it',
  path_no_leading_slash: 'RFC 9112 §3.2.1: "x" is not an origin-form target; llhttp refuses it',
};

let server: RunningCli;
before(async () => {
  server = await startCli([path.join(ORACLE, 'oracle_app.ts') + ':application', '--bind', '127.0.0.1:0']);
});
after(() => server.stop());

it('builds the environ the five Python servers agree on', { timeout: 180_000 }, () => {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'tsgi-oracle-')), 'tsgi.json');
  const client = spawnSync('python3', ['client.py', '127.0.0.1', String(server.port), out], {
    cwd: ORACLE,
    encoding: 'utf8',
    timeout: 150_000,
  });
  assert.equal(client.status, 0, `client.py failed:\n${client.stdout}\n${client.stderr}`);
  const expected = readdirSync(path.join(ORACLE, 'expected')).map((f) => path.join('expected', f));
  const waive = Object.keys(WAIVERS).flatMap((c) => ['--waive', c]);
  const cmp = spawnSync('python3', ['compare.py', '--candidate', out, ...expected, ...waive], { cwd: ORACLE, encoding: 'utf8' });
  const lines = cmp.stdout.trim().split('\n');
  const summary = lines.at(-1) ?? '';
  assert.equal(cmp.status, 0, `compare.py found differences:\n${lines.filter((l) => l.includes('MISMATCH')).join('\n')}`);
  assert.match(summary, /^\d+ passed, 0 failed$/);
  // Each waived case really is refused with 400 (a waiver must not hide anything else).
  const got = JSON.parse(readFileSync(out, 'utf8')) as { cases: Record<string, { responses: Array<{ status: number }> }> };
  for (const name of Object.keys(WAIVERS)) {
    assert.deepEqual(got.cases[name]!.responses.map((r) => r.status), [400], `${name} is refused with 400`);
  }
});
