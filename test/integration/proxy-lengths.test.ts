import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { eventually, type HookReceiver, startHookReceiver } from '../helpers/hook-receiver.ts';
import { metricValue, scrape, seriesOf } from '../helpers/metrics.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const base = '/files/';
const tus = { 'Tus-Resumable': '1.0.0' };
const octets = { 'Content-Type': 'application/offset+octet-stream' };

async function patch(url: string, offset: number, body: string, extra = {}) {
  const response = await request(url, {
    method: 'PATCH',
    headers: { ...tus, ...octets, 'Upload-Offset': String(offset), ...extra },
    body,
  });
  await response.body.dump();
  assert.equal(response.statusCode, 204);
  return response;
}

describe('proxied uploads whose length the creation did not tell', () => {
  let tusd: RunningTusd;
  let receiver: HookReceiver;
  let dir: { path: string; remove: () => Promise<void> };

  before(async () => {
    tusd = await startTusd();
    receiver = await startHookReceiver();
    dir = await tempDir('tusgate-lengths-');
  });

  after(async () => {
    await receiver.close();
    await tusd.stop();
    await dir.remove();
  });

  const start = () =>
    startGateway({
      affinity: { type: 'sqlite', path: join(dir.path, 'affinity.sqlite') },
      routes: [
        {
          name: 'uploads',
          match: { pathPrefix: base },
          backends: { legacy: { type: 'tusd', url: tusd.url } },
          hooks: [
            {
              type: 'http',
              url: receiver.url,
              events: ['post-finish'],
              observeLegacy: true,
            },
          ],
        },
      ],
    });

  const finished = async (gw: RunningGateway) =>
    metricValue(await scrape(gw.adminUrl), 'tusgate_uploads_finished_total', {
      route: 'uploads',
      backend: 'legacy',
    });

  test('a deferred length declared by an earlier PATCH is kept: its last PATCH finishes it, after a restart too', {
    timeout: 30_000,
  }, async () => {
    const first = await start();
    let location: string;
    try {
      const created = await request(`${first.url}${base}`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Defer-Length': '1' },
      });
      await created.body.dump();
      assert.equal(created.statusCode, 201);
      location = created.headers.location as string;
      await patch(location, 0, 'abc', { 'Upload-Length': '6' });
      assert.equal(await finished(first), 0);
    } finally {
      await first.stop();
    }
    // A new process knows only what the owner table kept.
    const second = await start();
    try {
      const last = await patch(location.replace(first.url, second.url), 3, 'def');
      assert.equal(last.headers['upload-offset'], '6');
      assert.equal(await finished(second), 1);
      const id = location.slice(location.lastIndexOf('/') + 1);
      await eventually(() =>
        receiver.hooks.some((hook) => hook.Type === 'post-finish' && hook.Event.Upload.ID === id),
      );
      const event = receiver.hooks.find((hook) => hook.Event.Upload.ID === id);
      assert.equal(event?.Event.Upload.Size, 6);
      assert.equal(event?.Event.Upload.Offset, 6);
    } finally {
      await second.stop();
    }
  });

  test('an upload made before tusgate is seen to finish: its length comes from the HEAD answer', {
    timeout: 30_000,
  }, async () => {
    // Created and half sent straight at tusd, before tusgate.
    const created = await request(tusd.url, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '6' },
    });
    await created.body.dump();
    const id = (created.headers.location as string).split('/').pop() as string;
    await patch(`${tusd.url}${id}`, 0, 'abc');

    const gw = await start();
    try {
      const url = `${gw.url}${base}${id}`;
      const head = await request(url, { method: 'HEAD', headers: tus });
      await head.body.dump();
      assert.equal(head.headers['upload-offset'], '3');
      await patch(url, 3, 'def');
      assert.equal(await finished(gw), 1);
      await eventually(() =>
        receiver.hooks.some((hook) => hook.Type === 'post-finish' && hook.Event.Upload.ID === id),
      );
    } finally {
      await gw.stop();
    }
  });
});

test('a reload that removes a canary stops reporting its weights', {
  timeout: 30_000,
}, async (t) => {
  const tusd = await startTusd();
  t.after(() => tusd.stop());
  const dir = await tempDir('tusgate-canary-gauge-');
  t.after(() => dir.remove());
  const routes = (canary: boolean) => [
    {
      name: 'uploads',
      match: { pathPrefix: base },
      backends: {
        legacy: { type: 'tusd', url: tusd.url },
        next: { type: 'tusd', url: tusd.url },
      },
      create: 'legacy',
      ...(canary ? { canary: { backend: 'next', weight: 10 } } : {}),
    },
  ];
  const raw = {
    affinity: { type: 'sqlite', path: join(dir.path, 'affinity.sqlite') },
    routes: routes(true),
  };
  const gw = await startGateway(raw);
  t.after(() => gw.stop());
  const weights = async () =>
    [...seriesOf(await scrape(gw.adminUrl))].filter((series) =>
      series.startsWith('tusgate_canary_weight_percent'),
    );
  assert.equal((await weights()).length, 2);
  const { validateConfig } = await import('../../src/config/load.ts');
  const { withFreePorts } = await import('../helpers/gateway.ts');
  assert.equal(
    gw.gateway.reload(validateConfig(withFreePorts({ ...raw, routes: routes(false) }))),
    true,
  );
  assert.deepEqual(await weights(), []);
});
