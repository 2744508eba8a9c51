import assert from 'node:assert/strict';
import { unlink } from 'node:fs/promises';
import { test } from 'node:test';
import { nativeTestEnv } from '../../../helpers/native-env.ts';

test('GET answers the bytes received so far as an attachment', async (t) => {
  const native = await nativeTestEnv(t);
  const name = Buffer.from('../my "report".txt').toString('base64');
  const id = await native.create({ 'Upload-Length': 10, 'Upload-Metadata': `filename ${name}` }, [
    'hel',
    'lo',
  ]);
  const res = await native.send({ method: 'GET', id });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, 'hello');
  assert.equal(res.headers['content-length'], '5');
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  assert.equal(res.headers['content-disposition'], 'attachment; filename=".._my__report_.txt"');
  assert.equal(res.headers['cache-control'], 'no-store');
});

test('GET of an empty upload has an empty body; of an unknown one 404', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 10 });
  const res = await native.send({ method: 'GET', id });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, '');
  assert.equal(res.headers['content-disposition'], `attachment; filename="${id}"`);
  await native.send({ method: 'DELETE', id });
  const gone = await native.send({ method: 'GET', id });
  assert.equal(gone.statusCode, 404);
  assert.match(gone.body, /^TUSGATE_ERR_UPLOAD_NOT_FOUND: /);
});

test('GET of a final upload mends an assembly a dead process left undone', async (t) => {
  const native = await nativeTestEnv(t);
  const a = await native.create({ 'Upload-Length': 3, 'Upload-Concat': 'partial' }, ['abc']);
  const b = await native.create({ 'Upload-Length': 3, 'Upload-Concat': 'partial' });
  const final = await native.create({ 'Upload-Concat': `final;/files/${a} /files/${b}` });
  // The process finishing the last partial died before it read the finals waiting for it.
  await unlink(`${native.dataPath(b)}.finals`);
  await native.send({ method: 'PATCH', id: b, headers: { 'Upload-Offset': 0 }, body: ['def'] });
  assert.equal(native.hooks.of('post-finish').filter((e) => e.upload.ID === final).length, 0);

  const res = await native.send({ method: 'GET', id: final });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, 'abcdef');
  assert.equal(native.hooks.of('post-finish').filter((e) => e.upload.ID === final).length, 1);
});
