import { createLocker } from '../backends/locking/create-locker.ts';
import { cleanupUnderLock } from '../backends/native/locked-cleanup.ts';
import { DateShardedStore } from '../backends/native/store.ts';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';

/**
 * Removes expired uploads (and their hand-off links) from every date-sharded store of a config,
 * once. Only folders whose whole period is past the TTL go; new requests for the uploads in them
 * get 410 from the server. A PATCH that began before its upload expired may still be running:
 * with `locking.type: redis` this command sees every server's locks, keeps the folders of held
 * uploads, and takes the store's cleanup lease (one run at a time across replicas and cron). With
 * memory locking the locks live inside the server, out of this command's sight: see
 * docs/scaling.md (the server's own scheduled cleanup does see them).
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
  const locker = createLocker(config.locking, { log });
  let failed = false;
  for (const [name, storeConfig] of Object.entries(config.stores)) {
    const store = new DateShardedStore(name, storeConfig);
    if (store.expiresAfter === undefined) {
      log.info({ store: name }, 'cleanup: store has no expiresAfter, nothing to expire');
      continue;
    }
    try {
      const report = await cleanupUnderLock(store, locker, { dryRun });
      if (report === null) {
        log.info({ store: name }, 'cleanup: another process is cleaning this store; skipped');
        continue;
      }
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
  await locker.close();
  log.flush?.();
  return failed ? 1 : 0;
}
