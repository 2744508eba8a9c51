import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { cleanupStore } from '../../../src/backends/native/cleanup.ts';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { newUploadId } from '../../../src/backends/native/upload-id.ts';
import { exists, tempDir } from '../../helpers/files.ts';
import { cliEntry, nodeBinary } from '../../helpers/gateway.ts';

const day = 86_400_000;
const now = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('cleanup of a date-sharded store', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let store: DateShardedStore;

  beforeEach(async () => {
    dir = await tempDir('tusgate-cleanup-');
    store = new DateShardedStore('main', {
      type: 'date-sharded',
      root: join(dir.path, 'store'),
      layout: '{year}/{month}/{day}',
      expiresAfter: 7 * day,
      cleanupInterval: 3_600_000,
    });
  });
  afterEach(() => dir.remove());

  /** Creates an upload as if made `daysAgo` days before `now` (a back-dated UUIDv7 id). */
  async function uploadMade(daysAgo: number): Promise<string> {
    const id = newUploadId(now - daysAgo * day);
    await store.create(
      store.newInfo(id, {
        Size: 1,
        SizeIsDeferred: false,
        MetaData: {},
        IsPartial: false,
        IsFinal: false,
        PartialUploads: null,
      }),
    );
    return store.pathsFor(id).data;
  }

  test('removes day folders past the TTL and keeps newer ones', async () => {
    const old = [await uploadMade(40), await uploadMade(10), await uploadMade(8)];
    const young = [await uploadMade(6), await uploadMade(1), await uploadMade(0)];
    const report = await cleanupStore(store, { now });
    for (const path of old) assert.equal(await exists(path), false, path);
    for (const path of young) assert.equal(await exists(path), true, path);
    assert.equal(report.removedFiles, 6, 'data and info of three uploads');
    // October is wholly past the TTL: its month folder goes in one piece.
    assert.deepEqual(report.removedFolders.sort(), ['2026/10', '2026/11/15', '2026/11/17']);
    assert.equal(report.operations.unlink, 6);
  });

  test('docs/operating.md: tusgate_uploads_expired_total counts finished uploads too', async () => {
    const unfinished = await uploadMade(9);
    const finished = await uploadMade(9);
    const id = finished.slice(finished.lastIndexOf('/') + 1);
    await writeFile(finished, 'x');
    const { info } = (await store.load(id))!;
    await store.saveInfo({ ...info, Offset: 1 });
    const report = await cleanupStore(store, { now });
    assert.equal(await exists(unfinished), false);
    assert.equal(await exists(finished), false);
    assert.equal(report.removedUploads, 2, 'the metric is fed from this count');
  });

  test('the day exactly at the TTL boundary stays until its whole day has passed', async () => {
    const boundary = await uploadMade(7);
    await cleanupStore(store, { now });
    assert.equal(await exists(boundary), true);
    await cleanupStore(store, { now: now + day });
    assert.equal(await exists(boundary), false);
  });

  test('--dry-run reports and deletes nothing', async () => {
    const old = await uploadMade(9);
    const report = await cleanupStore(store, { now, dryRun: true });
    assert.equal(await exists(old), true);
    assert.equal(report.removedFiles, 2);
    assert.equal(report.operations.unlink, 0);
  });

  test('a folder with an upload being written is skipped this time', async () => {
    const old = await uploadMade(9);
    const folder = store.pathsFor(old.slice(old.lastIndexOf('/') + 1)).folder;
    const report = await cleanupStore(store, { now, busyFolders: new Set([folder]) });
    assert.equal(await exists(old), true);
    assert.deepEqual(report.skippedFolders, [folder]);
  });

  test('with nothing to expire it lists folders only: one readdir per year, month and day', async () => {
    for (let index = 0; index < 5; index++) await uploadMade(index);
    const report = await cleanupStore(store, { now });
    assert.equal(report.removedFiles, 0);
    // The root, the year 2026 and the month 2026/11: never the day folders holding uploads.
    assert.equal(report.operations.readdir, 3);
  });

  test('foreign folders that do not fit the layout are left alone', async () => {
    await uploadMade(30);
    const foreign = join(store.root, 'lost+found');
    await mkdir(foreign);
    await writeFile(join(store.root, 'README'), 'not ours');
    const report = await cleanupStore(store, { now });
    assert.deepEqual(report.removedFolders, ['2026/10']);
    assert.equal(await exists(join(store.root, 'README')), true);
    assert.equal(await exists(foreign), true);
  });

  test('tusgate cleanup --config F [--dry-run] runs it from the command line', async () => {
    const id = newUploadId(Date.now() - 30 * day);
    await store.create(
      store.newInfo(id, {
        Size: 1,
        SizeIsDeferred: false,
        MetaData: {},
        IsPartial: false,
        IsFinal: false,
        PartialUploads: null,
      }),
    );
    const configFile = join(dir.path, 'tusgate.yaml');
    await writeFile(
      configFile,
      stringify({
        logging: { pretty: false },
        stores: { main: { type: 'date-sharded', root: store.root, expiresAfter: '7d' } },
        routes: [
          {
            name: 'u',
            match: { pathPrefix: '/files/' },
            backends: { native: { type: 'native', store: 'main' } },
          },
        ],
      }),
    );
    const dry = spawnSync(nodeBinary, [cliEntry, 'cleanup', '--config', configFile, '--dry-run'], {
      encoding: 'utf8',
    });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /would remove/);
    assert.match(dry.stdout, /"removedFiles":2/);
    assert.equal(await exists(store.pathsFor(id).data), true);
    const real = spawnSync(nodeBinary, [cliEntry, 'cleanup', '--config', configFile], {
      encoding: 'utf8',
    });
    assert.equal(real.status, 0, real.stderr);
    assert.match(real.stdout, /"durationMs":\d+/);
    assert.equal(await exists(store.pathsFor(id).data), false);
  });
});
