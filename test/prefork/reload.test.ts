// Development mode through the real CLI: --reload restarts the workers when a source file changes,
// warns with the production command, and shows application errors on the development error page.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { sleep } from '../helpers/net.js';

const app = (version: string) => `
export function application(environ: Record<string, unknown>, start: (s: string, h: Array<[string, string]>) => unknown) {
  if (environ.PATH_INFO === '/boom') throw new Error('kaboom ${version}');
  start('200 OK', [['Content-Type', 'text/plain']]);
  return ['${version}'];
}
`;

it('--reload serves new code after a change and shows errors on the development page', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-reload-'));
  const file = path.join(dir, 'app.ts');
  writeFileSync(file, app('v1'));
  const cli = await startCli([file, '--bind', '127.0.0.1:0', '--reload'], { cwd: dir });
  try {
    assert.equal(await (await fetch(cli.url)).text(), 'v1');
    assert.match(cli.stderr(), /--reload is for development; in production run: tsgi /);
    const boom = await fetch(`${cli.url}/boom`, { headers: { Accept: 'text/plain' } });
    assert.equal(boom.status, 500);
    assert.match(await boom.text(), /kaboom v1/, 'the development error page shows the exception');
    await sleep(300); // let the watcher settle before the change
    writeFileSync(file, app('v2'));
    let body = '';
    for (let i = 0; i < 150 && body !== 'v2'; i++) {
      await sleep(100);
      body = await fetch(cli.url).then(
        (r) => r.text(),
        () => '',
      );
    }
    assert.equal(body, 'v2', `no reload seen:\n${cli.stderr()}`);
  } finally {
    await cli.stop();
  }
});
