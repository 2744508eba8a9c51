import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type TestContext, test } from 'node:test';
import { Redis } from 'ioredis';
import { startGatewayProcess } from '../../helpers/gateway.ts';
import { startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const redisUrl = 'redis://127.0.0.1:6379/0';

/**
 * A Redis connection and a key prefix of this test's own. Cleanups pushed by the test run in
 * reverse when it ends, then its keys go and the connection closes: one after-hook, so a failing
 * cleanup cannot leave gateways running.
 */
async function redisFixture(t: TestContext) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  assert.equal(await redis.ping(), 'PONG', 'Redis must run on 127.0.0.1:6379');
  const keyPrefix = `tusgate-test:${randomBytes(4).toString('hex')}:`;
  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  return { redis, keyPrefix, cleanups };
}

test('two gateways sharing Redis send every request of an upload to the same backend', {
  timeout: 60_000,
}, async (t) => {
  const { redis, keyPrefix, cleanups } = await redisFixture(t);

  const [a, b] = [await startTusd(), await startTusd()];
  cleanups.push(() => Promise.all([a.stop(), b.stop()]));
  // Two tusd servers make ids of the same shape: only the affinity table tells them apart.
  const config = {
    affinity: { redis: redisUrl, keyPrefix },
    routes: [
      {
        name: 'uploads',
        match: { pathPrefix: '/files/' },
        backends: { a: { type: 'tusd', url: a.url }, b: { type: 'tusd', url: b.url } },
        create: 'a',
        canary: { backend: 'b', weight: 50, sticky: 'none' },
      },
    ],
  };
  const gateways = [await startGatewayProcess(config), await startGatewayProcess(config)];
  cleanups.push(() => Promise.all(gateways.map((gw) => gw.stop())));

  const onB = new Set<string>();
  for (let upload = 0; upload < 20; upload++) {
    const data = randomBytes(3000);
    let turn = upload % 2;
    const next = () => gateways[turn++ % 2]!.url;
    const created = await fetch(`${next()}/files/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': String(data.length) },
    });
    assert.equal(created.status, 201);
    const path = new URL(created.headers.get('location')!).pathname;
    const id = path.split('/').pop()!;
    for (let offset = 0; offset < data.length; offset += 1000) {
      const head = await fetch(`${next()}${path}`, { method: 'HEAD', headers: tus });
      assert.equal(head.status, 200, `HEAD ${id} via the other gateway`);
      assert.equal(head.headers.get('upload-offset'), String(offset));
      const patched = await fetch(`${next()}${path}`, {
        method: 'PATCH',
        headers: {
          ...tus,
          'Upload-Offset': String(offset),
          'Content-Type': 'application/offset+octet-stream',
        },
        body: data.subarray(offset, offset + 1000),
      });
      assert.equal(patched.status, 204);
    }
    const owner = (await redis.get(`${keyPrefix}${id}`)) ?? '';
    const backend = JSON.parse(owner).backend as 'a' | 'b';
    if (backend === 'b') onB.add(id);
    const stored = await readFile(`${(backend === 'a' ? a : b).dir}/${id}`);
    assert.ok(stored.equals(data), `${id} complete on ${backend}`);
  }
  assert.ok(onB.size > 0 && onB.size < 20, `${onB.size} of 20 on the canary`);
});

test('a proxied creation is on record in Redis before its 201 reaches the client', {
  timeout: 60_000,
}, async (t) => {
  const { redis, keyPrefix, cleanups } = await redisFixture(t);
  const tusd = await startTusd();
  cleanups.push(() => tusd.stop());
  const config = {
    affinity: { redis: redisUrl, keyPrefix },
    routes: [
      {
        name: 'uploads',
        match: { pathPrefix: '/files/' },
        auth: { type: 'static', tokens: { 'alice-token-0001': 'alice', 'bob-token-00001': 'bob' } },
        backends: { tusd: { type: 'tusd', url: tusd.url } },
      },
    ],
  };
  const gateways = [await startGatewayProcess(config), await startGatewayProcess(config)];
  cleanups.push(() => Promise.all(gateways.map((gw) => gw.stop())));
  const [first, second] = gateways as [(typeof gateways)[0], (typeof gateways)[0]];
  // Warm both gateways' Redis connections, then hold every Redis write for a while.
  for (const gw of gateways) {
    await fetch(`${gw.url}/files/0123456789abcdef`, {
      method: 'HEAD',
      headers: { ...tus, Authorization: 'Bearer alice-token-0001' },
    });
  }
  await redis.call('CLIENT', 'PAUSE', '400', 'WRITE');
  const created = await fetch(`${first.url}/files/`, {
    method: 'POST',
    headers: { ...tus, Authorization: 'Bearer alice-token-0001', 'Upload-Length': '5' },
  });
  assert.equal(created.status, 201);
  const path = new URL(created.headers.get('location')!).pathname;
  // Straight to the other replica: Bob must not see Alice's upload, Alice must. Had the 201 left
  // before the Redis write, the owner would be unknown there and Bob would get a 200.
  const bob = await fetch(`${second.url}${path}`, {
    method: 'HEAD',
    headers: { ...tus, Authorization: 'Bearer bob-token-00001' },
  });
  assert.equal(bob.status, 404);
  const alice = await fetch(`${second.url}${path}`, {
    method: 'HEAD',
    headers: { ...tus, Authorization: 'Bearer alice-token-0001' },
  });
  assert.equal(alice.status, 200);
});
