import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isNativeUploadId } from '../../../src/backends/native/upload-id.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway, withFreePorts } from '../../helpers/gateway.ts';
import { nativeBase, nativeConfig } from '../../helpers/native.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

/** A route with tusd as `legacy` (the create backend) and native as the canary. */
function canaryConfig(dir: string, tusdUrl: string, canary: Record<string, unknown> | undefined) {
  const raw = nativeConfig(dir, {
    backends: { legacy: { type: 'tusd', url: tusdUrl } },
    create: 'legacy',
    route: canary ? { canary: { backend: 'native', ...canary } } : {},
  });
  return raw;
}

async function create(gw: RunningGateway, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${gw.url}${nativeBase}`, {
    method: 'POST',
    headers: { ...tus, 'Upload-Length': '1', ...headers },
  });
  assert.equal(response.status, 201);
  const location = response.headers.get('location')!;
  return location.slice(location.lastIndexOf('/') + 1);
}

describe('canary placement', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-canary-');
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  const reconfigure = async (canary: Record<string, unknown> | undefined) => {
    const raw = canaryConfig(dir.path, tusd.url, canary);
    if (!gw) gw = await startGateway(raw);
    else gw.gateway.reload(validateConfig(withFreePorts(raw)));
  };

  test('weight 10, sticky none: 7-13 % of 1,000 creations go to the canary', async () => {
    await reconfigure({ weight: 10, sticky: 'none', seed: 42 });
    let onCanary = 0;
    for (let i = 0; i < 1000; i++) if (isNativeUploadId(await create(gw))) onCanary++;
    assert.ok(onCanary >= 70 && onCanary <= 130, `${onCanary} of 1000 on the canary`);
  });

  test('sticky principal: a principal stays put, and raising the weight only moves toward the canary', async () => {
    const principals = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const placement = async () => {
      const where = new Map<string, boolean>();
      for (const user of principals) {
        const ids = [await create(gw, { 'X-User': user }), await create(gw, { 'X-User': user })];
        const native = ids.map(isNativeUploadId);
        assert.equal(native[0], native[1], `${user}'s uploads land together`);
        where.set(user, native[0]!);
      }
      return where;
    };
    let previous: Map<string, boolean> | undefined;
    let previousShare = 0;
    for (const weight of [10, 30, 60]) {
      await reconfigure({ weight, sticky: 'principal', stickyHeader: 'x-user' });
      const where = await placement();
      const share = [...where.values()].filter(Boolean).length / principals.length;
      assert.ok(Math.abs(share - weight / 100) < 0.12, `share ${share} near ${weight} %`);
      assert.ok(share >= previousShare, 'the share grows with the weight');
      if (previous) {
        for (const [user, wasCanary] of previous) {
          if (wasCanary) assert.equal(where.get(user), true, `${user} never moves back`);
        }
      }
      previous = where;
      previousShare = share;
    }
  });

  test('override: honoured for an allow-listed address, ignored for another', async () => {
    await reconfigure({
      weight: 0,
      sticky: 'none',
      override: { header: 'x-tusgate-backend', allow: ['10.0.0.7'] },
    });
    const allowed = await create(gw, {
      'X-Tusgate-Backend': 'native',
      'X-Forwarded-For': '10.0.0.7',
    });
    assert.ok(isNativeUploadId(allowed), 'the allow-listed client got native');
    const refused = await create(gw, {
      'X-Tusgate-Backend': 'native',
      'X-Forwarded-For': '10.0.0.8',
    });
    assert.ok(!isNativeUploadId(refused), 'another client keeps its normal placement');
    const debug = gw.logs().find((line) => line.msg === 'backend override ignored');
    assert.ok(debug, 'the ignored override is logged');
  });

  test('a final upload goes where its partials are; partials on two backends are a 400', async () => {
    await reconfigure({ weight: 50, sticky: 'principal', stickyHeader: 'x-user' });
    const makePartial = async (user: string) => {
      const response = await fetch(`${gw.url}${nativeBase}`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': '1', 'Upload-Concat': 'partial', 'X-User': user },
      });
      const url = response.headers.get('location')!;
      await fetch(url, {
        method: 'PATCH',
        headers: {
          ...tus,
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: 'x',
      });
      return url;
    };
    let canaryUser: string | undefined;
    let legacyUser: string | undefined;
    for (let i = 0; (!canaryUser || !legacyUser) && i < 100; i++) {
      const url = await makePartial(`probe-${i}`);
      if (isNativeUploadId(url.slice(url.lastIndexOf('/') + 1))) canaryUser ??= `probe-${i}`;
      else legacyUser ??= `probe-${i}`;
    }
    const a = await makePartial(canaryUser!);
    const b = await makePartial(canaryUser!);
    const final = await fetch(`${gw.url}${nativeBase}`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Concat': `final;${a} ${b}`, 'X-User': legacyUser! },
    });
    assert.equal(final.status, 201);
    assert.ok(isNativeUploadId(final.headers.get('location')!.split('/').pop()!));
    const c = await makePartial(legacyUser!);
    const split = await fetch(`${gw.url}${nativeBase}`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Concat': `final;${a} ${c}` },
    });
    assert.equal(split.status, 400);
    assert.match(await split.text(), /TUSGATE_ERR_CONCAT_SPLIT/);
  });
});
