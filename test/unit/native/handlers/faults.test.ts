import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { metricValue } from '../../../helpers/metrics.ts';
import { type NativeTestEnv, nativeTestEnv } from '../../../helpers/native-env.ts';

async function storeFaults(native: NativeTestEnv, kind: string): Promise<number> {
  const text = await native.env.metrics.registry.metrics();
  return metricValue(text, 'tusgate_backend_errors_total', {
    route: 'uploads',
    backend: 'native',
    kind,
  });
}

test('a store root that vanished is a 503 with Retry-After, counted, never recreated', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 10 }, ['abc']);
  await rm(native.store.root, { recursive: true });

  const head = await native.send({ method: 'HEAD', id });
  assert.equal(head.statusCode, 503);
  assert.equal(head.headers['retry-after'], '30');
  const create = await native.send({ method: 'POST', headers: { 'Upload-Length': 1 } });
  assert.equal(create.statusCode, 503);
  assert.match(create.body, /^TUSGATE_ERR_STORAGE_UNAVAILABLE: /);
  assert.equal(await storeFaults(native, 'storage_unavailable'), 2);
  assert.equal(await native.store.rootMissing(), true, 'no upload went to a fresh root');
});

test('a request that fails cleanly is not counted as a backend error', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 10 });
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 4 },
    body: ['x'],
  });
  assert.equal(res.statusCode, 409);
  assert.equal(await storeFaults(native, 'storage_unavailable'), 0);
  assert.equal(await storeFaults(native, 'io'), 0);
});
