import { z } from 'zod';
import { duration } from './common.ts';

/**
 * The upload lock: one writer per upload. memory (default) holds the locks of one process;
 * redis holds them for every process and host over one store, with hand-over between them.
 */
export const lockingSchema = z
  .strictObject({
    type: z.enum(['memory', 'redis']).default('memory'),
    /** redis://host:port/db (type redis). */
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    keyPrefix: z.string().min(1).default('tusgate:lock:'),
    /**
     * Lease length: a holder renews it while its request runs; a lock whose holder died frees
     * after this.
     */
    ttl: duration.default(10_000),
  })
  .superRefine((locking, ctx) => {
    if (locking.type === 'redis' && locking.url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'required when type is redis' });
    }
    if (locking.type === 'memory' && locking.url !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'set, but type is memory: remove it or use type: redis',
      });
    }
    if (locking.ttl < 3000) {
      ctx.addIssue({ code: 'custom', path: ['ttl'], message: 'must be at least 3s' });
    }
  });
