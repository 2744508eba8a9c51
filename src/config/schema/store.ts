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
    if (store.handoffDir !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['handoffDir'],
        message:
          'the Galaxy hand-off is a hard link or copy into a POSIX folder, and an s3 store keeps uploads as objects, not files; leave handoffDir out and let Galaxy read finished uploads from the bucket (docs/object-storage.md), or use a date-sharded store',
      });
    }
    if (store.partSize < 5 * 1024 * 1024 || store.partSize > 5 * 1024 * 1024 * 1024) {
      ctx.addIssue({
        code: 'custom',
        path: ['partSize'],
        message: 'must be between 5MiB and 5GiB (S3 part limits)',
      });
    }
  });

export const storeSchema = z.discriminatedUnion('type', [dateShardedStoreSchema, s3StoreSchema]);
