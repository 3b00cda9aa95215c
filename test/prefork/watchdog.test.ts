// The watchdog's board on its own: what the thread would read (the request on the board, the in-flight
// count) as requests enter and leave the application, alone or overlapping. The thread itself, on a
// really blocked worker, is in master.test.ts (F32 and the timeout tests).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Board } from '../../src/prefork/watchdog.js';
import type { Environ } from '../../src/spec.js';

function read(board: Board): { shown: string; started: number; inFlight: number } {
  const f = new Float64Array(board.sab, 0, 4);
  const len = new Int32Array(board.sab, 32, 1)[0]!;
  const shown = f[1]! > 0 ? new TextDecoder().decode(new Uint8Array(board.sab, 36, len)) : '';
  return { shown, started: f[1]!, inFlight: f[2]! };
}

const req = (path: string) => ({ REQUEST_METHOD: 'GET', SCRIPT_NAME: '', PATH_INFO: path, QUERY_STRING: '' }) as unknown as Environ;

describe('watchdog board', () => {
  it('one request at a time: shown while in the application, none after', () => {
    const b = new Board();
    for (let i = 0; i < 3; i++) {
      const t = b.begin(req(`/r${i}`));
      assert.deepEqual([read(b).shown, read(b).inFlight], [`GET /r${i}`, 1]);
      b.end(t);
      assert.deepEqual([read(b).started, read(b).inFlight], [0, 0]);
    }
  });

  it('overlapping: when the newest ends, the newest still in the application is shown', () => {
    const b = new Board();
    const a = b.begin(req('/a'));
    const c = b.begin(req('/b'));
    const d = b.begin(req('/c'));
    assert.equal(read(b).shown, 'GET /c');
    b.end(d);
    assert.deepEqual([read(b).shown, read(b).inFlight], ['GET /b', 2]);
    b.end(a); // an older one ends: the board keeps the one it shows
    assert.deepEqual([read(b).shown, read(b).inFlight], ['GET /b', 1]);
    b.end(c);
    assert.deepEqual([read(b).started, read(b).inFlight], [0, 0]);
    // Alone again after overlapping, then overlapping again.
    const e = b.begin(req('/e'));
    const g = b.begin(req('/g'));
    b.end(g);
    assert.equal(read(b).shown, 'GET /e');
    b.end(e);
    assert.equal(read(b).inFlight, 0);
  });
});
