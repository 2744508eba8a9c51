import { z } from 'zod';
import { name } from './common.ts';
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
    sentry: sentrySchema.default(() => sentrySchema.parse({})),
    /**
     * A folder (on a local disk) where post-* hook events wait until delivered, so a restart or
     * a killed process does not lose them. Without it they wait in memory.
     */
    hookJournal: z.string().min(1).optional(),
    routes: z.array(routeSchema).min(1, 'at least one route is required'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.routes.forEach((route, index) => {
      const at = (...rest: (string | number)[]) => ['routes', index, ...rest];
      if (seen.has(route.name)) {
        ctx.addIssue({
          code: 'custom',
          path: at('name'),
          message: `duplicate route name "${route.name}"`,
        });
      }
      seen.add(route.name);
      const backendNames = Object.keys(route.backends);
      if (route.create === undefined && backendNames.length > 1) {
        ctx.addIssue({
          code: 'custom',
          path: at('create'),
          message: `required when a route has several backends (one of: ${backendNames.join(', ')})`,
        });
      }
      if (route.create !== undefined && !backendNames.includes(route.create)) {
        ctx.addIssue({
          code: 'custom',
          path: at('create'),
          message: `names no backend of this route (have: ${backendNames.join(', ')})`,
        });
      }
      if (route.canary && !backendNames.includes(route.canary.backend)) {
        ctx.addIssue({
          code: 'custom',
          path: at('canary', 'backend'),
          message: `names no backend of this route (have: ${backendNames.join(', ')})`,
        });
      }
      const natives = Object.entries(route.backends).filter(
        ([, backend]) => backend.type === 'native',
      );
      if (natives.length > 1) {
        ctx.addIssue({
          code: 'custom',
          path: at('backends', natives[1]![0]),
          message: 'a route holds at most one native backend (its ids could not tell them apart)',
        });
      }
      for (const [backendName, backend] of Object.entries(route.backends)) {
        if (backend.type === 'native' && !(backend.store in config.stores)) {
          ctx.addIssue({
            code: 'custom',
            path: at('backends', backendName, 'store'),
            message: `names no store under "stores" (have: ${Object.keys(config.stores).join(', ') || 'none'})`,
          });
        }
      }
    });
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type RouteConfig = Config['routes'][number];
export type BackendConfig = RouteConfig['backends'][string];
export type ProxyBackendConfig = Extract<BackendConfig, { url: URL }>;
export type NativeBackendConfig = Extract<BackendConfig, { type: 'native' }>;
export type StoreConfig = Config['stores'][string];
export type AuthConfig = RouteConfig['auth'];
