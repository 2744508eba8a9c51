import { z } from 'zod';
import { referenceIssues } from '../references.ts';
import { name } from './common.ts';
import { lockingSchema } from './locking.ts';
import { routeSchema } from './route.ts';
import { sentrySchema } from './sentry.ts';
import { affinitySchema, loggingSchema, serverSchema } from './server.ts';
import { storeSchema } from './store.ts';

export const configSchema = z
  .strictObject({
    server: serverSchema.default(() => serverSchema.parse({})),
    logging: loggingSchema.default(() => loggingSchema.parse({})),
    stores: z.record(name, storeSchema).default({}),
    affinity: affinitySchema.default(() => affinitySchema.parse({})),
    locking: lockingSchema.default(() => lockingSchema.parse({})),
    sentry: sentrySchema.default(() => sentrySchema.parse({})),
    /**
     * A folder (on a local disk) where post-* hook events wait until delivered, so a restart or
     * a killed process does not lose them. Without it they wait in memory.
     */
    hookJournal: z.string().min(1).optional(),
    routes: z.array(routeSchema).min(1, 'at least one route is required'),
  })
  .superRefine((config, ctx) => {
    for (const issue of referenceIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type RouteConfig = Config['routes'][number];
export type BackendConfig = RouteConfig['backends'][string];
export type ProxyBackendConfig = Extract<BackendConfig, { url: URL }>;
export type NativeBackendConfig = Extract<BackendConfig, { type: 'native' }>;
export type StoreConfig = Config['stores'][string];
export type DateShardedStoreConfig = Extract<StoreConfig, { type: 'date-sharded' }>;
export type S3StoreConfig = Extract<StoreConfig, { type: 's3' }>;
export type GcsStoreConfig = Extract<StoreConfig, { type: 'gcs' }>;
export type AuthConfig = RouteConfig['auth'];
