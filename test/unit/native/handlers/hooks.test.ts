import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { readInfo } from '../../../../src/backends/native/info.ts';
import { newUploadId } from '../../../../src/backends/native/upload-id.ts';
import { locationId, nativeTestEnv } from '../../../helpers/native-env.ts';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

test('hook events carry the upload and the request as tusd sends them', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 3, 'X-Galaxy-Job': 'j1' }, ['abc']);
  assert.deepEqual(
    native.hooks.events.map((event) => event.type),
    ['pre-create', 'post-create', 'post-receive', 'pre-finish', 'post-finish'],
  );
  const [create] = native.hooks.of('post-create');
  assert.equal(create?.upload.ID, id);
  assert.equal(create?.upload.Offset, 0);
  assert.equal(create?.upload.Storage?.Path, native.dataPath(id));
  assert.equal(create?.request.Method, 'POST');
  assert.equal(create?.request.URI, '/files/');
  assert.deepEqual(create?.request.Header['X-Galaxy-Job'], ['j1']);
  assert.equal(create?.request.RemoteAddr, '192.0.2.1');
  assert.equal(native.hooks.of('post-receive')[0]?.upload.Offset, 3);
});

test('pre-create may choose the id and the metadata of the new upload', async (t) => {
  const native = await nativeTestEnv(t);
  const chosen = newUploadId(native.clock.now);
  native.hooks.answers['pre-create'] = {
    ChangeFileInfo: { ID: chosen, MetaData: { filename: 'renamed.txt' } },
    HTTPResponse: { Header: { 'X-Hook': 'yes' } },
  };
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Length': 3, 'Upload-Metadata': 'filename b3JpZ2luYWw=' },
  });
  assert.equal(res.statusCode, 201);
  assert.equal(locationId(res), chosen);
  assert.equal(res.headers['x-hook'], 'yes');
  assert.deepEqual(
    { ...(await readInfo(native.infoPath(chosen)))?.MetaData },
    {
      filename: 'renamed.txt',
    },
  );
  assert.equal(native.hooks.of('post-create')[0]?.upload.ID, chosen);
});

test('an id from pre-create that is not a native id refuses the creation (409), creating nothing', async (t) => {
  const native = await nativeTestEnv(t);
  native.hooks.answers['pre-create'] = { ChangeFileInfo: { ID: '../../etc/passwd' } };
  const res = await native.send({ method: 'POST', headers: { 'Upload-Length': 3 } });
  assert.equal(res.statusCode, 409);
  assert.match(res.body, /^TUSGATE_ERR_HOOK_INVALID_ID: /);
  assert.deepEqual(native.hooks.of('post-create'), []);
});

test('pre-finish headers reach the answer of the request that finished the upload', async (t) => {
  const native = await nativeTestEnv(t);
  native.hooks.answers['pre-finish'] = { HTTPResponse: { Header: { 'X-Dataset': 'd42' } } };
  const id = await native.create({ 'Upload-Length': 4 }, ['ab']);
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 2 },
    body: ['cd'],
  });
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['x-dataset'], 'd42');
  assert.equal(await readFile(native.handOffPath(id), 'utf8'), 'abcd');
});

test('a pre-terminate rejection keeps the upload', async (t) => {
  const native = await nativeTestEnv(t);
  native.hooks.answers['pre-terminate'] = {
    RejectTermination: true,
    HTTPResponse: { StatusCode: 409, Body: 'in use' },
  };
  const id = await native.create({ 'Upload-Length': 3 }, ['abc']);
  const res = await native.send({ method: 'DELETE', id });
  assert.equal(res.statusCode, 409);
  assert.equal(res.body, 'TUSGATE_ERR_HOOK_REJECTED: in use\n');
  assert.equal(await exists(native.dataPath(id)), true);
  assert.equal(await exists(native.handOffPath(id)), true);
  assert.equal(native.hooks.of('post-terminate').length, 0);
});
