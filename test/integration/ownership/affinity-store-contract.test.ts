import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import {
  type AffinityStore,
  MemoryAffinityStore,
} from '../../../src/gateway/affinity/affinity-store.ts';
import { RedisAffinityStore } from '../../../src/gateway/affinity/redis-affinity-store.ts';
import { SqliteAffinityStore } from '../../../src/gateway/affinity/sqlite-affinity-store.ts';
import { tempDir } from '../../helpers/files.ts';

/**
 * The contract every owner/affinity table keeps, run against each: SQLite (a temporary file),
 * Redis (the machine's Redis on 6379, a key prefix of this run's own) and memory. `open` gives a
 * handle on one table; a second handle stands for a restart (or another process) where the store
 * is durable or shared.
 */
interface StoreUnderTest {
  name: string;
  /** A fresh table; `open()` may be called again for another handle on it. */
  table(): Promise<{ open: () => AffinityStore; remove: () => Promise<void> }>;
  /** A second handle sees what the first wrote (durable or shared). */
  shared: boolean;
}

const stores: StoreUnderTest[] = [
  {
    name: 'sqlite',
    shared: true,
    table: async () => {
      const dir = await tempDir('tusgate-affinity-contract-');
      const path = join(dir.path, 'owners.sqlite');
      return { open: () => new SqliteAffinityStore(path, { ttlMs: 60_000 }), remove: dir.remove };
    },
  },
  {
    name: 'redis',
    shared: true,
    table: async () => {
      const keyPrefix = `tusgate-test:${randomUUID()}:affinity:`;
      const log = pino({ level: 'silent' });
      return {
        open: () =>
          new RedisAffinityStore('redis://127.0.0.1:6379/0', { keyPrefix, ttlMs: 60_000, log }),
        remove: async () => {},
      };
    },
  },
  {
    name: 'memory',
    shared: false,
    table: async () => ({ open: () => new MemoryAffinityStore(), remove: async () => {} }),
  },
];

for (const { name, table, shared } of stores) {
  describe(`owner table contract: ${name}`, () => {
    const setUp = async (t: { after: (fn: () => Promise<void>) => void }) => {
      const made = await table();
      const store = made.open();
      t.after(async () => {
        await store.close();
        await made.remove();
      });
      return { store, open: made.open };
    };

    test('an entry written is read back as written; unknown ids are undefined', async (t) => {
      const { store } = await setUp(t);
      await store.checkReady();
      assert.equal(typeof store.kind, 'string');
      const id = randomUUID().replaceAll('-', '');
      assert.equal(await store.get(id), undefined);
      await store.set(id, { backend: 'tusd', principal: 'alice', length: 1024 });
      assert.deepEqual(await store.get(id), { backend: 'tusd', principal: 'alice', length: 1024 });
      assert.equal(await store.get(`${id}x`), undefined);
    });

    test('anonymous owners and deferred lengths are kept as null, not dropped', async (t) => {
      const { store } = await setUp(t);
      const id = randomUUID();
      await store.set(id, { backend: 'legacy', principal: null, length: null });
      assert.deepEqual(await store.get(id), { backend: 'legacy', principal: null, length: null });
    });

    test('a second write of an id replaces the first', async (t) => {
      const { store } = await setUp(t);
      const id = randomUUID();
      await store.set(id, { backend: 'a', principal: 'alice', length: 5 });
      await store.set(id, { backend: 'b', principal: 'alice', length: 7 });
      assert.deepEqual(await store.get(id), { backend: 'b', principal: 'alice', length: 7 });
    });

    test('ids are exact: no prefix, case or separator matches another', async (t) => {
      const { store } = await setUp(t);
      await store.set('abc', { backend: 'a', principal: 'alice', length: 1 });
      for (const other of ['ab', 'abcd', 'ABC', 'abc ', '%61bc']) {
        assert.equal(await store.get(other), undefined, other);
      }
    });

    if (shared) {
      test('another handle on the table (a restart, another process) sees the entries', async (t) => {
        const { store, open } = await setUp(t);
        const id = randomUUID();
        await store.set(id, { backend: 'tusd', principal: 'bob', length: 3 });
        const other = open();
        t.after(() => other.close());
        assert.deepEqual(await other.get(id), { backend: 'tusd', principal: 'bob', length: 3 });
      });
    }
  });
}
