import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { readInfo } from '../../../../src/backends/native/info.ts';
import { uploadIdTimestamp } from '../../../../src/backends/native/upload-id.ts';
import {
  locationId,
  nativeTestEnv,
  publicBase,
  publicOrigin,
} from '../../../helpers/native-env.ts';

const base64 = (text: string) => Buffer.from(text).toString('base64');
const ownValue = (object: object, key: string): unknown =>
  Object.getOwnPropertyDescriptor(object, key)?.value;
const checksumOf = (algorithm: string, data: string) =>
  `${algorithm} ${createHash(algorithm).update(data).digest('base64')}`;

test('POST creates an empty upload: 201, Location, Upload-Expires from the clock', async (t) => {
  const native = await nativeTestEnv(t);
  const res = await native.send({ method: 'POST', headers: { 'Upload-Length': 10 } });
  assert.equal(res.statusCode, 201);
  const id = locationId(res);
  assert.equal(res.headers.location, `${publicOrigin}${publicBase}${id}`);
  assert.equal(uploadIdTimestamp(id), native.clock.now, 'the id carries the creation time');
  assert.equal(res.headers['upload-expires'], new Date(native.clock.now + 3_600_000).toUTCString());
  assert.equal(res.headers['tus-resumable'], '1.0.0');
  assert.equal(res.headers['upload-offset'], undefined, 'no body, no offset');
  const info = await readInfo(native.infoPath(id));
  assert.equal(info?.Size, 10);
  assert.equal(info?.SizeIsDeferred, false);
  assert.equal((await readFile(native.dataPath(id))).length, 0);
  assert.deepEqual(
    native.hooks.events.map((event) => event.type),
    ['pre-create', 'post-create'],
  );
});

test('POST with Upload-Defer-Length creates an upload of unknown length', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Defer-Length': 1 });
  const info = await readInfo(native.infoPath(id));
  assert.equal(info?.SizeIsDeferred, true);
  const head = await native.send({ method: 'HEAD', id });
  assert.equal(head.headers['upload-defer-length'], '1');
  assert.equal(head.headers['upload-length'], undefined);
});

test('POST with both Upload-Length and Upload-Defer-Length is a 400 and creates nothing', async (t) => {
  const native = await nativeTestEnv(t);
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Length': 5, 'Upload-Defer-Length': 1 },
  });
  assert.equal(res.statusCode, 400);
  assert.match(res.body, /^TUSGATE_ERR_INVALID_LENGTH: /);
  assert.deepEqual(await readdir(native.store.root).catch(() => []), []);
});

test('metadata round-trips through the info file to HEAD, a __proto__ key included', async (t) => {
  const native = await nativeTestEnv(t);
  const header = `filename ${base64('résumé.txt')},__proto__ ${base64('polluted')},empty`;
  const id = await native.create({ 'Upload-Length': 3, 'Upload-Metadata': header });
  const info = await readInfo(native.infoPath(id));
  assert.equal(info?.MetaData.filename, 'résumé.txt');
  assert.equal(Object.hasOwn(info!.MetaData, '__proto__'), true);
  assert.equal(ownValue(info!.MetaData, '__proto__'), 'polluted');
  assert.equal(info?.MetaData.empty, '');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const head = await native.send({ method: 'HEAD', id });
  const pairs = head.headers['upload-metadata']?.split(',').sort();
  assert.deepEqual(pairs, header.split(',').sort());
  assert.equal(
    ownValue(native.hooks.of('post-create')[0]!.upload.MetaData, '__proto__'),
    'polluted',
  );
});

test('an upload longer than maxSize is a 413 and leaves nothing on disk', async (t) => {
  const native = await nativeTestEnv(t, { maxSize: 100 });
  const res = await native.send({ method: 'POST', headers: { 'Upload-Length': 101 } });
  assert.equal(res.statusCode, 413);
  assert.match(res.body, /^TUSGATE_ERR_SIZE_EXCEEDED: /);
  assert.deepEqual(await readdir(native.store.root).catch(() => []), []);
  assert.equal(native.hooks.events.length, 0, 'no hook hears of a refused creation');
  const atLimit = await native.send({ method: 'POST', headers: { 'Upload-Length': 100 } });
  assert.equal(atLimit.statusCode, 201);
});

test('a pre-create hook rejection is answered with its status and leaves nothing on disk', async (t) => {
  const native = await nativeTestEnv(t);
  native.hooks.answers['pre-create'] = {
    RejectUpload: true,
    HTTPResponse: { StatusCode: 422, Body: 'quota exceeded', Header: { 'X-Quota': 'full' } },
  };
  const res = await native.send({ method: 'POST', headers: { 'Upload-Length': 10 } });
  assert.equal(res.statusCode, 422);
  assert.equal(res.body, 'TUSGATE_ERR_HOOK_REJECTED: quota exceeded\n');
  assert.equal(res.headers['x-quota'], 'full');
  assert.equal(res.headers.location, undefined);
  assert.deepEqual(await readdir(native.store.root).catch(() => []), []);
  assert.deepEqual(
    native.hooks.events.map((event) => event.type),
    ['pre-create'],
  );
});

test('creation-with-upload stores the body and answers its offset', async (t) => {
  const native = await nativeTestEnv(t);
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Length': 11 },
    body: ['hello', ' wor'],
  });
  assert.equal(res.statusCode, 201);
  assert.equal(res.headers['upload-offset'], '9');
  const id = locationId(res);
  assert.equal(await readFile(native.dataPath(id), 'utf8'), 'hello wor');
  assert.ok(res.headers['upload-expires'], 'an unfinished upload can expire');
});

test('creation-with-upload of the whole upload finishes it: hand-off, no Upload-Expires', async (t) => {
  const native = await nativeTestEnv(t);
  const body = 'all of it';
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Length': body.length, 'Upload-Checksum': checksumOf('sha1', body) },
    body: ['all ', 'of it'],
  });
  assert.equal(res.statusCode, 201);
  assert.equal(res.headers['upload-offset'], String(body.length));
  assert.equal(res.headers['upload-expires'], undefined);
  const id = locationId(res);
  assert.equal(await readFile(native.handOffPath(id), 'utf8'), body);
  assert.equal(native.hooks.of('post-finish').length, 1);
});

test('creation-with-upload whose checksum fails is a 460: the upload exists, empty', async (t) => {
  const native = await nativeTestEnv(t);
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Length': 20, 'Upload-Checksum': checksumOf('sha256', 'something else') },
    body: ['some ', 'bytes'],
  });
  assert.equal(res.statusCode, 460);
  assert.match(res.body, /^TUSGATE_ERR_CHECKSUM_MISMATCH: /);
  // As tusd: the upload was created and its address is given, so the client can resume it.
  const id = locationId(res);
  assert.equal((await readFile(native.dataPath(id))).length, 0);
  const head = await native.send({ method: 'HEAD', id });
  assert.equal(head.headers['upload-offset'], '0');
});

test('creation-with-upload with a body longer than the upload is a 413 before anything is made', async (t) => {
  const native = await nativeTestEnv(t);
  const res = await native.send({
    method: 'POST',
    headers: { 'Upload-Length': 3 },
    body: ['four'],
  });
  assert.equal(res.statusCode, 413);
  assert.deepEqual(await readdir(native.store.root).catch(() => []), []);
});

test('creation-with-upload whose client leaves keeps the upload and the bytes that arrived', async (t) => {
  const native = await nativeTestEnv(t);
  const exchange = native.start({
    method: 'POST',
    headers: { 'Upload-Length': 10 },
    body: ['abc', 'de'],
    end: 'leave',
  });
  const res = await exchange.done;
  assert.equal(res.headersSent, false, 'nobody is left to answer');
  const id = exchange.ctx.createdUploadId!;
  assert.equal(await readFile(native.dataPath(id), 'utf8'), 'abcde');
  const head = await native.send({ method: 'HEAD', id });
  assert.equal(head.headers['upload-offset'], '5');
});

test("on a route with refusals: galaxy, permanent refusals are 403, a hook's 422 too", async (t) => {
  const native = await nativeTestEnv(t, { maxSize: 10, refusals: 'galaxy' });
  const tooLarge = await native.send({ method: 'POST', headers: { 'Upload-Length': 11 } });
  assert.equal(tooLarge.statusCode, 403);
  assert.match(tooLarge.body, /^TUSGATE_ERR_SIZE_EXCEEDED: /);
  native.hooks.answers['pre-create'] = { RejectUpload: true, HTTPResponse: { StatusCode: 422 } };
  const rejected = await native.send({ method: 'POST', headers: { 'Upload-Length': 5 } });
  assert.equal(rejected.statusCode, 403);
  // A status tus clients act on is kept.
  native.hooks.answers['pre-create'] = { RejectUpload: true, HTTPResponse: { StatusCode: 429 } };
  const busy = await native.send({ method: 'POST', headers: { 'Upload-Length': 5 } });
  assert.equal(busy.statusCode, 429);
});

test('an upload of length 0 is finished at its creation and handed off', async (t) => {
  const native = await nativeTestEnv(t);
  const res = await native.send({ method: 'POST', headers: { 'Upload-Length': 0 } });
  assert.equal(res.statusCode, 201);
  assert.equal(res.headers['upload-expires'], undefined);
  const id = locationId(res);
  assert.equal((await readFile(native.handOffPath(id))).length, 0);
  assert.equal(native.hooks.of('post-finish')[0]?.upload.ID, id);
  const head = await native.send({ method: 'HEAD', id });
  assert.deepEqual([head.headers['upload-offset'], head.headers['upload-length']], ['0', '0']);
});
