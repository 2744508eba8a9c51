import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { S3Store } from '../../../src/backends/native/object/s3-store.ts';
import { isNativeUploadId } from '../../../src/backends/native/upload-id.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import { startGateway, withFreePorts } from '../../helpers/gateway.ts';
import { startS3Server } from '../../helpers/s3-server.ts';
import { tusUpload } from '../../helpers/tus-client.ts';
import { startTusd } from '../../helpers/tusd.ts';

test('canary from a tusd-on-disk legacy backend to native on S3: each upload lands whole on its backend', {
  timeout: 300_000,
}, async (t) => {
  const s3 = await startS3Server(t);
  const tusd = await startTusd();
  t.after(() => tusd.stop());
  const dir = await tempDir('tusgate-s3-canary-');
  t.after(() => dir.remove());
  const raw = (weight: number) => ({
    stores: {
      objects: {
        type: 's3',
        bucket: s3.bucket,
        prefix: 'tus/',
        endpoint: s3.endpoint,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        forcePathStyle: true,
        partSize: '5MiB',
      },
    },
    routes: [
      {
        name: 'uploads',
        match: { pathPrefix: '/files/' },
        backends: {
          legacy: { type: 'tusd', url: tusd.url },
          native: { type: 'native', store: 'objects' },
        },
        create: 'legacy',
        canary: { backend: 'native', weight, sticky: 'principal', stickyHeader: 'x-user' },
      },
    ],
  });
  const gw = await startGateway(raw(50));
  t.after(() => gw.stop());
  const store = new S3Store(
    'objects',
    validateConfig(withFreePorts(raw(50))).stores.objects as never,
  );
  t.after(() => store.client.destroy());
  const endpoint = `${gw.url}/files/`;
  const source = await randomFile(dir.path, 7 * 1024 * 1024 + 11);
  const expected = await sha256File(source);

  const storedHash = async (url: string): Promise<string> => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    if (!isNativeUploadId(id)) return sha256File(join(tusd.dir, id));
    const object = await s3.client.send(
      new GetObjectCommand({ Bucket: s3.bucket, Key: store.keyOf(id) }),
    );
    const digest = createHash('sha256');
    for await (const chunk of object.Body as AsyncIterable<Buffer>) digest.update(chunk);
    return digest.digest('hex');
  };

  const placed = { native: 0, legacy: 0 };
  for (let user = 0; user < 12; user++) {
    const { url } = await tusUpload(source, {
      endpoint,
      chunkSize: 3 * 1024 * 1024,
      headers: { 'x-user': `user-${user}` },
    });
    placed[isNativeUploadId(url.slice(url.lastIndexOf('/') + 1)) ? 'native' : 'legacy']++;
    assert.equal(await storedHash(url), expected, url);
  }
  assert.ok(placed.native > 0 && placed.legacy > 0, JSON.stringify(placed));

  // All the way: every new upload is native on S3.
  await gw.gateway.reload(validateConfig(withFreePorts(raw(100))));
  const { url } = await tusUpload(source, { endpoint, headers: { 'x-user': 'user-late' } });
  assert.ok(isNativeUploadId(url.slice(url.lastIndexOf('/') + 1)));
  assert.equal(await storedHash(url), expected);
});
