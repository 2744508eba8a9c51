import { z } from 'zod';
import { duration, size } from './common.ts';

const layoutTokens = ['{year}', '{month}', '{day}', '{hour}'];

export const layout = z
  .string()
  .default('{year}/{month}/{day}')
  .superRefine((value, ctx) => {
    const stripped = layoutTokens.reduce((text, token) => text.replaceAll(token, ''), value);
    if (/[{}]/.test(stripped)) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown token in "${value}" (tokens: ${layoutTokens.join(' ')})`,
      });
    }
    if (value.startsWith('/') || value.split('/').some((part) => part === '..' || part === '')) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a relative path of folders, e.g. {year}/{month}/{day}',
      });
    }
  });

export const dateShardedStoreSchema = z
  .strictObject({
    type: z.literal('date-sharded'),
    root: z.string().min(1),
    layout,
    handoffDir: z.string().min(1).optional(),
    expiresAfter: duration.optional(),
    handoffExpiresAfter: duration.optional(),
    cleanupInterval: duration.default(3_600_000),
  })
  .superRefine((store, ctx) => {
    if (store.handoffExpiresAfter === undefined) return;
    // Hand-off links are swept by the store's cleanup, which only runs with a TTL; past the TTL
    // the links go with their day folders anyway.
    const problem =
      store.handoffDir === undefined
        ? 'needs handoffDir'
        : store.expiresAfter === undefined
          ? 'needs expiresAfter (cleanup only runs on stores with a TTL)'
          : store.handoffExpiresAfter > store.expiresAfter
            ? 'must not be longer than expiresAfter'
            : null;
    if (problem) ctx.addIssue({ code: 'custom', path: ['handoffExpiresAfter'], message: problem });
  });

/** `tus/` or empty: a prefix of object keys, never starting with `/` nor holding `..`. */
const objectPrefix = z
  .string()
  .default('')
  .refine((value) => !value.startsWith('/') && !value.split('/').includes('..'), {
    message: 'must be a relative key prefix such as tus/ (no leading / and no ..)',
  });

/** Galaxy's hand-off needs a POSIX folder; an object store is refused it, with the reason. */
function refuseHandOff(
  store: { type: string; handoffDir?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (store.handoffDir === undefined) return;
  ctx.addIssue({
    code: 'custom',
    path: ['handoffDir'],
    message: `the Galaxy hand-off is a hard link or copy into a POSIX folder, and a ${store.type} store keeps uploads as objects, not files; leave handoffDir out and let Galaxy read finished uploads from the bucket (docs/object-storage.md), or use a date-sharded store`,
  });
}

/**
 * Uploads on an S3-compatible object store, in the same layout as `date-sharded` under
 * `prefix`. Without `accessKeyId`/`secretAccessKey` the SDK's default chain finds credentials
 * (environment, shared files, instance roles).
 */
export const s3StoreSchema = z
  .strictObject({
    type: z.literal('s3'),
    bucket: z.string().min(1),
    prefix: objectPrefix,
    layout,
    endpoint: z.string().url().optional(),
    region: z.string().min(1).default('us-east-1'),
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    forcePathStyle: z.boolean().default(false),
    /** Parts are at least this big (S3's floor is 5 MiB); also the memory one upload may hold. */
    partSize: size.default(8 * 1024 * 1024),
    /** Accepted only to be refused with the reason: Galaxy's hand-off is a POSIX folder. */
    handoffDir: z.string().min(1).optional(),
    expiresAfter: duration.optional(),
    cleanupInterval: duration.default(3_600_000),
  })
  .superRefine((store, ctx) => {
    if ((store.accessKeyId === undefined) !== (store.secretAccessKey === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretAccessKey'],
        message: 'accessKeyId and secretAccessKey go together (or neither: the default chain)',
      });
    }
    refuseHandOff(store, ctx);
    if (store.partSize < 5 * 1024 * 1024 || store.partSize > 5 * 1024 * 1024 * 1024) {
      ctx.addIssue({
        code: 'custom',
        path: ['partSize'],
        message: 'must be between 5MiB and 5GiB (S3 part limits)',
      });
    }
  });

/**
 * Uploads on Google Cloud Storage, in the same layout under `prefix`. Without `keyFilename`,
 * Google's application default credentials.
 */
export const gcsStoreSchema = z
  .strictObject({
    type: z.literal('gcs'),
    bucket: z.string().min(1),
    prefix: objectPrefix,
    layout,
    /** A GCS-compatible server (fake-gcs-server); default Google's. */
    endpoint: z.string().url().optional(),
    projectId: z.string().min(1).optional(),
    keyFilename: z.string().min(1).optional(),
    partSize: size.default(8 * 1024 * 1024),
    handoffDir: z.string().min(1).optional(),
    expiresAfter: duration.optional(),
    cleanupInterval: duration.default(3_600_000),
  })
  .superRefine((store, ctx) => {
    refuseHandOff(store, ctx);
    if (store.partSize < 256 * 1024 || store.partSize > 5 * 1024 * 1024 * 1024) {
      ctx.addIssue({
        code: 'custom',
        path: ['partSize'],
        message: 'must be between 256KiB and 5GiB',
      });
    }
  });

export const storeSchema = z.discriminatedUnion('type', [
  dateShardedStoreSchema,
  s3StoreSchema,
  gcsStoreSchema,
]);
