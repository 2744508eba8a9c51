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

export const dateShardedStoreSchema = z.strictObject({
  type: z.literal('date-sharded'),
  root: z.string().min(1),
  layout,
  handoffDir: z.string().min(1).optional(),
  expiresAfter: duration.optional(),
  cleanupInterval: duration.default(3_600_000),
});

export const storeSchema = z.discriminatedUnion('type', [dateShardedStoreSchema]);
