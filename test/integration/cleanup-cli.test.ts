import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { DateShardedStore } from '../../src/backends/native/store.ts';
import { newUploadId } from '../../src/backends/native/upload-id.ts';
import { exists, tempDir } from '../helpers/files.ts';
import { cliEntry, nodeBinary, startGateway } from '../helpers/gateway.ts';
import { metricValue, scrape } from '../helpers/metrics.ts';

const day = 86_400_000;

test('tusgate cleanup from cron: needs no admin token, and the running server reports its run', {
  timeout: 60_000,
}, async (t) => {
  const dir = await tempDir('tusgate-cleanup-cli-');
  t.after(() => dir.remove());
  const storeConfig = {
    type: 'date-sharded' as const,
    root: join(dir.path, 'store'),
    layout: '{year}/{month}/{day}',
    expiresAfter: '7d',
    cleanupInterval: '1h',
  };
  const store = new DateShardedStore('main', {
    ...storeConfig,
    expiresAfter: 7 * day,
    cleanupInterval: 3_600_000,
  });
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
  const routes = [
    {
      name: 'u',
      match: { pathPrefix: '/files/' },
      backends: { native: { type: 'native', store: 'main' } },
    },
  ];
  const gw = await startGateway({ stores: { main: storeConfig }, routes });
  t.after(() => gw.stop());
  const metric = async (name: string, labels: Record<string, string>) =>
    metricValue(await scrape(gw.adminUrl), name, labels);
  assert.equal(await metric('tusgate_cleanup_runs_total', { store: 'main', result: 'success' }), 0);

  // The server's config, as a deployment writes it: the admin token comes from its environment.
  const configFile = join(dir.path, 'tusgate.yaml');
  await writeFile(
    configFile,
    stringify({
      server: { adminToken: '${TUSGATE_ADMIN_TOKEN}' },
      logging: { pretty: false },
      stores: { main: storeConfig },
      routes,
    }),
  );
  const env = { ...process.env };
  delete env.TUSGATE_ADMIN_TOKEN;
  const run = spawnSync(nodeBinary, [cliEntry, 'cleanup', '--config', configFile], {
    encoding: 'utf8',
    env,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(await exists(store.pathsFor(id).data), false);

  const record = JSON.parse(
    await readFile(join(storeConfig.root, '.tusgate-cleanup.json'), 'utf8'),
  );
  assert.equal(record.ok, true);
  for (let scrapes = 0; scrapes < 2; scrapes++) {
    // Counted once, however often /metrics is read.
    assert.equal(
      await metric('tusgate_cleanup_runs_total', { store: 'main', result: 'success' }),
      1,
    );
    assert.equal(await metric('tusgate_uploads_expired_total', { store: 'main' }), 1);
    assert.equal(await metric('tusgate_cleanup_removed_files_total', { store: 'main' }), 2);
    assert.equal(
      await metric('tusgate_cleanup_last_success_timestamp_seconds', { store: 'main' }),
      record.finishedAt / 1000,
    );
  }

  // A config whose stores themselves are wrong is still refused.
  await writeFile(
    configFile,
    stringify({ stores: { main: { ...storeConfig, root: '' } }, routes }),
  );
  const refused = spawnSync(nodeBinary, [cliEntry, 'cleanup', '--config', configFile], {
    encoding: 'utf8',
    env,
  });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /stores\.main\.root/);
});
