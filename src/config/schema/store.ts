import { z } from 'zod';
import { duration } from './common.ts';

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

export const storeSchema = z.discriminatedUnion('type', [dateShardedStoreSchema]);
