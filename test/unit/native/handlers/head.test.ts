import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { readInfo } from '../../../../src/backends/native/info.ts';
import { newUploadId } from '../../../../src/backends/native/upload-id.ts';
import { nativeTestEnv, publicBase, publicOrigin } from '../../../helpers/native-env.ts';

test('HEAD answers the offset and the length, never cached', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 10 }, ['abcd']);
  const res = await native.send({ method: 'HEAD', id });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['upload-offset'], '4');
  assert.equal(res.headers['upload-length'], '10');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers['upload-defer-length'], undefined);
  assert.equal(res.headers['upload-concat'], undefined);
  assert.equal(res.body, '');
});

test('HEAD of an upload of deferred length says so and gives no length', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Defer-Length': 1 }, ['ab']);
  const res = await native.send({ method: 'HEAD', id });
  assert.equal(res.headers['upload-offset'], '2');
  assert.equal(res.headers['upload-defer-length'], '1');
  assert.equal(res.headers['upload-length'], undefined);
});

test('HEAD names a partial upload as partial and a final one by its partials', async (t) => {
  const native = await nativeTestEnv(t);
  const a = await native.create({ 'Upload-Length': 2, 'Upload-Concat': 'partial' }, ['ab']);
  const b = await native.create({ 'Upload-Length': 1, 'Upload-Concat': 'partial' }, ['c']);
  const partial = await native.send({ method: 'HEAD', id: a });
  assert.equal(partial.headers['upload-concat'], 'partial');
  const final = await native.create({
    'Upload-Concat': `final;${publicBase}${a} ${publicBase}${b}`,
  });
  const res = await native.send({ method: 'HEAD', id: final });
  const url = (id: string) => `${publicOrigin}${publicBase}${id}`;
  assert.equal(res.headers['upload-concat'], `final;${url(a)} ${url(b)}`);
  assert.equal(res.headers['upload-offset'], '3');
  assert.equal(res.headers['upload-length'], '3');
});

test('an unfinished upload past its expiry is 410; a finished one is still served', async (t) => {
  const native = await nativeTestEnv(t, { expiresAfter: '1h' });
  const unfinished = await native.create({ 'Upload-Length': 10 }, ['abc']);
  const finished = await native.create({ 'Upload-Length': 3 }, ['abc']);
  const before = await native.send({ method: 'HEAD', id: unfinished });
  assert.equal(
    before.headers['upload-expires'],
    new Date(native.clock.now + 3_600_000).toUTCString(),
  );

  native.clock.advance(3_600_000);
  const expired = await native.send({ method: 'HEAD', id: unfinished });
  assert.equal(expired.statusCode, 410);
  assert.match(expired.body, /^$/, 'a HEAD answer has no body');
  assert.equal(expired.headers['tus-resumable'], '1.0.0');
  const served = await native.send({ method: 'HEAD', id: finished });
  assert.equal(served.statusCode, 200);
  assert.equal(served.headers['upload-offset'], '3');
  assert.equal(served.headers['upload-expires'], undefined);
});

test("another principal's upload is 404, the owner's 200", async (t) => {
  const native = await nativeTestEnv(t);
  const create = await native.send({
    method: 'POST',
    headers: { 'Upload-Length': 5 },
    principal: 'alice',
  });
  const id = create.headers.location!.split('/').pop()!;
  const stranger = await native.send({ method: 'HEAD', id, principal: 'mallory' });
  assert.equal(stranger.statusCode, 404);
  const anonymous = await native.send({ method: 'HEAD', id, principal: null });
  assert.equal(anonymous.statusCode, 404);
  const owner = await native.send({ method: 'HEAD', id, principal: 'alice' });
  assert.equal(owner.statusCode, 200);
});

test('an unknown id is 404, or 410 once its time to live is over; a malformed one 404', async (t) => {
  const native = await nativeTestEnv(t, { expiresAfter: '1h' });
  const unknown = await native.send({ method: 'HEAD', id: newUploadId(native.clock.now) });
  assert.equal(unknown.statusCode, 404);
  // Cleanup removed it, or it never was: past its TTL the client hears it is gone either way.
  const old = newUploadId(native.clock.now - 3_600_000);
  const gone = await native.send({ method: 'HEAD', id: old });
  assert.equal(gone.statusCode, 410);
  const malformed = await native.send({ method: 'HEAD', id: 'not-a-uuid' });
  assert.equal(malformed.statusCode, 404);
});

test('HEAD mends an upload whose bytes all arrived but whose finish step did not run', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 6 }, ['abc']);
  // The process died after the last bytes reached the disk, before the finish step.
  await appendFile(native.dataPath(id), 'def');
  assert.equal((await readInfo(native.infoPath(id)))?.Offset, 0);
  const res = await native.send({ method: 'HEAD', id });
  assert.equal(res.headers['upload-offset'], '6');
  assert.equal(await readFile(native.handOffPath(id), 'utf8'), 'abcdef');
  assert.equal((await readInfo(native.infoPath(id)))?.Offset, 6);
  assert.equal(native.hooks.of('post-finish').length, 1);
});
