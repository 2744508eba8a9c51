import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  amqpUrl,
  closeAllBrokerConnections,
  consumeQueue,
  type QueueConsumer,
} from '../../helpers/amqp.ts';
import { randomFile, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { eventually } from '../../helpers/hook-receiver.ts';
import { scrape, seriesSum } from '../../helpers/metrics.ts';
import { tusUpload } from '../../helpers/tus-client.ts';

interface HookMessage {
  Type: string;
  Event: { Upload: { ID: string; Offset: number; Size: number } };
}

describe('AMQP hooks on RabbitMQ', () => {
  const suffix = randomUUID().slice(0, 8);
  const jsonExchange = `tusgate-hooks-${suffix}`;
  const celeryExchange = `tusgate-celery-${suffix}`;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let file: string;
  let json: QueueConsumer;
  let celery: QueueConsumer;

  before(async () => {
    dir = await tempDir('tusgate-amqp-');
    file = await randomFile(dir.path, 512 * 1024 + 3);
    json = await consumeQueue(jsonExchange, 'topic', 'tusgate.#');
    celery = await consumeQueue(celeryExchange, 'direct', 'celery');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'json',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [
            {
              type: 'amqp',
              url: amqpUrl,
              exchange: jsonExchange,
              events: ['post-create', 'post-finish', 'post-terminate'],
              retries: 20,
              retryDelay: '100ms',
            },
          ],
        },
        {
          name: 'celery',
          match: { pathPrefix: '/celery/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [
            {
              type: 'amqp',
              url: amqpUrl,
              exchange: celeryExchange,
              exchangeType: 'direct',
              routingKey: 'celery',
              format: 'celery',
              task: 'galaxy.tus.{event}',
              events: ['post-finish'],
            },
          ],
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await json?.close();
    await celery?.close();
    await dir?.remove();
  });

  const hooksFor = (consumer: QueueConsumer, id: string) =>
    consumer.messages
      .map((message) => JSON.parse(message.content.toString()) as HookMessage)
      .filter((hook) => hook.Event.Upload.ID === id);

  test('each event of an upload arrives once, durable and persistent, with its routing key', async () => {
    const deliveries = (text: string, event: string, result: string) =>
      seriesSum(text, 'tusgate_hook_deliveries_total', { route: 'json', event, result });
    const before = await scrape(gw.adminUrl);
    const result = await tusUpload(file, { endpoint: `${gw.url}/files/`, chunkSize: 128 * 1024 });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    await eventually(() => hooksFor(json, id).some((hook) => hook.Type === 'post-finish'));
    // A duplicate can only come from a retry. Once the sink has nothing queued, each event was
    // published exactly once and never retried, so no copy can still be on its way.
    let settled = '';
    for (let attempt = 0; ; attempt++) {
      settled = await scrape(gw.adminUrl);
      if (seriesSum(settled, 'tusgate_hook_queued', { route: 'json' }) === 0) break;
      assert.ok(attempt < 200, 'the json sink never emptied its queue');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const event of ['post-create', 'post-finish']) {
      assert.equal(deliveries(settled, event, 'success') - deliveries(before, event, 'success'), 1);
      assert.equal(deliveries(settled, event, 'retry') - deliveries(before, event, 'retry'), 0);
    }
    assert.deepEqual(
      hooksFor(json, id).map((hook) => hook.Type),
      ['post-create', 'post-finish'],
    );
    const message = json.messages.find((m) => m.fields.routingKey === 'tusgate.post-finish');
    assert.ok(message);
    assert.equal(message.properties.deliveryMode, 2, 'persistent');
    assert.equal(message.properties.contentType, 'application/json');
    assert.equal(hooksFor(json, id)[1]!.Event.Upload.Offset, 512 * 1024 + 3);
  });

  test('format celery: a Celery protocol-2 task message carrying the hook', async () => {
    const result = await tusUpload(file, { endpoint: `${gw.url}/celery/` });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    const mine = () =>
      celery.messages.filter((message) => {
        const [args] = JSON.parse(message.content.toString()) as [HookMessage[]];
        return args[0]?.Event.Upload.ID === id;
      });
    await eventually(() => mine().length > 0);
    const message = mine()[0]!;
    const headers = message.properties.headers as Record<string, unknown>;
    assert.equal(headers.task, 'galaxy.tus.post-finish');
    assert.equal(headers.lang, 'py');
    assert.match(String(headers.id), /^[0-9a-f-]{36}$/);
    assert.equal(headers.root_id, headers.id);
    assert.equal(message.properties.correlationId, headers.id);
    assert.equal(message.properties.contentType, 'application/json');
    assert.equal(message.properties.contentEncoding, 'utf-8');
    const [args, kwargs, embed] = JSON.parse(message.content.toString()) as [
      HookMessage[],
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    assert.equal(args.length, 1);
    assert.equal(args[0]!.Type, 'post-finish');
    assert.deepEqual(kwargs, {});
    assert.deepEqual(embed, { callbacks: null, errbacks: null, chain: null, chord: null });
  });

  test('a broker-side connection close loses no post-finish event', async () => {
    // Warm the gateway's connection, then cut every connection from the broker.
    await tusUpload(file, { endpoint: `${gw.url}/files/` });
    await closeAllBrokerConnections();
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) {
      const result = await tusUpload(file, { endpoint: `${gw.url}/files/` });
      ids.push(result.url.slice(result.url.lastIndexOf('/') + 1));
    }
    await json.reconnect();
    await celery.reconnect();
    for (const id of ids) {
      await eventually(
        () => hooksFor(json, id).some((hook) => hook.Type === 'post-finish'),
        20_000,
      );
    }
  });
});
