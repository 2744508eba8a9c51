import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { newUploadId } from '../../../src/backends/native/upload-id.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { metricValue, promtoolCheckMetrics, scrape, seriesOf } from '../../helpers/metrics.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const patchHeaders = (offset: number) => ({
  ...tus,
  'Upload-Offset': String(offset),
  'Content-Type': 'application/offset+octet-stream',
});

describe('metrics', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let store: DateShardedStore;

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-metrics-');
    const raw = {
      stores: {
        main: {
          type: 'date-sharded',
          root: join(dir.path, 'store'),
          expiresAfter: '7d',
          cleanupInterval: '300ms',
        },
      },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          backends: { store: { type: 'native', store: 'main' } },
        },
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
      ],
    };
    const config = validateConfig({ ...raw, server: { listen: '127.0.0.1:0' } });
    store = new DateShardedStore('main', config.stores.main!);
    // Two uploads made 30 days ago: the first scheduled cleanup expires them.
    for (const id of [
      newUploadId(Date.now() - 30 * 86_400_000),
      newUploadId(Date.now() - 30 * 86_400_000),
    ]) {
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
    }
    gw = await startGateway(raw);
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  async function create(base: string, length: number, body?: Buffer): Promise<string> {
    const response = await fetch(`${gw.url}${base}`, {
      method: 'POST',
      headers: {
        ...tus,
        'Upload-Length': String(length),
        ...(body ? { 'Content-Type': 'application/offset+octet-stream' } : {}),
      },
      body,
    });
    assert.equal(response.status, 201);
    return new URL(response.headers.get('location')!).pathname;
  }

  async function patch(path: string, offset: number, body: Buffer): Promise<number> {
    const response = await fetch(`${gw.url}${path}`, {
      method: 'PATCH',
      headers: patchHeaders(offset),
      body,
    });
    await response.arrayBuffer();
    return response.status;
  }

  async function remove(path: string): Promise<number> {
    const response = await fetch(`${gw.url}${path}`, { method: 'DELETE', headers: tus });
    return response.status;
  }

  test('a scripted set of uploads shows exactly in the counters', async () => {
    const ten = Buffer.from('0123456789');
    // Native: four created, three finished (one in one PATCH, one in two, one at creation), one
    // terminated; an offset conflict and an unknown id fail as 4xx.
    const n1 = await create('/files/', 10);
    assert.equal(await patch(n1, 0, ten), 204);
    const n2 = await create('/files/', 10);
    assert.equal(await patch(n2, 0, ten.subarray(0, 4)), 204);
    assert.equal(await patch(n2, 7, ten.subarray(4)), 409);
    assert.equal(await patch(n2, 4, ten.subarray(4)), 204);
    const n3 = await create('/files/', 10);
    assert.equal(await remove(n3), 204);
    await create('/files/', 10, ten);
    const missing = await fetch(`${gw.url}/files/${newUploadId()}`, {
      method: 'HEAD',
      headers: tus,
    });
    assert.equal(missing.status, 404);

    // Through tusd: two created, one finished, one terminated, one offset conflict.
    const l1 = await create('/legacy/', 10);
    assert.equal(await patch(l1, 0, ten.subarray(0, 5)), 204);
    assert.equal(await patch(l1, 3, ten.subarray(5)), 409);
    assert.equal(await patch(l1, 5, ten.subarray(5)), 204);
    const l2 = await create('/legacy/', 10);
    assert.equal(await remove(l2), 204);

    // The 30-day-old uploads made before start are expired by the scheduled cleanup.
    let text = await scrape(gw.adminUrl);
    for (let attempt = 0; attempt < 100; attempt++) {
      if (
        metricValue(text, 'tusgate_cleanup_runs_total', { store: 'main', result: 'success' }) > 0
      ) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      text = await scrape(gw.adminUrl);
    }

    const native = { route: 'native', backend: 'store' };
    const legacy = { route: 'legacy', backend: 'tusd' };
    assert.equal(metricValue(text, 'tusgate_uploads_created_total', native), 4);
    assert.equal(metricValue(text, 'tusgate_uploads_finished_total', native), 3);
    assert.equal(metricValue(text, 'tusgate_uploads_terminated_total', native), 1);
    assert.equal(metricValue(text, 'tusgate_uploads_created_total', legacy), 2);
    assert.equal(metricValue(text, 'tusgate_uploads_finished_total', legacy), 1);
    assert.equal(metricValue(text, 'tusgate_uploads_terminated_total', legacy), 1);
    assert.equal(metricValue(text, 'tusgate_uploads_expired_total', { store: 'main' }), 2);
    assert.equal(metricValue(text, 'tusgate_cleanup_removed_files_total', { store: 'main' }), 4);
    assert.ok(
      metricValue(text, 'tusgate_cleanup_last_success_timestamp_seconds', { store: 'main' }) > 0,
    );

    const requests = (route: typeof native, method: string, statusClass: string) =>
      metricValue(text, 'tusgate_requests_total', { ...route, method, status_class: statusClass });
    assert.equal(requests(native, 'POST', '2xx'), 4);
    assert.equal(requests(native, 'PATCH', '2xx'), 3);
    assert.equal(requests(native, 'PATCH', '4xx'), 1);
    assert.equal(requests(native, 'DELETE', '2xx'), 1);
    assert.equal(requests(native, 'HEAD', '4xx'), 1);
    assert.equal(requests(legacy, 'POST', '2xx'), 2);
    assert.equal(requests(legacy, 'PATCH', '2xx'), 2);
    assert.equal(requests(legacy, 'PATCH', '4xx'), 1);
    assert.equal(metricValue(text, 'tusgate_bytes_received_total', native), 30);
    assert.equal(
      metricValue(text, 'tusgate_request_duration_seconds_count', { ...native, method: 'POST' }),
      4,
    );
    assert.equal(metricValue(text, 'tusgate_uploads_active', native), 0);
    assert.equal(metricValue(text, 'tusgate_requests_in_flight'), 0);
    assert.equal(metricValue(text, 'tusgate_backend_errors_total', legacy), 0);
    assert.ok(metricValue(text, 'tusgate_process_cpu_seconds_total') > 0, 'Node default metrics');

    // promtool parses the exposition and lints names. The only findings allowed are prom-client's
    // own default gauges named `*_total` (its names, which dashboards already rely on).
    const check = promtoolCheckMetrics(text);
    const findings = check.output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .filter((line) => !/^tusgate_nodejs_active_\w+_total non-counter metrics/.test(line));
    assert.deepEqual(findings, []);
    assert.ok(check.status === 0 || check.status === 3, `promtool exit ${check.status}`);
  });

  test('backend health and errors: a stopped tusd is down and its failures are counted', async () => {
    const ready = await fetch(`${gw.adminUrl}/readyz`);
    assert.equal(ready.status, 200);
    let text = await scrape(gw.adminUrl);
    assert.equal(metricValue(text, 'tusgate_backend_up', { route: 'legacy', backend: 'tusd' }), 1);
    await tusd.stop();
    const failed = await fetch(`${gw.url}/legacy/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '1' },
    });
    assert.equal(failed.status, 502);
    assert.equal((await fetch(`${gw.adminUrl}/readyz`)).status, 503);
    text = await scrape(gw.adminUrl);
    assert.equal(metricValue(text, 'tusgate_backend_up', { route: 'legacy', backend: 'tusd' }), 0);
    assert.equal(
      metricValue(text, 'tusgate_backend_errors_total', {
        route: 'legacy',
        backend: 'tusd',
        kind: 'connect',
      }),
      1,
    );
  });

  test('1,000 uploads with distinct ids, users and file names add no series', async () => {
    const upload = async (index: number) => {
      const response = await fetch(`${gw.url}/files/`, {
        method: 'POST',
        headers: {
          ...tus,
          'Upload-Length': '3',
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Metadata': `filename ${Buffer.from(`file-${index}.fastq`).toString('base64')}`,
          'X-Forwarded-For': `10.1.${index >> 8}.${index & 255}`,
          'X-Request-Id': `cardinality-${index}`,
        },
        body: 'abc',
      });
      assert.equal(response.status, 201);
      const head = await fetch(response.headers.get('location')!, { method: 'HEAD', headers: tus });
      assert.equal(head.status, 200);
    };
    for (let index = 0; index < 5; index++) await upload(index);
    const before = seriesOf(await scrape(gw.adminUrl));
    for (let batch = 5; batch < 1005; batch += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, offset) => upload(batch + offset)));
    }
    const afterwards = seriesOf(await scrape(gw.adminUrl));
    // Node's GC histogram gains a `kind` label value the first time a kind of GC runs: bounded.
    const added = [...afterwards].filter(
      (series) => !before.has(series) && !series.startsWith('tusgate_nodejs_gc_'),
    );
    assert.deepEqual(added, []);
    for (const series of afterwards) {
      assert.doesNotMatch(series, /cardinality-|file-\d|10\.1\.|[0-9a-f]{8}-[0-9a-f]{4}-7/);
    }
  });
});
