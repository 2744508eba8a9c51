import assert from 'node:assert/strict';
import { access, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pino from 'pino';
import { MemoryLocker } from '../../../src/backends/locking/memory-locker.ts';
import type { CleanupReport } from '../../../src/backends/native/cleanup.ts';
import { StoreRegistry } from '../../../src/backends/native/store-registry.ts';
import type { DateShardedStoreConfig } from '../../../src/config/schema/index.ts';
import { tempDir } from '../../helpers/files.ts';

const quiet = pino({ level: 'silent' });
const store = (
  root: string,
  extra: Partial<DateShardedStoreConfig> = {},
): DateShardedStoreConfig => ({
  type: 'date-sharded',
  root,
  layout: '{year}/{month}/{day}',
  expiresAfter: 3_600_000,
  cleanupInterval: 3_600_000,
  ...extra,
});

describe('store registry', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('tusgate-registry-');
  });
  afterEach(() => dir.remove());

  test('prepare changes nothing in force; commit does', () => {
    const registry = new StoreRegistry(
      { a: store(join(dir.path, 'a')) },
      new MemoryLocker(),
      quiet,
    );
    const before = registry.get('a');
    const next = registry.prepare({ b: store(join(dir.path, 'b')) });
    assert.equal(registry.get('a'), before);
    assert.throws(() => registry.get('b'));
    registry.commit(next);
    assert.throws(() => registry.get('a'));
    assert.equal(registry.get('b').store.location, join(dir.path, 'b'));
    registry.close();
  });

  test('every store and generation uses the one locker it was given', async () => {
    const root = join(dir.path, 'files');
    await mkdir(root);
    await symlink(root, join(dir.path, 'alias'));
    const locker = new MemoryLocker();
    const registry = new StoreRegistry({ a: store(root) }, locker, quiet);
    assert.equal(registry.get('a').locker, locker);
    const unchanged = registry.prepare({ a: store(root) });
    assert.equal(unchanged.get('a'), registry.get('a'), 'an unchanged store carries over');
    const renamed = registry.prepare({
      b: store(join(dir.path, 'alias'), { expiresAfter: 60_000 }),
      c: store(join(dir.path, 'elsewhere')),
    });
    assert.equal(renamed.get('b').locker, locker);
    assert.equal(renamed.get('c').locker, locker);
    registry.close();
  });

  test('a cleanup under way when its store leaves the config removes nothing more', async () => {
    const root = join(dir.path, 'files');
    const expired: string[] = [];
    for (const year of ['2019', '2020', '2021']) {
      const folder = join(root, year, '01', '01');
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'upload.info'), '{}');
      expired.push(folder);
    }
    const reports: (CleanupReport | Error)[] = [];
    const registry = new StoreRegistry(
      { main: store(root) },
      new MemoryLocker(),
      quiet,
      (_name, outcome) => reports.push(outcome),
    );
    const run = registry.runCleanup(registry.get('main'));
    registry.commit(registry.prepare({}));
    await run;
    assert.equal((reports[0] as CleanupReport).removedFolders.length, 0);
    for (const folder of expired) await access(folder);
    // Nor does a store that was only prepared, never put in force.
    const main = registry.prepare({ main: store(root) });
    await registry.runCleanup(main.get('main'));
    assert.equal(reports.length, 1, 'a store not in force cleaned up');
  });
});
