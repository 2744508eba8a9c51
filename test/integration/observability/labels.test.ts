import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { metricValue, scrape } from '../../helpers/metrics.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

describe('request labels', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    dir = await tempDir('tusgate-labels-');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: dir.path } },
      routes: [
        {
          name: 'files',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await dir?.remove();
  });

  test('made-up methods (X-HTTP-Method-Override) add no series: they are all "other"', async () => {
    for (const junk of ['JUNK0', 'JUNK1', 'JUNK2']) {
      const response = await fetch(`${gw.url}/files/`, {
        method: 'POST',
        headers: { ...tus, 'X-HTTP-Method-Override': junk },
      });
      assert.equal(response.status, 405);
    }
    const text = await scrape(gw.adminUrl);
    assert.ok(!text.includes('JUNK'));
    assert.equal(
      // Refused before routing: no route label either.
      metricValue(text, 'tusgate_requests_total', {
        route: 'none',
        backend: 'none',
        method: 'other',
        status_class: '4xx',
      }),
      3,
    );
  });

  test('a PATCH whose client leaves mid-body counts as 499, not as a success', async () => {
    const created = await fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '1000000' },
    });
    const url = new URL(created.headers.get('location') ?? '');
    await new Promise<void>((resolve) => {
      const req = request(url, {
        method: 'PATCH',
        headers: {
          ...tus,
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
          'Content-Length': '1000000',
        },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(1000));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const text = await scrape(gw.adminUrl);
    const labels = { route: 'files', backend: 'native', method: 'PATCH' };
    assert.equal(
      metricValue(text, 'tusgate_requests_total', { ...labels, status_class: '2xx' }),
      0,
    );
    assert.equal(
      metricValue(text, 'tusgate_requests_total', { ...labels, status_class: '4xx' }),
      1,
    );
    const line = gw.logs().find((entry) => entry.msg === 'request' && entry.method === 'PATCH');
    assert.equal(line?.status, 499);
  });
});
