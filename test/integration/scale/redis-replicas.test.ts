import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256, tempDir } from '../../helpers/files.ts';
import { type GatewayProcess, startGatewayProcess } from '../../helpers/gateway.ts';
import { metricValue, scrape } from '../../helpers/metrics.ts';
import { nativeConfig } from '../../helpers/native.ts';
import { type RunningRedis, startRedis } from '../../helpers/redis.ts';
import {
  createUpload,
  headOffset,
  idOf,
  patch,
  stalledPatch,
  storeOf,
  tus,
  waitForSize,
} from './fixture.ts';

const leaseTtl = '3s';

/**
 * Two tusgate processes over one store root with Redis locking (a redis-server of the test's own,
 * so it can be killed), and no sticky routing: any request may go to either.
 */
async function startReplicas(t: { after: (fn: () => Promise<unknown>) => void }) {
  const dir = await tempDir('tusgate-replicas-');
  const redis: RunningRedis = await startRedis();
  const raw = {
    ...nativeConfig(dir.path, { backend: { lockTimeout: '10s' } }),
    server: { idleTimeout: '60s' },
    locking: { type: 'redis', url: redis.url, ttl: leaseTtl },
  };
  const replicas: GatewayProcess[] = [];
  t.after(async () => {
    for (const replica of replicas) await replica.stop('SIGKILL');
    await redis.stop();
    await dir.remove();
  });
  replicas.push(await startGatewayProcess(raw));
  replicas.push(await startGatewayProcess(raw));
  const [a, b] = replicas as [GatewayProcess, GatewayProcess];
  return { a, b, redis, store: storeOf(raw) };
}

/** The same upload URL on another replica. */
function on(replica: GatewayProcess, url: string): string {
  return `${replica.url}${new URL(url).pathname}`;
}

test('a replica SIGKILLed mid-PATCH: the client resumes on the other once the lease expires', {
  timeout: 60_000,
}, async (t) => {
  const { a, b, store } = await startReplicas(t);
  const body = randomBytes(3 * 1024 * 1024);
  const url = await createUpload(`${a.url}/files/`, body.length);
  const sent = 1024 * 1024 + 7;
  const stalled = stalledPatch(url, 0, body.length, body.subarray(0, sent));
  t.after(() => stalled.destroy());
  const data = store.pathsFor(idOf(url)).data;
  await waitForSize(data, sent);

  await a.stop('SIGKILL');
  const started = performance.now();
  // Nobody answers the release request: B waits (lockTimeout 10 s) for the dead lease to expire.
  const head = await headOffset(on(b, url));
  const resumeMs = performance.now() - started;
  assert.equal(head.status, 200);
  assert.equal(head.offset, sent, 'the offset is the bytes the dead replica wrote');
  const rest = await patch(on(b, url), head.offset, body.subarray(head.offset));
  assert.equal(rest.status, 204);
  assert.equal(sha256(await readFile(data)), sha256(body));
  t.diagnostic(
    `resumed on the other replica ${resumeMs.toFixed(0)} ms after the kill (TTL ${leaseTtl})`,
  );
});

test('a stalled PATCH on one replica hands over to a client resuming on the other', {
  timeout: 60_000,
}, async (t) => {
  const { a, b, store } = await startReplicas(t);
  const body = randomBytes(2 * 1024 * 1024);
  const url = await createUpload(`${a.url}/files/`, body.length);
  const sent = 512 * 1024 + 3;
  const stalled = stalledPatch(url, 0, body.length, body.subarray(0, sent));
  t.after(() => stalled.destroy());
  const data = store.pathsFor(idOf(url)).data;
  await waitForSize(data, sent);

  const started = performance.now();
  const head = await headOffset(on(b, url));
  const handOverMs = performance.now() - started;
  assert.equal(head.status, 200);
  assert.equal(head.offset, sent);
  const interrupted = await stalled.answer;
  assert.equal(interrupted.status, 400, 'the stale request on the other replica was told');
  const rest = await patch(on(b, url), head.offset, body.subarray(head.offset));
  assert.equal(rest.status, 204);
  assert.equal(sha256(await readFile(data)), sha256(body));
  t.diagnostic(`hand-over across two processes took ${handOverMs.toFixed(1)} ms`);
  const holderMetrics = await scrape(a.adminUrl);
  assert.equal(metricValue(holderMetrics, 'tusgate_lock_handovers_total', { locker: 'redis' }), 1);
  const askerMetrics = await scrape(b.adminUrl);
  assert.ok(
    metricValue(askerMetrics, 'tusgate_lock_wait_seconds_count', { locker: 'redis' }) >= 2,
    'HEAD and PATCH waited for their locks',
  );
});

test('two clients racing one upload across replicas: a prefix of one body, never a mix', {
  timeout: 90_000,
}, async (t) => {
  const { a, b, store } = await startReplicas(t);
  const size = 8 * 1024 * 1024;
  for (let round = 0; round < 6; round++) {
    const one = Buffer.alloc(size, 0x61);
    const two = Buffer.alloc(size, 0x62);
    const url = await createUpload(`${a.url}/files/`, size);
    const answers = await Promise.all([patch(on(a, url), 0, one), patch(on(b, url), 0, two)]);
    const statuses = answers.map((answer) => answer.status);
    assert.ok(statuses.filter((status) => status === 204).length <= 1, `${statuses}`);
    for (const status of statuses) assert.ok([204, 400, 409, 423].includes(status), `${statuses}`);
    const data = await readFile(store.pathsFor(idOf(url)).data);
    const winner = data.length === 0 || data[0] === 0x61 ? one : two;
    assert.ok(data.equals(winner.subarray(0, data.length)), `round ${round}: bytes interleaved`);
    assert.equal((await headOffset(on(b, url))).offset, data.length);
  }
});

test('Redis killed mid-upload: holders stop, new requests get 503, all recovers without a restart', {
  timeout: 60_000,
}, async (t) => {
  const { a, b, redis, store } = await startReplicas(t);
  const body = randomBytes(3 * 1024 * 1024);
  const url = await createUpload(`${a.url}/files/`, body.length);
  const sent = 1024 * 1024 + 11;
  const stalled = stalledPatch(url, 0, body.length, body.subarray(0, sent));
  t.after(() => stalled.destroy());
  const data = store.pathsFor(idOf(url)).data;
  await waitForSize(data, sent);

  await redis.kill();
  const stopped = await stalled.answer;
  assert.equal(stopped.status, 503, 'the holder lost its lease and stopped');
  assert.match(stopped.body, /TUSGATE_ERR_LOCK_UNAVAILABLE/);
  // Whatever the stale client still sends is not written.
  stalled.send(body.subarray(sent, sent + 65536));
  await sleep(200);
  assert.equal((await stat(data)).size, sent);

  for (const replica of [a, b]) {
    const res = await fetch(on(replica, url), { method: 'HEAD', headers: tus });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    const write = await patch(on(replica, url), sent, body.subarray(sent));
    assert.equal(write.status, 503);
    assert.match(write.text, /TUSGATE_ERR_LOCK_UNAVAILABLE/);
  }
  assert.equal((await stat(data)).size, sent, 'nothing was written without a lock');
  const ready = await fetch(`${b.adminUrl}/readyz`);
  assert.equal(ready.status, 503);
  const checks = (await ready.json()) as { checks?: { name: string; ok: boolean }[] };
  assert.ok(
    JSON.stringify(checks).includes('"name":"lock-store","ok":false'),
    JSON.stringify(checks),
  );
  const metricsA = await scrape(a.adminUrl);
  assert.equal(
    metricValue(metricsA, 'tusgate_lock_failures_total', { locker: 'redis', kind: 'lost' }),
    1,
  );
  const metricsB = await scrape(b.adminUrl);
  assert.ok(
    metricValue(metricsB, 'tusgate_lock_failures_total', {
      locker: 'redis',
      kind: 'unavailable',
    }) >= 2,
  );
  assert.ok(
    metricValue(metricsB, 'tusgate_lock_acquisitions_total', {
      locker: 'redis',
      result: 'unavailable',
    }) >= 2,
  );

  await redis.restart();
  let head = await headOffset(on(b, url));
  for (let attempt = 0; head.status !== 200; attempt++) {
    assert.ok(attempt < 200, `still ${head.status} after Redis came back`);
    await sleep(50);
    head = await headOffset(on(b, url));
  }
  assert.equal(head.offset, sent);
  const rest = await patch(on(a, url), head.offset, body.subarray(head.offset));
  assert.equal(rest.status, 204);
  assert.equal(sha256(await readFile(data)), sha256(body));
});
