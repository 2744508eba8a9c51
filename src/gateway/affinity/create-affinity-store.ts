import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../../config/schema/index.ts';
import { type AffinityStore, MemoryAffinityStore } from './affinity-store.ts';
import { FailClosedAffinityStore } from './fail-closed.ts';
import { RedisAffinityStore } from './redis-affinity-store.ts';
import { SqliteAffinityStore } from './sqlite-affinity-store.ts';

/** The configured owner/affinity store, failing closed (see fail-closed.ts). */
export function createAffinityStore(
  config: Config['affinity'],
  deps: { log: Logger; registry: Registry },
): FailClosedAffinityStore {
  let store: AffinityStore;
  let description: string;
  switch (config.type) {
    case 'redis': {
      const url = new URL(config.redis as string);
      description = `redis at ${url.hostname}:${url.port || '6379'}`;
      store = new RedisAffinityStore(url.href, {
        keyPrefix: config.keyPrefix,
        ttlMs: config.ttl,
        log: deps.log,
      });
      break;
    }
    case 'memory':
      description = 'memory';
      deps.log.warn('owners of proxied uploads are kept in memory: a restart forgets them');
      store = new MemoryAffinityStore();
      break;
    default: {
      const path = resolve(config.path);
      description = `sqlite at ${path}`;
      store = new SqliteAffinityStore(path, {
        ttlMs: config.ttl,
        onPurgeError: (error) =>
          deps.log.warn({ err: error, store: description }, 'purging expired owners failed'),
      });
    }
  }
  return new FailClosedAffinityStore(store, { registry: deps.registry, description });
}
