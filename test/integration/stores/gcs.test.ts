import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { GcsStore } from '../../../src/backends/native/object/gcs-store.ts';
import { newUploadId } from '../../../src/backends/native/upload-id.ts';
import { gcsStoreSchema } from '../../../src/config/schema/store.ts';
import { startGcsServer } from '../../helpers/gcs-server.ts';
import { objectStoreFenceContract, type StoreFactory, storeContract } from './contract.ts';

const factory: StoreFactory = async (t, { expiresAfter }) => {
  const gcs = await startGcsServer(t);
  const config = gcsStoreSchema.parse({
    type: 'gcs',
    bucket: gcs.bucket,
    prefix: 'tus/',
    endpoint: gcs.endpoint,
    projectId: 'test',
    partSize: '5MiB',
  });
  const make = () => new GcsStore('objects', { ...config, expiresAfter });
  const store = make();
  return {
    store,
    reopen: make,
    leftovers: async (id) => {
      const [files] = await gcs.storage.bucket(gcs.bucket).getFiles({ prefix: store.keyOf(id) });
      return files.map((file) => file.name);
    },
  };
};

storeContract('gcs (fake-gcs-server)', factory);
objectStoreFenceContract('gcs (fake-gcs-server)', factory);

test('more parts than one compose takes (32) are composed in rounds', async (t) => {
  const gcs = await startGcsServer(t);
  const store = new GcsStore(
    'objects',
    gcsStoreSchema.parse({
      type: 'gcs',
      bucket: gcs.bucket,
      endpoint: gcs.endpoint,
      projectId: 'test',
      partSize: '256KiB',
    }),
  );
  const data = randomBytes(70 * 256 * 1024 + 5);
  const info = store.newInfo(newUploadId(), {
    Size: data.length,
    SizeIsDeferred: false,
    MetaData: {},
    IsPartial: false,
    IsFinal: false,
    PartialUploads: null,
  });
  await store.create(info);
  const handle = await store.openAppend(info, { revocable: false });
  await handle.writev([data], 0);
  await handle.close();
  await store.finish(info);
  const digest = createHash('sha256');
  for await (const chunk of await store.read(info.ID, data.length)) digest.update(chunk as Buffer);
  assert.equal(digest.digest('hex'), createHash('sha256').update(data).digest('hex'));
  const [left] = await gcs.storage
    .bucket(gcs.bucket)
    .getFiles({ prefix: `${store.keyOf(info.ID)}.` });
  assert.deepEqual(
    left.map((file) => file.name),
    [`${store.keyOf(info.ID)}.info`],
  );
});
