import { isIP } from 'node:net';
import { z } from 'zod';
import { duration, listenAddress, size } from './common.ts';

/**
 * A TLS listener's certificate and key (PEM files). They are read at start, and again when either
 * file changes or on SIGHUP: new connections get the new pair, open ones keep theirs.
 */
export const tlsSchema = z.strictObject({
  cert: z.string().min(1),
  key: z.string().min(1),
  /** PEM bundle of the CAs whose client certificates are accepted; set, a client needs one. */
  clientCa: z.string().min(1).optional(),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
});

export const serverSchema = z
  .strictObject({
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
    /**
     * Processes serving the public listener (node:cluster): 1 is one process as ever; `auto` is one
     * per core (os.availableParallelism()). With more than one, a primary process holds the admin
     * listener, the upload locks and the config, and replaces workers that die.
     */
    workers: z
      .union([z.literal('auto'), z.number().int().min(1).max(256)], {
        error: 'must be auto or a whole number of processes from 1 to 256',
      })
      .default(1),
    /** Bearer token for /admin/* on the admin listener; without it those endpoints are off. */
    adminToken: z.string().min(16, 'use at least 16 characters').optional(),
    /** Serve the public listener over HTTPS. */
    tls: tlsSchema.optional(),
    /** HTTP/2 on the TLS listener, chosen by ALPN; HTTP/1.1 clients are still served. */
    http2: z.boolean().default(false),
    /**
     * Cleartext HTTP/2 with prior knowledge (h2c) on the plain listener, for a proxy that speaks h2c
     * upstream; each connection is told apart by its first bytes, so HTTP/1.1 is still served.
     */
    h2c: z.boolean().default(false),
    /** Serve the admin listener over HTTPS too, with its own certificate. */
    adminTls: tlsSchema.optional(),
  })
  .superRefine((server, ctx) => {
    if (server.http2 && !server.tls) {
      ctx.addIssue({
        code: 'custom',
        path: ['http2'],
        message: 'needs server.tls: HTTP/2 is offered by ALPN on the TLS listener',
      });
    }
    if (server.h2c && server.tls) {
      ctx.addIssue({
        code: 'custom',
        path: ['h2c'],
        message: 'is for a listener without tls; with tls, use server.http2',
      });
    }
  });

/**
 * The owner/affinity table of proxied uploads: who created each one and on which backend.
 * sqlite (default) survives restarts on one host; redis serves several processes or hosts;
 * memory forgets every owner on restart and is only used when chosen.
 */
export const affinitySchema = z
  .strictObject({
    /** Default: redis when `redis` is set, else sqlite. */
    type: z.enum(['sqlite', 'redis', 'memory']).optional(),
    /** The sqlite file (its folder is created); opened only when a route has a proxy backend. */
    path: z.string().min(1).default('./data/tusgate-affinity.sqlite'),
    /** redis://host:port/db: share the table between processes and hosts. */
    redis: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    keyPrefix: z.string().default('tusgate:affinity:'),
    /** How long an entry is kept: at least as long as uploads live. */
    ttl: duration.default(30 * 86_400_000),
  })
  .superRefine((affinity, ctx) => {
    if (affinity.type === 'redis' && affinity.redis === undefined) {
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'required when type is redis' });
    }
    if (affinity.type !== undefined && affinity.type !== 'redis' && affinity.redis !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['redis'],
        message: `set, but type is ${affinity.type}: remove it or use type: redis`,
      });
    }
  })
  .transform((affinity) => ({
    ...affinity,
    type: affinity.type ?? (affinity.redis !== undefined ? 'redis' : 'sqlite'),
  }));

export const loggingSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  pretty: z.union([z.boolean(), z.literal('auto')]).default('auto'),
});
