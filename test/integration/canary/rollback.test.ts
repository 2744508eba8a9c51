import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isNativeUploadId } from '../../../src/backends/native/upload-id.ts';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { nativeBase, nativeConfig } from '../../helpers/native.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const adminToken = 'test-admin-token-0123456789';

async function metricValue(gw: RunningGateway, line: string): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found ? Number(found.slice(found.lastIndexOf(' ') + 1)) : 0;
}

describe('canary rollback', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-rollback-');
  });
  after(async () => {
    await tusd?.stop();
    await dir?.remove();
  });

  async function gatewayWith(storeRoot: string): Promise<RunningGateway> {
    const raw = nativeConfig(dir.path, {
      store: { root: storeRoot },
      backends: { legacy: { type: 'tusd', url: tusd.url } },
      create: 'legacy',
      route: {
        canary: {
          backend: 'native',
          weight: 100,
          sticky: 'none',
          rollback: { window: '1m', threshold: 0.5, minRequests: 10 },
        },
      },
    });
    return startGateway({ ...raw, server: { adminToken } });
  }

  const create = async (gw: RunningGateway) => {
    const response = await fetch(`${gw.url}${nativeBase}`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '4' },
    });
    return response;
  };

  test('a failing store rolls the canary back to 0; reset brings it back', async () => {
    // The store root is a regular file: every creation on the canary fails with a 5xx.
    const broken = join(dir.path, 'not-a-folder');
    await writeFile(broken, 'x');
    const gw = await gatewayWith(broken);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await create(gw)).status);
      assert.ok(
        statuses.every((status) => status === 500),
        statuses.join(','),
      );
      const afterRollback = await create(gw);
      assert.equal(afterRollback.status, 201);
      assert.ok(!isNativeUploadId(afterRollback.headers.get('location')!.split('/').pop()!));
      assert.equal(await metricValue(gw, 'tusgate_canary_rollbacks_total{route="uploads"}'), 1);
      assert.equal(
        await metricValue(gw, 'tusgate_canary_weight_percent{route="uploads",kind="effective"}'),
        0,
      );
      assert.ok(
        gw.logs().some((line) => line.level === 50 && /rolled back/.test(String(line.msg))),
      );

      const unauthorised = await fetch(`${gw.adminUrl}/admin/routes`);
      assert.equal(unauthorised.status, 401);
      const auth = { Authorization: `Bearer ${adminToken}` };
      const routes = (await (
        await fetch(`${gw.adminUrl}/admin/routes`, { headers: auth })
      ).json()) as { routes: { canary: Record<string, unknown> }[] };
      const canary = routes.routes[0]!.canary;
      assert.equal(canary.configuredWeight, 100);
      assert.equal(canary.effectiveWeight, 0);
      assert.equal(canary.rolledBack, true);

      const reset = await fetch(`${gw.adminUrl}/admin/routes/uploads/reset`, {
        method: 'POST',
        headers: auth,
      });
      assert.equal(reset.status, 200);
      assert.equal((await create(gw)).status, 500, 'back on the (still broken) canary');
      const malformed = await fetch(`${gw.adminUrl}/admin/routes/%E0%A4%A/reset`, {
        method: 'POST',
        headers: auth,
      });
      assert.equal(malformed.status, 400, 'a malformed route name is a 400, not a crash');
      assert.equal((await fetch(`${gw.adminUrl}/healthz`)).status, 200);
    } finally {
      await gw.stop();
    }
  });

  test('healthy 4xx answers (offset conflicts, checksum mismatches) never roll back', async () => {
    const gw = await gatewayWith(join(dir.path, 'store'));
    try {
      const created = await create(gw);
      const url = created.headers.get('location')!;
      assert.ok(isNativeUploadId(url.split('/').pop()!));
      const octets = { ...tus, 'Content-Type': 'application/offset+octet-stream' };
      for (let i = 0; i < 30; i++) {
        const conflict = await fetch(url, {
          method: 'PATCH',
          headers: { ...octets, 'Upload-Offset': '2' },
          body: 'ab',
        });
        assert.equal(conflict.status, 409);
        const mismatch = await fetch(url, {
          method: 'PATCH',
          headers: {
            ...octets,
            'Upload-Offset': '0',
            'Upload-Checksum': `sha1 ${createHash('sha1').update('nope').digest('base64')}`,
          },
          body: 'abcd',
        });
        assert.equal(mismatch.status, 460);
        assert.equal((await fetch(`${url}x`, { method: 'HEAD', headers: tus })).status, 404);
      }
      assert.equal(await metricValue(gw, 'tusgate_canary_rollbacks_total{route="uploads"}'), 0);
      const next = await create(gw);
      assert.ok(isNativeUploadId(next.headers.get('location')!.split('/').pop()!));
    } finally {
      await gw.stop();
    }
  });
});
