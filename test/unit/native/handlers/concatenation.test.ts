import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { locationId, nativeTestEnv } from '../../../helpers/native-env.ts';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

test('a final upload of finished partials is assembled at once and handed off', async (t) => {
  const native = await nativeTestEnv(t);
  const a = await native.create({ 'Upload-Length': 4, 'Upload-Concat': 'partial' }, ['ab', 'cd']);
  const b = await native.create({ 'Upload-Length': 2, 'Upload-Concat': 'partial' }, ['ef']);
  assert.equal(await exists(native.handOffPath(a)), false, 'a partial is never handed off');
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Concat': `final;/files/${a} /files/${b} /files/${a}` },
  });
  assert.equal(res.statusCode, 201);
  assert.equal(res.headers['upload-offset'], '10');
  assert.equal(res.headers['upload-expires'], undefined);
  const final = locationId(res);
  assert.equal(await readFile(native.handOffPath(final), 'utf8'), 'abcdefabcd');
  const [finish] = native.hooks.of('post-finish').filter((e) => e.upload.ID === final);
  assert.deepEqual(finish?.upload.PartialUploads, [a, b, a]);
  assert.equal(finish?.upload.IsFinal, true);
});

test('a final created before its partials finish completes when the last partial does', async (t) => {
  const native = await nativeTestEnv(t);
  const a = await native.create({ 'Upload-Length': 3, 'Upload-Concat': 'partial' }, ['a']);
  const b = await native.create({ 'Upload-Defer-Length': 1, 'Upload-Concat': 'partial' });
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Concat': `final;/files/${a} /files/${b}` },
  });
  assert.equal(res.statusCode, 201);
  assert.equal(res.headers['upload-offset'], undefined, 'nothing is assembled yet');
  const final = locationId(res);

  const waiting = await native.send({ method: 'HEAD', id: final });
  assert.equal(waiting.headers['upload-offset'], undefined);
  assert.equal(waiting.headers['upload-length'], undefined, "b's length is not known yet");
  assert.ok(waiting.headers['upload-concat']?.startsWith('final;'));

  await native.send({ method: 'PATCH', id: a, headers: { 'Upload-Offset': 1 }, body: ['bc'] });
  await native.send({
    method: 'PATCH',
    id: b,
    headers: { 'Upload-Offset': 0, 'Upload-Length': 4 },
    body: ['de'],
  });
  const known = await native.send({ method: 'HEAD', id: final });
  assert.equal(known.headers['upload-length'], '7', "every partial's length is known now");
  assert.equal(known.headers['upload-offset'], undefined, 'b is not finished');
  assert.equal(await exists(native.handOffPath(final)), false);

  const last = await native.send({
    method: 'PATCH',
    id: b,
    headers: { 'Upload-Offset': 2 },
    body: ['fg'],
  });
  assert.equal(last.statusCode, 204);
  assert.equal(await readFile(native.handOffPath(final), 'utf8'), 'abcdefg');
  const done = await native.send({ method: 'HEAD', id: final });
  assert.equal(done.headers['upload-offset'], '7');
  assert.equal(done.headers['upload-length'], '7');
  assert.equal(native.hooks.of('post-finish').filter((e) => e.upload.ID === final).length, 1);
});

test('a final naming an upload that is not partial is a 400 and creates nothing', async (t) => {
  const native = await nativeTestEnv(t);
  const plain = await native.create({ 'Upload-Length': 1 }, ['a']);
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Concat': `final;/files/${plain}` },
  });
  assert.equal(res.statusCode, 400);
  assert.match(res.body, /^TUSGATE_ERR_INVALID_CONCAT: /);
  assert.equal(native.hooks.of('post-create').length, 1, 'only the plain upload was created');
});

test('a final larger than maxSize is a 413', async (t) => {
  const native = await nativeTestEnv(t, { maxSize: 5 });
  const a = await native.create({ 'Upload-Length': 3, 'Upload-Concat': 'partial' }, ['abc']);
  const b = await native.create({ 'Upload-Length': 3, 'Upload-Concat': 'partial' }, ['def']);
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Concat': `final;/files/${a} /files/${b}` },
  });
  assert.equal(res.statusCode, 413);
});
