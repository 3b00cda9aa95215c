// The guestbook's two stores hold to one contract (newest first, ids, reopen keeps data), and its
// signed session cookie refuses what was not signed with its key. SQLite runs where node:sqlite exists
// (Node >= 22.5: CI's Node 24 pass); the JSON store always.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { SessionCookie, loadKey } from '../../examples/guestbook/session.js';
import { loadSqlite, openStore } from '../../examples/guestbook/store.js';

const sqlite = await loadSqlite();

for (const kind of ['sqlite', 'json'] as const) {
  const skip = kind === 'sqlite' && sqlite.sqlite === null ? sqlite.reason : false;
  test(`the ${kind} store: entries and files newest first, unique ids under concurrent writes, kept across a reopen`, { skip }, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `tsgi-guestbook-${kind}-`));
    try {
      let store = await openStore(dir, kind);
      assert.equal(store.kind, kind);
      assert.deepEqual(await store.entries(), []);
      const added = await Promise.all(Array.from({ length: 20 }, (_, i) => store.addEntry(`name ${i}`, `message ${i} 'quoted' "too"`)));
      assert.deepEqual(new Set(added.map((e) => e.id)).size, 20, 'every entry has its own id');
      const f = await store.addFile({ filename: 'a.txt', storedAs: 'uuid-1', size: 3, contentType: 'text/plain', uploader: 'Ann' });
      await store.addFile({ filename: 'b.bin', storedAs: 'uuid-2', size: 2 ** 40, contentType: 'application/octet-stream', uploader: 'Bob' });
      await store.close();

      store = await openStore(dir, kind);
      const entries = await store.entries();
      assert.equal(entries.length, 20);
      assert.deepEqual(
        entries.map((e) => e.id),
        [...added.map((e) => e.id)].sort((a, b) => b - a),
        'newest first',
      );
      assert.equal((await store.entries(5)).length, 5);
      const last = added.find((e) => e.id === entries[0]!.id)!;
      assert.deepEqual(entries[0], last);
      assert.deepEqual(
        (await store.files()).map((x) => x.filename),
        ['b.bin', 'a.txt'],
      );
      assert.deepEqual(await store.file(f.id), f);
      assert.equal((await store.file(f.id + 1))?.size, 2 ** 40);
      assert.equal(await store.file(999), undefined);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

describe('the signed session cookie', () => {
  const cookie = new SessionCookie(Buffer.alloc(32, 7), 'guestbook_session', 60);
  const other = new SessionCookie(Buffer.alloc(32, 8), 'guestbook_session', 60);

  test('round-trips its data and refuses changed, foreign, expired and malformed values', () => {
    const value = cookie.encode({ name: 'Zoë', flashes: [{ kind: 'ok', text: 'hi' }] });
    assert.deepEqual(cookie.decode(value), { name: 'Zoë', flashes: [{ kind: 'ok', text: 'hi' }] });
    const [body, sig] = value.split('.');
    const changed = Buffer.from(JSON.stringify({ name: 'Mallory', exp: 4102444800 })).toString('base64url');
    assert.equal(cookie.decode(`${changed}.${sig}`), null, 'data changed under the old signature');
    assert.equal(other.decode(value), null, 'signed with another key');
    assert.equal(cookie.decode(value, Date.now() + 61000), null, 'expired');
    for (const bad of ['', '.', `${body}`, `${body}.`, `.${sig}`, `${body}.${sig}x`, 'a.b.c', `${Buffer.from('not json').toString('base64url')}.${sig}`]) {
      assert.equal(cookie.decode(bad), null, JSON.stringify(bad));
    }
    // Signed but not the shape expected: only the known fields of the right types are taken.
    const odd = cookie.encode({
      name: 5,
      flashes: [
        { kind: 'x', text: 1 },
        { kind: 'error', text: 'ok' },
      ],
    } as never);
    assert.deepEqual(cookie.decode(odd), { flashes: [{ kind: 'error', text: 'ok' }] });
  });

  test('a short key is refused; workers starting together share one generated development key', async () => {
    assert.throws(() => new SessionCookie(Buffer.alloc(8)), RangeError);
    await assert.rejects(loadKey('/nonexistent', { GUESTBOOK_SECRET_KEY: 'short' }), RangeError);
    assert.equal((await loadKey('/nonexistent', { GUESTBOOK_SECRET_KEY: 'x'.repeat(32) })).source, 'GUESTBOOK_SECRET_KEY');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsgi-guestbook-key-'));
    try {
      const keys = await Promise.all(Array.from({ length: 8 }, () => loadKey(dir, {})));
      assert.equal(new Set(keys.map((k) => Buffer.from(k.key).toString('hex'))).size, 1);
      assert.equal(keys[0]!.key.length, 32);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
