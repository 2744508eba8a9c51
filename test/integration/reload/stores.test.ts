import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { newUploadId } from '../../../src/backends/native/upload-id.ts';
import { validateConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/schema/index.ts';
import { exists, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway, withFreePorts } from '../../helpers/gateway.ts';
import { eventually } from '../../helpers/hook-receiver.ts';
import { metricValue, scrape } from '../../helpers/metrics.ts';

const day = 86_400_000;
const tus = { 'Tus-Resumable': '1.0.0' };

/** A store whose cleanup runs every 40 ms and expires uploads older than an hour. */
const store = (root: string) => ({
  type: 'date-sharded',
  root,
  expiresAfter: '1h',
  cleanupInterval: '40ms',
});
const route = (name: string, prefix: string, storeName: string) => ({
  name,
  match: { pathPrefix: prefix },
  backends: { native: { type: 'native', store: storeName, lockTimeout: '300ms' } },
});
/** Polls an asynchronous condition (a file's presence) until it holds. */
async function eventuallyAsync(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
const configOf = (raw: Record<string, unknown>): Config => validateConfig(withFreePorts(raw));

/**
 * An upload made two days ago (a back-dated id): expired for a one-hour TTL. Returns its info
 * path. A cleanup running meanwhile may remove its folder mid-write: then it is made again.
 */
async function expiredUpload(root: string): Promise<string> {
  const writer = new DateShardedStore('writer', {
    type: 'date-sharded',
    root,
    layout: '{year}/{month}/{day}',
    cleanupInterval: 3_600_000,
  });
  for (let attempt = 0; ; attempt++) {
    const id = newUploadId(Date.now() - 2 * day);
    try {
      await writer.create(
        writer.newInfo(id, {
          Size: 1,
          SizeIsDeferred: false,
          MetaData: {},
          IsPartial: false,
          IsFinal: false,
          PartialUploads: null,
        }),
      );
      return writer.pathsFor(id).info;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 20) throw error;
    }
  }
}

/**
 * Creates a 1000-byte upload and starts a PATCH that sends 100 bytes and holds its lock (seen in
 * the gateway's lock metrics). `handOver` sends a PATCH that cannot write (a wrong offset): it
 * asks the holder to let go when both share a locker (the holder answers 400, the probe 409 at
 * offset 100); with a lock table of its own the probe would not reach the holder at all.
 */
async function holdUploadLock(url: string, adminUrl: string) {
  const created = await fetch(`${url}/files/`, {
    method: 'POST',
    headers: { ...tus, 'Upload-Length': '1000' },
  });
  assert.equal(created.status, 201);
  const location = new URL(created.headers.get('location') as string, url).href;
  const acquired = async () =>
    metricValue(await scrape(adminUrl), 'tusgate_lock_acquisitions_total', {
      locker: 'memory',
      result: 'acquired',
    });
  const before = await acquired();
  const holder = request(location, {
    method: 'PATCH',
    headers: {
      ...tus,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': '1000',
    },
  });
  const answer = new Promise<number>((resolve, reject) => {
    holder.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    holder.on('error', reject);
  });
  holder.write(Buffer.alloc(100, 1));
  // The holder's request may not have reached the lock yet: wait until it has.
  for (let attempt = 0; (await acquired()) === before; attempt++) {
    assert.ok(attempt < 200, 'the first PATCH never took the lock');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const handOver = async () => {
    const probe = await fetch(location, {
      method: 'PATCH',
      headers: {
        ...tus,
        'Upload-Offset': '999',
        'Content-Type': 'application/offset+octet-stream',
      },
      body: Buffer.alloc(1),
    });
    holder.destroy();
    return { probe: probe.status, holder: await answer.catch(() => 0) };
  };
  return { handOver };
}

describe('config reload and the stores', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway | undefined;

  beforeEach(async () => {
    dir = await tempDir('tusgate-reload-');
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await dir.remove();
  });

  /** Cleanup runs of a store logged so far. */
  const cleanups = (name: string) =>
    gw!.logs().filter((entry) => entry.msg === 'cleanup finished' && entry.store === name).length;
  /** Waits until `name` has finished `runs` more cleanups: a clock made of the gateway's own work. */
  const moreCleanups = async (name: string, runs: number) => {
    const target = cleanups(name) + runs;
    await eventually(() => cleanups(name) >= target, 15_000);
  };

  test('a reload naming a hand-off folder that does not exist is refused, naming the key; nothing is created', async () => {
    const root = join(dir.path, 'store');
    const handoff = join(dir.path, 'galaxy', 'tus_upload_store');
    await mkdir(handoff, { recursive: true });
    const raw = (handoffDir: string) => ({
      stores: { main: { ...store(root), handoffDir } },
      routes: [route('files', '/files/', 'main')],
    });
    gw = await startGateway(raw(handoff));
    const typo = join(dir.path, 'galaxy', 'tus_uplaod_store');
    assert.equal(gw.gateway.reload(configOf(raw(typo))), false);
    assert.equal(await exists(typo), false, 'the mistyped folder was created');
    const refused = gw
      .logs()
      .find((entry) => String(entry.msg).startsWith('configuration reload refused'));
    const issues = (refused as { issues?: { path: string; message: string }[] } | undefined)
      ?.issues;
    assert.equal(issues?.[0]?.path, 'stores.main.handoffDir');
    assert.match(issues?.[0]?.message ?? '', /does not exist/);
    // The running config still hands off into the real folder.
    const created = await fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '0' },
    });
    assert.equal(created.status, 201);
    const id = (created.headers.get('location') ?? '').split('/').at(-1) ?? '';
    assert.equal(await exists(join(handoff, id)), true);
  });

  test('a store dropped by a reload cleans up no more', async () => {
    const keep = join(dir.path, 'keep');
    const gone = join(dir.path, 'gone');
    gw = await startGateway({
      stores: { keep: store(keep), gone: store(gone) },
      routes: [route('files', '/files/', 'keep'), route('other', '/other/', 'gone')],
    });
    await eventually(() => cleanups('gone') >= 1 && cleanups('keep') >= 1, 15_000);

    const accepted = gw.gateway.reload(
      configOf({ stores: { keep: store(keep) }, routes: [route('files', '/files/', 'keep')] }),
    );
    assert.equal(accepted, true, 'the reload was refused');
    // A run of the dropped store already under way when the reload came may still finish.
    await moreCleanups('keep', 2);
    const goneRuns = cleanups('gone');
    const left = await expiredUpload(gone);
    await moreCleanups('keep', 4);
    assert.equal(cleanups('gone'), goneRuns, 'the dropped store ran a cleanup after the reload');
    assert.equal(await exists(left), true, 'something deleted under the dropped root');
  });

  test('a store renamed onto the same files keeps one locker across the generations', async () => {
    const root = join(dir.path, 'store');
    await mkdir(root, { recursive: true });
    // The same folder by another path: stores are compared by their real root.
    const alias = join(dir.path, 'alias');
    await symlink(root, alias);
    gw = await startGateway({
      stores: { old: store(root) },
      routes: [route('files', '/files/', 'old')],
    });
    const { handOver } = await holdUploadLock(gw.url, gw.adminUrl);

    const accepted = gw.gateway.reload(
      configOf({
        stores: { renamed: store(alias) },
        routes: [route('files', '/files/', 'renamed')],
      }),
    );
    assert.equal(accepted, true, 'the reload was refused');
    assert.deepEqual(
      await handOver(),
      { probe: 409, holder: 400 },
      'a request on the new generation asks the holder of the old one to hand over',
    );
  });

  test('a store whose root changed cleans up under the new root only', async () => {
    const first = join(dir.path, 'first');
    const second = join(dir.path, 'second');
    gw = await startGateway({
      stores: { main: store(first) },
      routes: [route('files', '/files/', 'main')],
    });
    await eventually(() => cleanups('main') >= 1, 15_000);
    const accepted = gw.gateway.reload(
      configOf({ stores: { main: store(second) }, routes: [route('files', '/files/', 'main')] }),
    );
    assert.equal(accepted, true, 'the reload was refused');
    await moreCleanups('main', 2);

    const underOld = await expiredUpload(first);
    const underNew = await expiredUpload(second);
    await eventuallyAsync(async () => !(await exists(underNew)));
    await moreCleanups('main', 3);
    assert.equal(await exists(underOld), true, 'the old root was still cleaned');
  });

  test('a reload whose runtime cannot be built leaves the stores, locks and timers as they were', async () => {
    const first = join(dir.path, 'first');
    const second = join(dir.path, 'second');
    const raw = { stores: { main: store(first) }, routes: [route('files', '/files/', 'main')] };
    gw = await startGateway(raw);
    await eventually(() => cleanups('main') >= 1, 15_000);
    const { handOver } = await holdUploadLock(gw.url, gw.adminUrl);

    // Valid but for one route whose backend cannot be built (its store is not there): the
    // store set changes (a new root) before the routes are built.
    const broken = configOf({
      stores: { main: store(second) },
      routes: [route('files', '/files/', 'main'), route('other', '/other/', 'main')],
    });
    (broken.routes[1]!.backends.native as { store: string }).store = 'missing';
    // Refused by its answer, not by throwing: a throw would reach the reload's caller (SIGHUP,
    // the file watcher) and take the process down.
    assert.equal(gw.gateway.reload(broken), false);

    await moreCleanups('main', 2);
    const underOld = await expiredUpload(first);
    const underNew = await expiredUpload(second);
    // Today's root is still cleaned (its timer was not stopped), the refused one never.
    await eventuallyAsync(async () => !(await exists(underOld)));
    await moreCleanups('main', 3);
    assert.equal(await exists(underNew), true, 'the refused root was cleaned');

    // The store in force kept its lock table: a later reload that leaves the store as it is
    // (here, the same config again) still excludes the PATCH running since the first one.
    assert.equal(gw.gateway.reload(configOf(raw)), true, 'the reload was refused');
    assert.deepEqual(
      await handOver(),
      { probe: 409, holder: 400 },
      'the store got a second lock table',
    );

    const metrics = await scrape(gw.adminUrl);
    assert.equal(metricValue(metrics, 'tusgate_config_reloads_total', { result: 'failure' }), 1);
    assert.ok(
      gw
        .logs()
        .some(
          (entry) =>
            entry.msg ===
            'configuration reload refused; the previous configuration stays in effect',
        ),
    );
  });
});
