import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { HookConfig } from '../../../src/config/schema/hooks.ts';
import { DeliveryQueue } from '../../../src/hooks/delivery-queue.ts';
import type { HookSink } from '../../../src/hooks/sinks/sink.ts';
import type { HookEvent } from '../../../src/hooks/types.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { hookEvent } from '../../helpers/hook-event.ts';

const event = hookEvent;

/** A sink that records what it is sent and holds every send until released. */
function heldSink() {
  const sent: HookEvent[] = [];
  let release: () => void = () => {};
  let gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sink: HookSink = {
    type: 'http',
    name: 'http#0',
    config: { retries: 0, retryDelay: 1 } as HookConfig,
    send: async (hook) => {
      await gate;
      sent.push(hook);
      return {};
    },
    close: async () => {},
  };
  return {
    sink,
    sent,
    release: () => {
      release();
      gate = Promise.resolve();
    },
  };
}

test('waiting progress events of an upload collapse to the latest; lifecycle events stay in order', async () => {
  const { sink, sent, release } = heldSink();
  const queue = new DeliveryQueue(sink, 'r', {
    log: pino({ level: 'silent' }),
    metrics: new Metrics({ defaultMetrics: false }),
  });
  queue.push({ event: event('post-create', 'a'), headers: {} });
  for (const offset of [10, 20, 30]) {
    queue.push({ event: event('post-receive', 'a', offset), headers: {} });
  }
  queue.push({ event: event('post-finish', 'a', 100), headers: {} });
  queue.push({ event: event('post-receive', 'b', 5), headers: {} });
  assert.equal(
    queue.pending,
    4,
    'post-create in flight, one progress of a, post-finish, progress of b',
  );
  release();
  await queue.drain(1_000);
  const ofA = sent.filter((hook) => hook.Event.Upload.ID === 'a');
  assert.deepEqual(
    ofA.map((hook) => [hook.Type, hook.Event.Upload.Offset]),
    [
      ['post-create', 0],
      ['post-receive', 30],
      ['post-finish', 100],
    ],
  );
  assert.equal(sent.filter((hook) => hook.Event.Upload.ID === 'b').length, 1);
});
