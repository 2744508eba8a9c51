import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { test } from 'node:test';
import { nativeTestEnv } from '../../../helpers/native-env.ts';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

test('DELETE of a finished upload removes its data, info and hand-off link; then 404', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 3 }, ['abc']);
  assert.equal(await exists(native.handOffPath(id)), true);
  const res = await native.send({ method: 'DELETE', id });
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['tus-resumable'], '1.0.0');
  for (const path of [native.dataPath(id), native.infoPath(id), native.handOffPath(id)]) {
    assert.equal(await exists(path), false, `${path} is gone`);
  }
  const [terminated] = native.hooks.of('post-terminate');
  assert.equal(terminated?.upload.ID, id);
  assert.equal(native.hooks.of('pre-terminate').length, 1);
  assert.equal((await native.send({ method: 'HEAD', id })).statusCode, 404);
  assert.equal((await native.send({ method: 'DELETE', id })).statusCode, 404);
});

test('DELETE of an unfinished upload removes what arrived', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 10 }, ['abc']);
  const res = await native.send({ method: 'DELETE', id });
  assert.equal(res.statusCode, 204);
  assert.equal(await exists(native.dataPath(id)), false);
  assert.equal(await exists(native.infoPath(id)), false);
  const patch = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 3 },
    body: ['d'],
  });
  assert.equal(patch.statusCode, 404);
});

test("DELETE of another principal's upload is 404 and removes nothing", async (t) => {
  const native = await nativeTestEnv(t);
  const create = await native.send({
    method: 'POST',
    headers: { 'Upload-Length': 3 },
    body: ['abc'],
    principal: 'alice',
  });
  const id = create.headers.location!.split('/').pop()!;
  const res = await native.send({ method: 'DELETE', id, principal: 'mallory' });
  assert.equal(res.statusCode, 404);
  assert.equal(await exists(native.dataPath(id)), true);
  assert.equal(await exists(native.handOffPath(id)), true);
});

test('DELETE while a PATCH is writing asks it to stop, then terminates the upload', async (t) => {
  const native = await nativeTestEnv(t, { lockTimeout: 2_000 });
  const id = await native.create({ 'Upload-Length': 10 });
  const patch = native.start({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0 },
    body: ['abc'],
    chunked: true,
    end: 'hang',
  });
  await patch.req.delivered;
  const res = await native.send({ method: 'DELETE', id });
  assert.equal(res.statusCode, 204);
  const stopped = await patch.done;
  assert.equal(stopped.statusCode, 400);
  assert.match(stopped.body, /TUSGATE_ERR_UPLOAD_INTERRUPTED/);
  assert.equal(await exists(native.dataPath(id)), false);
});
