import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { type NativeTestEnv, nativeTestEnv, publicBase } from '../../../helpers/native-env.ts';

const digest = (algorithm: string, data: string) =>
  `${algorithm} ${createHash(algorithm).update(data).digest('base64')}`;

/**
 * What each extension the native backend may announce lets a client do: a probe per extension,
 * run against the backend itself. OPTIONS must announce exactly the extensions whose probes pass,
 * so the list cannot name one that does not work, nor leave out one that does.
 */
const probes: Record<string, (native: NativeTestEnv) => Promise<void>> = {
  creation: async (native) => {
    const res = await native.send({ method: 'POST', headers: { 'Upload-Length': 3 } });
    assert.equal(res.statusCode, 201);
    assert.ok(res.headers.location?.includes(publicBase));
  },
  'creation-with-upload': async (native) => {
    const res = await native.send({
      method: 'POST',
      headers: { 'Upload-Length': 3 },
      body: ['abc'],
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['upload-offset'], '3');
  },
  'creation-defer-length': async (native) => {
    const id = await native.create({ 'Upload-Defer-Length': 1 });
    const head = await native.send({ method: 'HEAD', id });
    assert.equal(head.headers['upload-defer-length'], '1');
    const patch = await native.send({
      method: 'PATCH',
      id,
      headers: { 'Upload-Offset': 0, 'Upload-Length': 2 },
      body: ['ab'],
    });
    assert.equal(patch.statusCode, 204);
  },
  termination: async (native) => {
    const id = await native.create({ 'Upload-Length': 3 });
    assert.equal((await native.send({ method: 'DELETE', id })).statusCode, 204);
    assert.equal((await native.send({ method: 'HEAD', id })).statusCode, 404);
  },
  expiration: async (native) => {
    const res = await native.send({ method: 'POST', headers: { 'Upload-Length': 3 } });
    assert.ok(!Number.isNaN(Date.parse(res.headers['upload-expires'] ?? '')));
  },
  checksum: async (native) => {
    const id = await native.create({ 'Upload-Length': 4 });
    const patch = (sum: string) =>
      native.send({
        method: 'PATCH',
        id,
        headers: { 'Upload-Offset': 0, 'Upload-Checksum': sum },
        body: ['abcd'],
      });
    assert.equal((await patch(digest('sha1', 'abce'))).statusCode, 460);
    assert.equal((await patch(digest('sha1', 'abcd'))).statusCode, 204);
  },
  'checksum-trailer': async (native) => {
    const id = await native.create({ 'Upload-Length': 4 });
    const patch = (sum: string) =>
      native.send({
        method: 'PATCH',
        id,
        headers: { 'Upload-Offset': 0, Trailer: 'Upload-Checksum' },
        body: ['ab', 'cd'],
        chunked: true,
        trailers: { 'Upload-Checksum': sum },
      });
    assert.equal((await patch(digest('sha256', 'abce'))).statusCode, 460);
    assert.equal((await patch(digest('sha256', 'abcd'))).statusCode, 204);
  },
  concatenation: async (native) => {
    const a = await native.create({ 'Upload-Length': 2, 'Upload-Concat': 'partial' }, ['ab']);
    const b = await native.create({ 'Upload-Length': 1, 'Upload-Concat': 'partial' }, ['c']);
    const id = await native.create({
      'Upload-Concat': `final;${publicBase}${a} ${publicBase}${b}`,
    });
    const head = await native.send({ method: 'HEAD', id });
    assert.equal(head.headers['upload-offset'], '3');
  },
  'concatenation-unfinished': async (native) => {
    const a = await native.create({ 'Upload-Length': 2, 'Upload-Concat': 'partial' });
    const id = await native.create({ 'Upload-Concat': `final;${publicBase}${a}` });
    const patch = await native.send({
      method: 'PATCH',
      id: a,
      headers: { 'Upload-Offset': 0 },
      body: ['ab'],
    });
    assert.equal(patch.statusCode, 204);
    assert.equal((await native.send({ method: 'HEAD', id })).headers['upload-offset'], '2');
  },
};

test('OPTIONS announces exactly the extensions that work, each checked by its probe', async (t) => {
  const native = await nativeTestEnv(t, { maxSize: '1MiB' });
  const res = await native.send({ method: 'OPTIONS' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['tus-version'], '1.0.0');
  assert.equal(res.headers['tus-resumable'], '1.0.0');
  assert.equal(res.headers['tus-max-size'], String(1024 * 1024));
  assert.equal(res.body, '');
  const announced = (res.headers['tus-extension'] ?? '').split(',');
  assert.deepEqual([...announced].sort(), Object.keys(probes).sort());
  for (const extension of announced) {
    await t.test(extension, () => probes[extension]!(native));
  }
});

test('every announced checksum algorithm verifies a body; others are 400', async (t) => {
  const native = await nativeTestEnv(t);
  const options = await native.send({ method: 'OPTIONS' });
  const algorithms = (options.headers['tus-checksum-algorithm'] ?? '').split(',');
  assert.ok(algorithms.length > 0);
  for (const algorithm of [...algorithms, 'crc32']) {
    const id = await native.create({ 'Upload-Length': 4 });
    const patch = (sum: string) =>
      native.send({
        method: 'PATCH',
        id,
        headers: { 'Upload-Offset': 0, 'Upload-Checksum': sum },
        body: ['abcd'],
      });
    if (algorithm === 'crc32') {
      assert.equal((await patch('crc32 AAAAAA==')).statusCode, 400);
      continue;
    }
    assert.equal((await patch(digest(algorithm, 'abce'))).statusCode, 460, algorithm);
    assert.equal((await patch(digest(algorithm, 'abcd'))).statusCode, 204, algorithm);
  }
});

test('OPTIONS names no Tus-Max-Size on a route without a limit', async (t) => {
  const native = await nativeTestEnv(t);
  const res = await native.send({ method: 'OPTIONS' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['tus-max-size'], undefined);
});
