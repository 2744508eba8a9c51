import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { createUpload } from '../../helpers/auth.ts';
import { startGateway } from '../../helpers/gateway.ts';
import { startRedis } from '../../helpers/redis.ts';
import { startTusd } from '../../helpers/tusd.ts';
import { alice, bob, cleanups, head, legacyRoute, patch, tus } from './fixture.ts';

async function readiness(adminUrl: string) {
  const response = await fetch(`${adminUrl}/readyz`);
  const body = (await response.json()) as {
    checks: { name: string; ok: boolean; error?: string }[];
  };
  return { status: response.status, store: body.checks.find((c) => c.name === 'ownership-store') };
}

function assertUnavailable(response: Response, what: string, body?: string) {
  assert.equal(response.status, 503, what);
  assert.equal(response.headers.get('retry-after'), '5', `${what}: Retry-After`);
  assert.equal(response.headers.get('tus-resumable'), '1.0.0', `${what}: Tus-Resumable`);
  if (body !== undefined) assert.match(body, /^TUSGATE_ERR_OWNERSHIP_UNAVAILABLE: /, what);
}

test('Redis down: every proxied request answers 503 with Retry-After, creations leave nothing behind, and service resumes when Redis is back', {
  timeout: 90_000,
}, async (t) => {
  const cleanup = cleanups(t);
  const redis = await startRedis();
  cleanup(() => redis.stop());
  const tusd = await startTusd();
  cleanup(() => tusd.stop());
  const gw = await startGateway({
    affinity: { redis: redis.url, keyPrefix: 'owners-test:' },
    routes: [legacyRoute(tusd.url)],
  });
  cleanup(() => gw.stop());
  const collection = `${gw.url}/files/`;

  const url = await createUpload(collection, alice, 10);
  assert.equal((await readiness(gw.adminUrl)).status, 200);

  await redis.kill();

  const created = await fetch(collection, {
    method: 'POST',
    headers: { ...tus, ...alice, 'Upload-Length': '10' },
  });
  assertUnavailable(created, 'POST', await created.text());
  assert.equal(created.headers.get('location'), null);
  // The upload tusd made for that POST was terminated: tusd itself no longer knows it.
  const refused = gw
    .logs()
    .find((line) => line.msg === 'request' && line.method === 'POST' && line.status === 503);
  const orphan = refused?.uploadId;
  assert.equal(typeof orphan, 'string', 'the refused creation is logged with its id');
  const atTusd = await fetch(`${tusd.url}${orphan}`, { method: 'HEAD', headers: tus });
  assert.equal(atTusd.status, 404, 'the refused upload is gone from tusd');

  assertUnavailable(await head(url, alice), 'HEAD');
  const patched = await patch(url, alice, 0, 'hello');
  assertUnavailable(patched, 'PATCH', await patched.text());
  const deleted = await fetch(url, { method: 'DELETE', headers: { ...tus, ...alice } });
  assertUnavailable(deleted, 'DELETE', await deleted.text());
  const got = await fetch(url, { headers: { ...tus, ...alice } });
  assertUnavailable(got, 'GET', await got.text());

  const down = await readiness(gw.adminUrl);
  assert.equal(down.status, 503);
  assert.equal(down.store?.ok, false);
  assert.match(down.store?.error ?? '', /^redis at 127\.0\.0\.1:\d+: /);

  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /tusgate_ownership_store_errors_total\{operation="set"\} [1-9]/);
  assert.match(metrics, /tusgate_ownership_store_errors_total\{operation="get"\} [1-9]/);
  const statuses = gw
    .logs()
    .filter((line) => line.msg === 'request')
    .map((line) => line.status);
  assert.ok(!statuses.includes(500), `no request answered 500: ${statuses.join(' ')}`);

  // Redis returns (empty: it saves nothing); tusgate reconnects by itself.
  await redis.restart();
  for (;;) {
    const { status } = await readiness(gw.adminUrl);
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const fresh = await createUpload(collection, alice, 5);
  assert.equal((await patch(fresh, alice, 0, 'hello')).status, 204);
  const done = await head(fresh, alice);
  assert.equal(done.status, 200);
  assert.equal(done.headers.get('upload-offset'), '5');
  // The first upload's record went with Redis's memory: its owner is unknown, so it is closed.
  assert.equal((await head(url, alice)).status, 404);
});

test('a hung Redis times out into 503s, and its records serve again once it answers', {
  timeout: 90_000,
}, async (t) => {
  const cleanup = cleanups(t);
  const redis = await startRedis();
  cleanup(() => redis.stop());
  const tusd = await startTusd();
  cleanup(() => tusd.stop());
  const gw = await startGateway({
    affinity: { redis: redis.url },
    routes: [legacyRoute(tusd.url)],
  });
  cleanup(() => gw.stop());
  const url = await createUpload(`${gw.url}/files/`, alice, 5);

  redis.pause();
  cleanup(async () => redis.resume());
  const created = await fetch(`${gw.url}/files/`, {
    method: 'POST',
    headers: { ...tus, ...alice, 'Upload-Length': '10' },
  });
  assertUnavailable(created, 'POST', await created.text());
  assert.deepEqual(
    (await readdir(tusd.dir)).filter((name) => !name.endsWith('.info')).sort(),
    [new URL(url).pathname.split('/').pop()],
    'only the first upload is left at tusd',
  );
  assertUnavailable(await head(url, alice), 'HEAD');
  const patched = await patch(url, alice, 0, 'hello');
  assertUnavailable(patched, 'PATCH', await patched.text());
  const down = await readiness(gw.adminUrl);
  assert.equal(down.status, 503);
  assert.match(down.store?.error ?? '', /^redis at /);

  redis.resume();
  assert.equal((await patch(url, alice, 0, 'hello')).status, 204);
  assert.equal((await head(url, alice)).status, 200);
  assert.equal((await head(url, bob)).status, 404);
  assert.equal((await readiness(gw.adminUrl)).status, 200);
});
