import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { type FaultRelay, startFaultRelay } from '../helpers/fault-relay.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { metricValue, scrape } from '../helpers/metrics.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const base = '/files/';
const tus = { 'Tus-Resumable': '1.0.0' };

describe('HEADs queued for a free backend socket', () => {
  let tusd: RunningTusd;
  let relay: FaultRelay;
  let gw: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    relay = await startFaultRelay(tusd.port);
    gw = await startGateway({
      routes: [
        {
          name: 'uploads',
          match: { pathPrefix: base },
          backends: {
            legacy: {
              type: 'tusd',
              url: `${relay.origin}${base}`,
              controlConnections: 1,
              connectTimeout: '300ms',
            },
          },
        },
      ],
    });
  });

  after(async () => {
    await gw.stop();
    await relay.close();
    await tusd.stop();
  });

  test('wait for their turn: the connect timeout is not spent in the queue', {
    timeout: 30_000,
  }, async () => {
    const created = await request(`${gw.url}${base}`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '10' },
    });
    await created.body.dump();
    assert.equal(created.statusCode, 201);
    const location = created.headers.location as string;

    // Each HEAD takes at least 2 × 250 ms at the backend (the relay holds both directions), one
    // at a time over the one connection: the last waits well past the 300 ms connect timeout.
    relay.setMode({ kind: 'latency', ms: 250 });
    const heads = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const head = await request(location, { method: 'HEAD', headers: tus });
        await head.body.dump();
        return { status: head.statusCode, offset: head.headers['upload-offset'] };
      }),
    );
    relay.setMode({ kind: 'pass' });
    assert.deepEqual(
      heads,
      heads.map(() => ({ status: 200, offset: '0' })),
    );
    const metrics = await scrape(gw.adminUrl);
    assert.equal(
      metricValue(metrics, 'tusgate_backend_errors_total', {
        route: 'uploads',
        backend: 'legacy',
        kind: 'connect',
      }),
      0,
    );
  });
});
