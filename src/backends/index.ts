import type { Logger } from 'pino';
import type { BackendConfig, Config, RouteConfig } from '../config/schema/index.ts';
import type { HookRunner } from '../hooks/types.ts';
import { noHooks } from '../hooks/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import { NativeBackend } from './native/native-backend.ts';
import type { StoreLookup } from './native/store-registry.ts';
import { ProxyBackend } from './proxy/proxy-backend.ts';
import type { Backend } from './types.ts';

export interface BackendFactoryDeps {
  config: Config;
  metrics: Metrics;
  log: Logger;
  /** The stores of the config generation being built. */
  stores: StoreLookup;
  hooks?: HookRunner;
}

export function createBackend(
  route: RouteConfig,
  name: string,
  backend: BackendConfig,
  deps: BackendFactoryDeps,
): Backend {
  switch (backend.type) {
    case 'tusd':
    case 'rustus':
    case 'tus':
      return new ProxyBackend({
        name,
        routeName: route.name,
        publicBase: route.match.pathPrefix,
        config: backend,
        metrics: deps.metrics,
      });
    case 'native': {
      const { store, locker } = deps.stores.get(backend.store);
      return new NativeBackend({
        backendName: name,
        routeName: route.name,
        store,
        locker,
        hooks: deps.hooks ?? noHooks,
        metrics: deps.metrics,
        log: deps.log,
        maxSize: route.maxSize,
        lockTimeout: backend.lockTimeout,
        progressInterval: backend.progressInterval,
        syncOnFinish: backend.syncOnFinish,
        now: Date.now,
      });
    }
  }
}
