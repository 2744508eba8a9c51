import assert from 'node:assert/strict';
import { copyFile, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { cleanupStore, handoffSweptMarker } from '../../../src/backends/native/cleanup.ts';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { newUploadId } from '../../../src/backends/native/upload-id.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { exists, tempDir } from '../../helpers/files.ts';

const day = 86_400_000;
const now = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('hand-off links in cleanup', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let handoffDir: string;

  beforeEach(async () => {
    dir = await tempDir('tusgate-handoff-');
    handoffDir = join(dir.path, 'handoff');
  });
  afterEach(() => dir.remove());

  function storeWith(keys: { handoffExpiresAfter?: number } = {}): DateShardedStore {
    return new DateShardedStore('main', {
      type: 'date-sharded',
      root: join(dir.path, 'store'),
      layout: '{year}/{month}/{day}',
      handoffDir,
      expiresAfter: 7 * day,
      cleanupInterval: 3_600_000,
      ...keys,
    });
  }

  /**
   * A finished upload made `daysAgo` days before `now` and finished a minute later (its data's
   * mtime), handed off like the finish step does. Returns its id.
   */
  async function finishedUpload(store: DateShardedStore, daysAgo: number): Promise<string> {
    const madeAt = now - daysAgo * day;
    const id = newUploadId(madeAt);
    const info = store.newInfo(id, {
      Size: 3,
      SizeIsDeferred: false,
      MetaData: {},
      IsPartial: false,
      IsFinal: false,
      PartialUploads: null,
    });
    await store.create(info);
    const { data } = store.pathsFor(id);
    await writeFile(data, 'abc');
    const finishedAt = new Date(madeAt + 60_000);
    await utimes(data, finishedAt, finishedAt);
    await store.handOff(id);
    return id;
  }

  async function unfinishedUpload(store: DateShardedStore, daysAgo: number): Promise<string> {
    const id = newUploadId(now - daysAgo * day);
    await store.create(
      store.newInfo(id, {
        Size: 3,
        SizeIsDeferred: false,
        MetaData: {},
        IsPartial: false,
        IsFinal: false,
        PartialUploads: null,
      }),
    );
    return id;
  }

  const link = (id: string) => join(handoffDir, id);

  test('an expired day folder takes its links along; other links and legacy files stay', async () => {
    const store = storeWith();
    const old = [await finishedUpload(store, 9), await finishedUpload(store, 9)];
    const young = await finishedUpload(store, 2);
    const legacy = join(handoffDir, 'a'.repeat(32)); // a tusd upload sharing the flat folder
    await writeFile(legacy, 'tusd');
    const report = await cleanupStore(store, { now });
    for (const id of old) assert.equal(await exists(link(id)), false, id);
    assert.equal(await exists(link(young)), true);
    assert.equal(await readFile(legacy, 'utf8'), 'tusd');
    assert.deepEqual(report.removedHandoffLinks.sort(), old.map(link).sort());
    // Two lookups per expired upload with a link (its name, its data), one unlink: nothing else.
    assert.equal(report.operations.stat, 4);
    assert.equal(report.operations.unlink, 4 + 2);
  });

  test('a link replaced by another file is left alone', async () => {
    const store = storeWith();
    const id = await finishedUpload(store, 9);
    await unlink(link(id));
    await writeFile(link(id), 'someone else');
    const report = await cleanupStore(store, { now });
    assert.equal(await readFile(link(id), 'utf8'), 'someone else');
    assert.deepEqual(report.removedHandoffLinks, []);
    assert.equal(await exists(store.pathsFor(id).data), false, 'the upload itself expired');
  });

  test('a copy made across file systems (same size and mtime as the data) counts as ours', async () => {
    const store = storeWith();
    const id = await finishedUpload(store, 9);
    const { data } = store.pathsFor(id);
    await unlink(link(id));
    await copyFile(data, link(id));
    const { atime, mtime } = await stat(data);
    await utimes(link(id), atime, mtime);
    assert.notEqual((await stat(link(id))).ino, (await stat(data)).ino);
    await cleanupStore(store, { now });
    assert.equal(await exists(link(id)), false);
  });

  test('handoffExpiresAfter removes old finished uploads’ links and keeps their data', async () => {
    const store = storeWith({ handoffExpiresAfter: day });
    const old = await finishedUpload(store, 3);
    const unfinished = await unfinishedUpload(store, 3);
    const today = await finishedUpload(store, 0);
    const report = await cleanupStore(store, { now });
    assert.equal(await exists(link(old)), false);
    assert.equal(await exists(store.pathsFor(old).data), true, 'data stays until expiresAfter');
    assert.equal(await exists(store.pathsFor(unfinished).data), true);
    assert.equal(await exists(link(today)), true);
    assert.deepEqual(report.removedHandoffLinks, [link(old)]);
    assert.deepEqual(report.removedFolders, []);
    const folder = store.pathsFor(old).folder;
    assert.deepEqual(report.sweptFolders, [folder]);
    // The unfinished upload is the one id left to look up again when the folder expires.
    const marker = await readFile(join(store.root, folder, handoffSweptMarker), 'utf8');
    assert.equal(marker, `${unfinished}\n`);
  });

  test('a link finished too recently survives the sweep and goes when its folder expires', async () => {
    const store = storeWith({ handoffExpiresAfter: day });
    const id = await finishedUpload(store, 3);
    const justNow = new Date(now - 60_000);
    await utimes(store.pathsFor(id).data, justNow, justNow);
    const sweep = await cleanupStore(store, { now });
    assert.equal(await exists(link(id)), true, 'Galaxy may not have imported it yet');
    assert.deepEqual(sweep.sweptFolders, [store.pathsFor(id).folder]);
    const expiry = await cleanupStore(store, { now: now + 5 * day });
    assert.deepEqual(expiry.removedHandoffLinks, [link(id)]);
    assert.equal(await exists(link(id)), false);
  });

  test('a swept folder’s ids are not looked up again, neither by later runs nor at expiry', async () => {
    const store = storeWith({ handoffExpiresAfter: day });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await finishedUpload(store, 3));
    const first = await cleanupStore(store, { now });
    assert.equal(first.removedHandoffLinks.length, 5);
    // A file of that name reappearing (say, an operator restoring one) shows whether it is looked at.
    await writeFile(link(ids[0]!), 'restored');
    const second = await cleanupStore(store, { now: now + day });
    assert.deepEqual(second.sweptFolders.includes(store.pathsFor(ids[0]!).folder), false);
    assert.deepEqual(second.removedHandoffLinks, []);
    // The walk, plus one lstat of each swept-or-due day folder's marker: no per-upload call.
    assert.equal(second.operations.unlink, 0);
    assert.equal(second.operations.stat, second.sweptFolders.length + 1);
    const expiry = await cleanupStore(store, { now: now + 5 * day });
    assert.deepEqual(expiry.removedFolders, [store.pathsFor(ids[0]!).folder]);
    assert.equal(expiry.operations.stat, 0, 'the marker listed no unsettled ids');
    assert.equal(await readFile(link(ids[0]!), 'utf8'), 'restored');
  });

  test('--dry-run lists the links it would remove and removes nothing, marks nothing', async () => {
    const store = storeWith({ handoffExpiresAfter: day });
    const expired = await finishedUpload(store, 9);
    const swept = await finishedUpload(store, 3);
    const report = await cleanupStore(store, { now, dryRun: true });
    assert.deepEqual(report.removedHandoffLinks.sort(), [link(expired), link(swept)].sort());
    assert.equal(report.operations.unlink, 0);
    for (const id of [expired, swept]) {
      assert.equal(await exists(link(id)), true);
      assert.equal(await exists(store.pathsFor(id).data), true);
    }
    const folder = store.pathsFor(swept).folder;
    assert.equal(await exists(join(store.root, folder, handoffSweptMarker)), false);
  });

  test('removeHandOff (termination) removes our link and nothing else', async () => {
    const store = storeWith();
    const id = await finishedUpload(store, 0);
    assert.equal(await store.removeHandOff(id), 'removed');
    assert.equal(await exists(link(id)), false);
    assert.equal(await store.removeHandOff(id), 'absent');
    const other = await finishedUpload(store, 0);
    await unlink(link(other));
    await writeFile(link(other), 'not ours');
    assert.equal(await store.removeHandOff(other), 'foreign');
    assert.equal(await readFile(link(other), 'utf8'), 'not ours');
  });

  test('handoffExpiresAfter needs handoffDir and expiresAfter, and no longer than expiresAfter', () => {
    const route = {
      name: 'u',
      match: { pathPrefix: '/files/' },
      backends: { native: { type: 'native', store: 'main' } },
    };
    const withStore = (main: Record<string, unknown>) => () =>
      validateConfig({
        stores: { main: { type: 'date-sharded', root: dir.path, ...main } },
        routes: [route],
      });
    assert.throws(withStore({ expiresAfter: '7d', handoffExpiresAfter: '1d' }), /handoffDir/);
    assert.throws(withStore({ handoffDir: handoffDir, handoffExpiresAfter: '1d' }), /expiresAfter/);
    assert.throws(
      withStore({ handoffDir, expiresAfter: '1d', handoffExpiresAfter: '2d' }),
      /stores\.main\.handoffExpiresAfter.*not be longer/s,
    );
    const config = withStore({ handoffDir, expiresAfter: '7d', handoffExpiresAfter: '1d' })();
    assert.equal(new DateShardedStore('main', config.stores.main!).handoffExpiresAfter, day);
    const defaulted = withStore({ handoffDir, expiresAfter: '7d' })();
    assert.equal(new DateShardedStore('main', defaulted.stores.main!).handoffExpiresAfter, 7 * day);
  });
});
