// The environ oracle: tsgi serving test/fixtures/oracle/app.ts must build the environ that the five
// trusted Python servers (wsgiref, gunicorn, waitress, uWSGI, werkzeug) agree on, request for request
// (their recorded answers are in test/fixtures/oracle/). Waivers are only for requests tsgi refuses on
// purpose, for safety. Runs against the engine TSGI_ENGINE names (scripts/run-tests.mjs runs both).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, startCli, type RunningCli } from '../helpers/cli.js';
import { runCase, type OracleCase, type Recording } from './oracle/client.js';
import { checkCandidate, describe as describeMismatch } from './oracle/consensus.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'oracle');
const CASES = (JSON.parse(readFileSync(path.join(FIXTURES, 'cases.json'), 'utf8')) as { cases: OracleCase[] }).cases;
const REFERENCES = readdirSync(path.join(FIXTURES, 'expected'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(path.join(FIXTURES, 'expected', f), 'utf8')) as Recording);

/** Each waiver: a case all five answer 200 that RFC 9112 says to reject, and we do. */
const WAIVERS: Record<string, string> = {
  http11_no_host: 'RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host',
  host_duplicate: 'RFC 9112 §3.2: two Host headers MUST get 400 (a cache-poisoning vector)',
  header_obs_fold: 'RFC 9112 §5.2: obs-fold may be rejected; the Python servers keep CR/LF or mangle it',
  path_no_leading_slash: 'RFC 9112 §3.2.1: "x" is not an origin-form target; llhttp refuses it',
};

describe('the environ oracle', () => {
  let server: RunningCli;
  let got: Recording;
  before(async () => {
    server = await startCli([path.join(FIXTURES, 'app.ts') + ':application', '--bind', '127.0.0.1:0']);
    got = { server: 'tsgi', cases: {} };
    // One connection per case, one after the other, as the references were recorded.
    for (const c of CASES) got.cases[c.name] = await runCase(c, '127.0.0.1', server.port);
  });
  after(() => server.stop());

  it('has the five recordings and every case in each', () => {
    assert.deepEqual(REFERENCES.map((r) => r.server).sort(), ['gunicorn', 'uwsgi', 'waitress', 'werkzeug', 'wsgiref']);
    for (const r of REFERENCES) assert.deepEqual(Object.keys(r.cases).sort(), CASES.map((c) => c.name).sort(), r.server);
  });

  it('builds the environ the five Python servers agree on', { timeout: 180_000 }, () => {
    const verdict = checkCandidate(got, REFERENCES, new Set(Object.keys(WAIVERS)));
    assert.deepEqual(verdict.mismatches.map(describeMismatch), []);
    // The consensus covers the environ of every case, not a handful of values (778 when recorded).
    assert.ok(verdict.checked >= 700, `only ${verdict.checked} consensus values were checked`);
    assert.ok(verdict.waived > 0 && verdict.waived < 100, `${verdict.waived} values waived`);
  });

  it('refuses each waived case with 400 (a waiver hides nothing else)', () => {
    for (const name of Object.keys(WAIVERS)) {
      assert.deepEqual(
        got.cases[name]!.responses.map((r) => r.status),
        [400],
        `${name} is refused with 400`,
      );
    }
  });

  it('the comparison catches a wrong value, a missing key and an extra key', () => {
    const bent = structuredClone(got);
    const env = bent.cases.get_root!.responses[0]!.environ!;
    env.PATH_INFO = '/elsewhere';
    delete env.QUERY_STRING;
    env.HTTP_X_INVENTED = 'yes';
    const found = checkCandidate(bent, REFERENCES, new Set(Object.keys(WAIVERS))).mismatches.map((m) => `${m.case} ${m.key} ${m.got}`);
    assert.deepEqual(found.sort(), ['get_root HTTP_X_INVENTED yes', 'get_root PATH_INFO /elsewhere', 'get_root QUERY_STRING <absent>']);
  });
});
