import { isIP } from 'node:net';
import { z } from 'zod';
import { duration, listenAddress, size } from './common.ts';

export const serverSchema = z.strictObject({
  listen: listenAddress.default({ host: '127.0.0.1', port: 1080 }),
  admin: listenAddress.default({ host: '127.0.0.1', port: 9102 }),
  trustedProxies: z
    .array(
      z.string().refine((value) => isIP(value) !== 0, {
        message: 'must be an IP address',
      }),
    )
    .default(['127.0.0.1', '::1', '::ffff:127.0.0.1']),
  headersTimeout: duration.default(60_000),
  idleTimeout: duration.default(60_000),
  keepAliveTimeout: duration.default(5_000),
  shutdownTimeout: duration.default(30_000),
  maxHeaderSize: size.default(16 * 1024),
  /** Bearer token for /admin/* on the admin listener; without it those endpoints are off. */
  adminToken: z.string().min(16, 'use at least 16 characters').optional(),
});

export const affinitySchema = z.strictObject({
  /** redis://host:port/db: share the id → backend table between replicas. */
  redis: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  keyPrefix: z.string().default('tusgate:affinity:'),
  /** How long an entry is kept: at least as long as uploads live. */
  ttl: duration.default(30 * 86_400_000),
});

export const loggingSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  pretty: z.union([z.boolean(), z.literal('auto')]).default('auto'),
});
