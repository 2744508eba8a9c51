import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry } from 'prom-client';
import { Metrics } from '../../../src/observability/metrics.ts';

/** What the primary of `server.workers` serves: prom-client's aggregation of each worker's metrics. */
async function aggregated(workers: Metrics[]): Promise<string> {
  const all = await Promise.all(workers.map((metrics) => metrics.registry.getMetricsAsJSON()));
  return AggregatorRegistry.aggregate(all).metrics();
}

function value(text: string, series: string): number {
  const line = text.split('\n').find((each) => each.startsWith(series));
  assert.ok(line, `${series} is served`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('across workers: counters and load gauges sum; up, canary weight, reloads and cleanup time do not', async () => {
  const [a, b] = [new Metrics({ defaultMetrics: false }), new Metrics({ defaultMetrics: false })];
  const labels = { route: 'r', backend: 'native' };
  a.observeRequest({ ...labels, method: 'POST' }, 201, 0.01);
  b.observeRequest({ ...labels, method: 'POST' }, 201, 0.02);
  b.observeRequest({ ...labels, method: 'POST' }, 201, 0.02);
  a.activeUploads.set(labels, 3);
  b.activeUploads.set(labels, 4);
  a.openConnections.set(5);
  b.openConnections.set(6);
  a.backendUp.set(labels, 1);
  b.backendUp.set(labels, 0);
  a.canaryWeight.set({ route: 'r', kind: 'effective' }, 10);
  b.canaryWeight.set({ route: 'r', kind: 'effective' }, 0);
  a.configReloads.inc({ result: 'success' }, 2);
  b.configReloads.inc({ result: 'success' }, 2);
  a.cleanupLastSuccess.set({ store: 'main' }, 100);
  b.cleanupLastSuccess.set({ store: 'main' }, 0);

  const text = await aggregated([a, b]);
  const requests =
    'tusgate_requests_total{route="r",backend="native",method="POST",status_class="2xx"}';
  assert.equal(value(text, requests), 3);
  assert.equal(
    value(text, 'tusgate_request_duration_seconds_count{route="r",backend="native",method="POST"}'),
    3,
  );
  assert.equal(value(text, 'tusgate_uploads_active{route="r",backend="native"}'), 7);
  assert.equal(value(text, 'tusgate_connections_open'), 11);
  assert.equal(value(text, 'tusgate_backend_up{route="r",backend="native"}'), 0, 'down in one');
  assert.equal(value(text, 'tusgate_canary_weight_percent{route="r",kind="effective"}'), 0);
  assert.equal(value(text, 'tusgate_config_reloads_total{result="success"}'), 2, 'once per reload');
  assert.equal(value(text, 'tusgate_cleanup_last_success_timestamp_seconds{store="main"}'), 100);
});
