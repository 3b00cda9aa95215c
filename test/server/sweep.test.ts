// The doors' deadline sweep: one interval that runs while there is something to watch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Sweep } from '../../src/server/sweep.js';

test('Sweep.period: an eighth of the shortest timeout, from 20 ms to 250 ms', () => {
  assert.equal(Sweep.period(800), 100);
  assert.equal(Sweep.period(50), 20);
  assert.equal(Sweep.period(60_000), 250);
});

test('ticks with the clock until the tick says nothing is left, then stops; start() is idempotent', async () => {
  const seen: number[] = [];
  const before = Date.now();
  const sweep = new Sweep(20, (now) => {
    seen.push(now);
    return seen.length < 3;
  });
  sweep.start();
  sweep.start();
  assert.equal(sweep.running, true);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(seen.length, 3, 'one interval, not two');
  assert.equal(sweep.running, false);
  assert.ok(seen.every((t) => t >= before));
  sweep.start();
  assert.equal(sweep.running, true);
  sweep.stop();
  assert.equal(sweep.running, false);
});

test('a tick delayed by a held event loop says how late it is; the doors move their deadlines on by that much', async () => {
  const lates: number[] = [];
  const sweep = new Sweep(20, (_now, late) => {
    lates.push(late);
    return true;
  });
  sweep.start();
  await new Promise((r) => setTimeout(r, 60));
  const end = Date.now() + 300;
  while (Date.now() < end); // a synchronous application holding the loop
  const held = lates.length;
  await new Promise((r) => setTimeout(r, 60));
  sweep.stop();
  // The first tick after the hold is ~300 ms late (less one period, the ordinary interval).
  assert.ok(lates[held]! >= 200 && lates[held]! <= 400, `late ${lates[held]} ms after a 300 ms hold (${lates.join(', ')})`);
});

test('a running sweep does not keep the process alive', () => {
  const code = `import { Sweep } from ${JSON.stringify(new URL('../../src/server/sweep.ts', import.meta.url).pathname)}; new Sweep(20, () => true).start();`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.signal, null, 'exited by itself');
});
