import { cleanupStore } from '../backends/native/cleanup.ts';
import { DateShardedStore } from '../backends/native/store.ts';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';

/**
 * Removes expired uploads (and their hand-off links) from every date-sharded store of a config,
 * once. Only folders whose whole period is past the TTL go, and new requests for their uploads get
 * 410. But this process cannot see a running server's locks: a PATCH that began before its upload
 * expired and is still writing can lose its folder. The server's own scheduled runs skip such a
 * folder, so prefer them (docs/design.md, Expiry).
 */
export async function cleanupCommand(file: string, dryRun: boolean): Promise<number> {
  let config: Awaited<ReturnType<typeof loadConfigFile>>;
  try {
    config = await loadConfigFile(file);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const log = createLogger(config.logging);
  let failed = false;
  for (const [name, storeConfig] of Object.entries(config.stores)) {
    const store = new DateShardedStore(name, storeConfig);
    if (store.expiresAfter === undefined) {
      log.info({ store: name }, 'cleanup: store has no expiresAfter, nothing to expire');
      continue;
    }
    try {
      const report = await cleanupStore(store, { dryRun });
      log.info(
        {
          store: name,
          dryRun,
          cutoff: new Date(report.cutoff).toISOString(),
          removedFolders: report.removedFolders,
          removedFiles: report.removedFiles,
          removedUploads: report.removedUploads,
          sweptFolders: report.sweptFolders,
          removedHandoffLinks: report.removedHandoffLinks.length,
          // The dry run names them, so an operator sees which hand-off files would go.
          ...(dryRun ? { handoffLinks: report.removedHandoffLinks } : {}),
          durationMs: Math.round(report.durationMs),
        },
        dryRun ? 'cleanup (dry run): would remove' : 'cleanup: removed',
      );
    } catch (error) {
      failed = true;
      log.error({ err: error, store: name }, 'cleanup failed');
    }
  }
  log.flush?.();
  return failed ? 1 : 0;
}
