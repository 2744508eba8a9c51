import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { randomFile, tempDir } from '../../helpers/files.ts';
import { type GatewayProcess, startGatewayProcess } from '../../helpers/gateway.ts';
import { hookEvent } from '../../helpers/hook-event.ts';
import { eventually, type HookReceiver, startHookReceiver } from '../../helpers/hook-receiver.ts';
import { scrape, seriesSum } from '../../helpers/metrics.ts';
import { tusUpload } from '../../helpers/tus-client.ts';

describe('hook journal', () => {
  let receiver: HookReceiver;
  let dir: { path: string; remove: () => Promise<void> };
  let file: string;
  let config: Record<string, unknown>;
  const running: GatewayProcess[] = [];

  before(async () => {
    receiver = await startHookReceiver();
    dir = await tempDir('tusgate-hook-journal-');
    file = await randomFile(dir.path, 100_003);
    config = {
      hookJournal: join(dir.path, 'journal'),
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'files',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [
            {
              type: 'http',
              url: receiver.url,
              events: ['post-create', 'post-finish'],
              retries: 50,
              retryDelay: '50ms',
            },
          ],
        },
      ],
    };
  });
  after(async () => {
    for (const gateway of running) await gateway.stop('SIGKILL');
    await receiver?.close();
    await dir?.remove();
  });

  const start = async (withConfig = config) => {
    const gateway = await startGatewayProcess(withConfig);
    running.push(gateway);
    return gateway;
  };
  const typesOf = (id: string) =>
    receiver.hooks.filter((hook) => hook.Event.Upload.ID === id).map((hook) => hook.Type);

  test('events owed when the process is killed are sent after the restart', async () => {
    await receiver.stop();
    const first = await start();
    const result = await tusUpload(file, { endpoint: `${first.url}/files/` });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    await first.stop('SIGKILL');
    await receiver.start();
    assert.deepEqual(typesOf(id), []);
    const second = await start();
    await eventually(() => typesOf(id).includes('post-finish'), 15_000);
    assert.deepEqual(typesOf(id), ['post-create', 'post-finish']);
    await second.stop();
  });

  test('events owed at a graceful stop wait in the journal, not in memory', async () => {
    await receiver.stop();
    const first = await start();
    const result = await tusUpload(file, { endpoint: `${first.url}/files/` });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    assert.equal(await first.stop('SIGTERM'), 0);
    await receiver.start();
    const second = await start();
    await eventually(() => typesOf(id).includes('post-finish'), 15_000);
    assert.deepEqual(typesOf(id), ['post-create', 'post-finish']);
    // Delivered events are not sent again by the next start.
    await second.stop();
    // Owed events are queued while the process starts, before it listens: a third start that
    // owed anything would show it queued, or delivered, in its first scrape.
    const third = await start();
    const metrics = await scrape(third.adminUrl);
    assert.equal(seriesSum(metrics, 'tusgate_hook_queued'), 0);
    assert.equal(
      seriesSum(metrics, 'tusgate_hook_deliveries_total'),
      0,
      'something was sent again',
    );
    assert.deepEqual(typesOf(id), ['post-create', 'post-finish']);
    await third.stop();
  });

  test('after a restart owed lifecycle events are delivered and owed progress is not replayed', async () => {
    const journalDir = join(dir.path, 'journal-progress');
    const withProgress = {
      ...config,
      hookJournal: journalDir,
      routes: (config.routes as Record<string, unknown>[]).map((route) => ({
        ...route,
        hooks: [
          {
            type: 'http',
            url: receiver.url,
            events: ['post-create', 'post-receive', 'post-finish'],
            retries: 50,
            retryDelay: '50ms',
          },
        ],
      })),
    };
    await receiver.stop();
    const first = await start(withProgress);
    const result = await tusUpload(file, { endpoint: `${first.url}/files/` });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    await first.stop('SIGKILL');
    // Progress owed before the lifecycle events, as a version that journaled it left it: were it
    // replayed, per-upload ordering would deliver it before post-create.
    const [name] = (await readdir(journalDir)).filter((entry) => entry.endsWith('.jsonl'));
    const journalFile = join(journalDir, name as string);
    const owed = await readFile(journalFile, 'utf8');
    assert.match(owed, /post-finish/);
    const progress = { i: 900, s: 0, e: hookEvent('post-receive', id, 50_000), h: {} };
    await writeFile(journalFile, `${JSON.stringify(progress)}\n${owed}`);

    await receiver.start();
    const second = await start(withProgress);
    await eventually(() => typesOf(id).includes('post-finish'), 15_000);
    assert.deepEqual(typesOf(id), ['post-create', 'post-finish']);
    await second.stop();
  });
});
