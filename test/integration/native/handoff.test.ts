import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { handoffSweptMarker } from '../../../src/backends/native/cleanup.ts';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { newUploadId } from '../../../src/backends/native/upload-id.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { exists, tempDir } from '../../helpers/files.ts';
import { cliEntry, nodeBinary, startGateway } from '../../helpers/gateway.ts';
import { metricValue, scrape } from '../../helpers/metrics.ts';
import { type NativeGateway, nativeConfig, startNativeGateway } from '../../helpers/native.ts';

const run = promisify(execFile);
const tus = { 'Tus-Resumable': '1.0.0' };
const octets = { ...tus, 'Content-Type': 'application/offset+octet-stream' };
const day = 86_400_000;

describe('native hand-off folder: DELETE removes the link', () => {
  let gw: NativeGateway;
  before(async () => {
    gw = await startNativeGateway();
  });
  after(() => gw?.stopAndRemove());

  test('DELETE of a finished upload removes its hand-off link; a replaced file stays', async () => {
    const upload = async () => {
      const created = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...octets, 'Upload-Length': '3' },
        body: 'abc',
      });
      assert.equal(created.status, 201);
      const url = created.headers.get('location')!;
      return { url, link: join(gw.handoffDir, url.slice(url.lastIndexOf('/') + 1)) };
    };
    const finished = await upload();
    assert.equal(await readFile(finished.link, 'utf8'), 'abc');
    const deleted = await fetch(finished.url, { method: 'DELETE', headers: tus });
    assert.equal(deleted.status, 204);
    assert.equal(await exists(finished.link), false);

    const replaced = await upload();
    await writeFile(`${replaced.link}.new`, 'Galaxy wrote this');
    await rename(`${replaced.link}.new`, replaced.link);
    assert.equal((await fetch(replaced.url, { method: 'DELETE', headers: tus })).status, 204);
    assert.equal(await readFile(replaced.link, 'utf8'), 'Galaxy wrote this');
  });
});

describe('scheduled cleanup in the server', () => {
  test('removes an expired upload’s hand-off link and counts it (no id label)', async (t) => {
    const dir = await tempDir('tusgate-handoff-scheduled-');
    t.after(() => dir.remove());
    const raw = nativeConfig(dir.path, { store: { cleanupInterval: '100ms' } });
    const store = new DateShardedStore('main', validateConfig(raw).stores.main!);
    // Made before the server starts, so its first cleanup run finds it complete.
    const id = newUploadId(Date.now() - 10 * day);
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
    await writeFile(store.pathsFor(id).data, 'x');
    const link = await store.handOff(id);
    assert.ok(link && (await exists(link)));
    const gw = await startGateway(raw);
    t.after(() => gw.stop());
    let text = await scrape(gw.adminUrl);
    const removed = () =>
      metricValue(text, 'tusgate_cleanup_handoff_links_removed_total', { store: 'main' });
    for (let attempt = 0; attempt < 200 && removed() < 1; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      text = await scrape(gw.adminUrl);
    }
    assert.equal(removed(), 1);
    assert.equal(await exists(link!), false);
    assert.doesNotMatch(text, new RegExp(id));
  });
});

describe('tusgate cleanup --config F [--dry-run] and hand-off links', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let configFile: string;
  const root = () => join(dir.path, 'store');
  const handoffDir = () => join(dir.path, 'handoff');

  before(async () => {
    dir = await tempDir('tusgate-handoff-cli-');
    await mkdir(handoffDir());
    configFile = join(dir.path, 'tusgate.yaml');
    await writeFile(
      configFile,
      stringify({
        logging: { pretty: false },
        stores: {
          main: {
            type: 'date-sharded',
            root: root(),
            handoffDir: handoffDir(),
            expiresAfter: '7d',
            handoffExpiresAfter: '1d',
          },
        },
        routes: [
          {
            name: 'u',
            match: { pathPrefix: '/files/' },
            backends: { native: { type: 'native', store: 'main' } },
          },
        ],
      }),
    );
  });
  after(() => dir?.remove());

  test('dry run names the links it would remove; the real run removes only those', async () => {
    // Finished uploads made in the past (an id carries its creation time), handed off as on finish.
    const config = validateConfig({
      ...parse(await readFile(configFile, 'utf8')),
      server: { listen: '127.0.0.1:0' },
    });
    const store = new DateShardedStore('main', config.stores.main!);
    const finished = async (daysAgo: number) => {
      const madeAt = Date.now() - daysAgo * day;
      const id = newUploadId(madeAt);
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
      const { data } = store.pathsFor(id);
      await writeFile(data, 'x');
      const at = new Date(madeAt + 60_000);
      await utimes(data, at, at);
      await store.handOff(id);
      return id;
    };
    const expired = await finished(10);
    const swept = await finished(3);
    const fresh = await finished(0);
    const legacy = join(handoffDir(), 'b'.repeat(32));
    await writeFile(legacy, 'a tusd upload');

    const dry = await run(nodeBinary, [cliEntry, 'cleanup', '--config', configFile, '--dry-run']);
    const line = JSON.parse(dry.stdout.trim().split('\n').at(-1)!);
    assert.match(line.msg, /would remove/);
    assert.deepEqual(
      [...line.handoffLinks].sort(),
      [join(handoffDir(), expired), join(handoffDir(), swept)].sort(),
    );
    for (const id of [expired, swept, fresh])
      assert.equal(await exists(join(handoffDir(), id)), true);
    assert.equal(await exists(store.pathsFor(expired).data), true);
    assert.equal(
      await exists(join(root(), store.pathsFor(swept).folder, handoffSweptMarker)),
      false,
    );

    const real = await run(nodeBinary, [cliEntry, 'cleanup', '--config', configFile]);
    const done = JSON.parse(real.stdout.trim().split('\n').at(-1)!);
    assert.equal(done.removedHandoffLinks, 2);
    assert.equal(await exists(join(handoffDir(), expired)), false);
    assert.equal(await exists(join(handoffDir(), swept)), false);
    assert.equal(await exists(store.pathsFor(swept).data), true, 'swept: data stays');
    assert.equal(await exists(store.pathsFor(expired).data), false, 'expired: data goes');
    assert.equal(await exists(join(handoffDir(), fresh)), true);
    assert.equal(await readFile(legacy, 'utf8'), 'a tusd upload');
  });
});
