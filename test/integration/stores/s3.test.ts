import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3Store } from '../../../src/backends/native/object/s3-store.ts';
import { s3StoreSchema } from '../../../src/config/schema/store.ts';
import { startS3Server } from '../../helpers/s3-server.ts';
import { objectStoreFenceContract, type StoreFactory, storeContract } from './contract.ts';

const factory: StoreFactory = async (t, { expiresAfter }) => {
  const s3 = await startS3Server(t);
  const config = s3StoreSchema.parse({
    type: 's3',
    bucket: s3.bucket,
    prefix: 'tus/',
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    partSize: '5MiB',
  });
  const make = () => new S3Store('objects', { ...config, expiresAfter });
  const store = make();
  t.after(() => store.client.destroy());
  return {
    store,
    reopen: make,
    leftovers: async (id) => {
      const key = store.keyOf(id);
      const objects = await s3.client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: key }),
      );
      const uploads = await s3.client.send(
        new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: key }),
      );
      return [
        ...(objects.Contents ?? []).map((object) => object.Key ?? ''),
        ...(uploads.Uploads ?? []).map((upload) => `multipart ${upload.Key}`),
      ];
    },
  };
};

storeContract('s3 (Versity Gateway)', factory);
objectStoreFenceContract('s3 (Versity Gateway)', factory);
