import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { test } from 'node:test';
import { GcsStore } from '../../../src/backends/native/object/gcs-store.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { randomFile, sha256, sha256File, tempDir } from '../../helpers/files.ts';
import { startGateway, withFreePorts } from '../../helpers/gateway.ts';
import { startGcsServer } from '../../helpers/gcs-server.ts';
import { tusUpload, tusUploadBuffer } from '../../helpers/tus-client.ts';

const MiB = 1024 * 1024;

function status(url: string, method: string, headers: Record<string, string> = {}, body?: Buffer) {
  return new Promise<{ status: number; offset: string | undefined; location: string }>(
    (resolve, reject) => {
      const req = request(
        url,
        { method, headers: { 'Tus-Resumable': '1.0.0', ...headers } },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              offset: res.headers['upload-offset'] as string | undefined,
              location: String(res.headers.location ?? ''),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    },
  );
}

test('tus-js-client through the native backend on GCS (fake-gcs-server)', {
  timeout: 300_000,
}, async (t) => {
  const gcs = await startGcsServer(t);
  const raw = {
    stores: {
      objects: {
        type: 'gcs',
        bucket: gcs.bucket,
        prefix: 'tus/',
        endpoint: gcs.endpoint,
        projectId: 'test',
        partSize: '5MiB',
      },
    },
    routes: [
      {
        name: 'uploads',
        match: { pathPrefix: '/files/' },
        backends: { native: { type: 'native', store: 'objects' } },
        create: 'native',
      },
    ],
  };
  const store = new GcsStore('objects', validateConfig(withFreePorts(raw)).stores.objects as never);
  const gateway = await startGateway(raw);
  t.after(() => gateway.stop());
  const endpoint = `${gateway.url}/files/`;
  const dir = await tempDir('tusgate-gcs-e2e-');
  t.after(() => dir.remove());
  const objectHash = async (url: string) => {
    const [bytes] = await store.bucket
      .file(store.keyOf(url.slice(url.lastIndexOf('/') + 1)))
      .download();
    return createHash('sha256').update(bytes).digest('hex');
  };

  for (const data of [Buffer.alloc(0), Buffer.from('x')]) {
    const { url } = await tusUploadBuffer(data, { endpoint });
    assert.equal(await objectHash(url), sha256(data));
  }
  const file = await randomFile(dir.path, 20 * MiB + 9);
  for (const chunkSize of [5 * MiB, MiB]) {
    const { url } = await tusUpload(file, { endpoint, chunkSize });
    assert.equal(await objectHash(url), await sha256File(file));
  }
  const parallel = await tusUpload(file, { endpoint, parallelUploads: 3, chunkSize: 4 * MiB });
  assert.equal(await objectHash(parallel.url), await sha256File(file));

  const created = await status(endpoint, 'POST', { 'Upload-Length': String(7 * MiB) });
  const refused = await status(
    created.location,
    'PATCH',
    {
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': '0',
      'Upload-Checksum': `sha1 ${createHash('sha1').update('other').digest('base64')}`,
    },
    Buffer.alloc(6 * MiB, 1),
  );
  assert.equal(refused.status, 460);
  assert.equal((await status(created.location, 'HEAD')).offset, '0');
  assert.equal((await status(created.location, 'DELETE')).status, 204);
  assert.equal((await status(created.location, 'HEAD')).status, 404);
  const [left] = await store.bucket.getFiles({
    prefix: store.keyOf(created.location.slice(created.location.lastIndexOf('/') + 1)),
  });
  assert.deepEqual(
    left.map((object) => object.name),
    [],
  );
});
