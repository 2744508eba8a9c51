import type { Logger } from 'pino';
import type { Config } from '../../config/schema/index.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { InstrumentedLocker } from './instrumented-locker.ts';
import type { UploadLocker } from './locker.ts';
import { MemoryLocker } from './memory-locker.ts';
import { RedisLocker } from './redis-locker.ts';

/** The configured upload locker, counted in `metrics` when given. */
export function createLocker(
  config: Config['locking'],
  deps: { log: Logger; metrics?: Metrics },
): UploadLocker {
  const locker =
    config.type === 'redis'
      ? new RedisLocker(config.url as string, {
          keyPrefix: config.keyPrefix,
          ttlMs: config.ttl,
          log: deps.log,
        })
      : new MemoryLocker();
  return deps.metrics ? new InstrumentedLocker(locker, deps.metrics) : locker;
}
