import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { SqliteAffinityStore } from '../../../src/gateway/affinity/sqlite-affinity-store.ts';
import { tempDir } from '../../helpers/files.ts';

test('the sqlite table keeps owners across reopening, in WAL mode, its folder created', async (t) => {
  const dir = await tempDir('tusgate-sqlite-');
  t.after(() => dir.remove());
  const path = join(dir.path, 'nested', 'owners.sqlite');
  const first = new SqliteAffinityStore(path, { ttlMs: 60_000 });
  await first.set('abc', { backend: 'tusd', principal: 'alice', length: 5 });
  await first.set('abc', { backend: 'tusd', principal: 'alice', length: 7 });
  await first.checkReady();
  await first.close();

  const second = new SqliteAffinityStore(path, { ttlMs: 60_000 });
  t.after(() => second.close());
  assert.deepEqual(await second.get('abc'), { backend: 'tusd', principal: 'alice', length: 7 });
  assert.equal(await second.get('other'), undefined);
  const peek = new DatabaseSync(path);
  t.after(() => peek.close());
  assert.deepEqual({ ...peek.prepare('PRAGMA journal_mode').get() }, { journal_mode: 'wal' });
});

test('expired entries are not answered, and purging removes them in batches', async (t) => {
  const dir = await tempDir('tusgate-sqlite-');
  t.after(() => dir.remove());
  const path = join(dir.path, 'owners.sqlite');
  let clock = 1_000_000;
  const store = new SqliteAffinityStore(path, {
    ttlMs: 30,
    purgeIntervalMs: 3_600_000,
    now: () => clock,
  });
  t.after(() => store.close());
  for (let index = 0; index < 2500; index++) {
    await store.set(`old-${index}`, { backend: 'tusd', principal: null });
  }
  clock += 30;
  assert.equal(await store.get('old-1'), undefined, 'expired: as if never written');
  await store.set('new', { backend: 'tusd', principal: 'bob' });
  assert.equal(await store.purgeExpired(), 2500);
  const peek = new DatabaseSync(path);
  t.after(() => peek.close());
  assert.deepEqual({ ...peek.prepare('SELECT count(*) AS n FROM ownership').get() }, { n: 1 });
  assert.deepEqual(await store.get('new'), { backend: 'tusd', principal: 'bob' });
});

test('a table another writer holds locked is not ready, and recovers', async (t) => {
  const dir = await tempDir('tusgate-sqlite-');
  t.after(() => dir.remove());
  const path = join(dir.path, 'owners.sqlite');
  const store = new SqliteAffinityStore(path, { ttlMs: 60_000 });
  t.after(() => store.close());
  const intruder = new DatabaseSync(path);
  t.after(() => intruder.close());
  intruder.exec('BEGIN EXCLUSIVE');
  await assert.rejects(store.checkReady(), /locked/);
  await assert.rejects(store.set('x', { backend: 'tusd', principal: 'a' }), /locked/);
  intruder.exec('ROLLBACK');
  await store.checkReady();
});
