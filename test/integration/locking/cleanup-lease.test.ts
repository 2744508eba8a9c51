import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { cleanupLockId } from '../../../src/backends/locking/locker.ts';
import { RedisLocker } from '../../../src/backends/locking/redis-locker.ts';
import { cleanupUnderLock } from '../../../src/backends/native/locked-cleanup.ts';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { newUploadId } from '../../../src/backends/native/upload-id.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { exists, tempDir } from '../../helpers/files.ts';
import { cliEntry, nodeBinary } from '../../helpers/gateway.ts';

/**
 * Cleanup through the Redis locker (the machine's Redis, a key prefix of this run's own): the
 * folders of uploads any process holds stay, and one run at a time holds the store's lease —
 * in the server and in `tusgate cleanup` from cron alike.
 */
const day = 86_400_000;
const quiet = pino({ level: 'silent' });
const redisUrl = 'redis://127.0.0.1:6379/0';

async function setUp(t: { after: (fn: () => Promise<unknown>) => void }) {
  const dir = await tempDir('tusgate-cleanup-lease-');
  const keyPrefix = `tusgate-test:${randomUUID()}:`;
  const raw = {
    stores: { main: { type: 'date-sharded', root: join(dir.path, 'store'), expiresAfter: '1h' } },
    locking: { type: 'redis', url: redisUrl, keyPrefix },
    routes: [
      {
        name: 'up',
        match: { pathPrefix: '/files/' },
        backends: { n: { type: 'native', store: 'main' } },
      },
    ],
  };
  const store = new DateShardedStore('main', validateConfig(raw).stores.main!);
  const lockers: RedisLocker[] = [];
  const open = () => {
    const locker = new RedisLocker(redisUrl, { keyPrefix, ttlMs: 5000, log: quiet });
    lockers.push(locker);
    return locker;
  };
  t.after(async () => {
    for (const locker of lockers) await locker.close();
    await dir.remove();
  });
  // Two uploads of two days ago, in two day folders: both expired for a one-hour TTL.
  const uploads = [2, 3].map((days) => newUploadId(Date.now() - days * day));
  for (const id of uploads) {
    await store.create(
      store.newInfo(id, {
        Size: 10,
        SizeIsDeferred: false,
        MetaData: {},
        IsPartial: false,
        IsFinal: false,
        PartialUploads: null,
      }),
    );
  }
  return { dir, raw, store, open, uploads: uploads as [string, string] };
}

async function ready(locker: RedisLocker): Promise<RedisLocker> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (
      await locker.checkReady().then(
        () => true,
        () => false,
      )
    )
      return locker;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('redis locker never ready');
}

test('cleanup keeps the folder of an upload another process holds, and runs one at a time', async (t) => {
  const { store, open, uploads } = await setUp(t);
  const [held, free] = uploads;
  const replica = await ready(open());
  const cleaner = await ready(open());

  const cleaning = await replica.acquire(cleanupLockId('main'), { waitMs: 0 });
  assert.ok(cleaning);
  assert.equal(await cleanupUnderLock(store, cleaner), null, 'another run holds the lease');
  await cleaning.release();

  const lease = await replica.acquire(held, { waitMs: 0 });
  assert.ok(lease);
  const report = await cleanupUnderLock(store, cleaner);
  assert.ok(report);
  assert.deepEqual(report.skippedFolders, [store.pathsFor(held).folder]);
  assert.equal(await exists(store.pathsFor(held).data), true);
  assert.equal(await exists(store.pathsFor(free).data), false);
  await lease.release();

  const after = await cleanupUnderLock(store, cleaner);
  assert.deepEqual(after?.removedFolders, [store.pathsFor(held).folder]);
});

test('`tusgate cleanup` from cron sees the servers’ locks through Redis', async (t) => {
  const { dir, raw, store, open, uploads } = await setUp(t);
  const [held, free] = uploads;
  const configFile = join(dir.path, 'tusgate.yaml');
  await writeFile(configFile, stringify({ ...raw, logging: { level: 'info', pretty: false } }));
  const runCleanup = async () => {
    const child = spawn(nodeBinary, [cliEntry, 'cleanup', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    return { code: code as number, output };
  };
  const server = await ready(open());
  const lease = await server.acquire(held, { waitMs: 0 });
  assert.ok(lease);

  const first = await runCleanup();
  assert.equal(first.code, 0, first.output);
  assert.equal(await exists(store.pathsFor(held).data), true, 'removed under a running PATCH');
  assert.equal(await exists(store.pathsFor(free).data), false);

  const cleaning = await server.acquire(cleanupLockId('main'), { waitMs: 0 });
  await lease.release();
  const skipped = await runCleanup();
  assert.equal(skipped.code, 0, skipped.output);
  assert.match(skipped.output, /another process is cleaning this store/);
  assert.equal(await exists(store.pathsFor(held).data), true);
  await cleaning?.release();

  const last = await runCleanup();
  assert.equal(last.code, 0, last.output);
  assert.equal(await exists(store.pathsFor(held).data), false);
});
