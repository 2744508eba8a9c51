import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nativeTestEnv } from '../../../helpers/native-env.ts';

test('OPTIONS lists the extensions, the checksum algorithms and Tus-Max-Size', async (t) => {
  const native = await nativeTestEnv(t, { maxSize: '1MiB' });
  const res = await native.send({ method: 'OPTIONS' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['tus-version'], '1.0.0');
  assert.equal(res.headers['tus-resumable'], '1.0.0');
  assert.deepEqual(res.headers['tus-extension']?.split(','), [
    'creation',
    'creation-with-upload',
    'creation-defer-length',
    'termination',
    'expiration',
    'checksum',
    'concatenation',
    'concatenation-unfinished',
  ]);
  assert.equal(res.headers['tus-checksum-algorithm'], 'md5,sha1,sha256');
  assert.equal(res.headers['tus-max-size'], String(1024 * 1024));
  assert.equal(res.body, '');
});

test('OPTIONS names no Tus-Max-Size on a route without a limit', async (t) => {
  const native = await nativeTestEnv(t);
  const res = await native.send({ method: 'OPTIONS' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['tus-max-size'], undefined);
});
