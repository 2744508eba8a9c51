import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processBodyBudget } from '../../../src/backends/native/body-budget.ts';
import { Metrics } from '../../../src/observability/metrics.ts';

test('tusgate_native_body_buffered_bytes reports the bytes held by body writers when scraped', async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  metrics.readBodyBuffered(() => processBodyBudget.held);
  const before = processBodyBudget.held;
  processBodyBudget.take(4096);
  try {
    const text = await metrics.registry.metrics();
    assert.match(text, new RegExp(`^tusgate_native_body_buffered_bytes ${before + 4096}$`, 'm'));
  } finally {
    processBodyBudget.give(4096);
  }
  const after = await metrics.registry.metrics();
  assert.match(after, new RegExp(`^tusgate_native_body_buffered_bytes ${before}$`, 'm'));
});
