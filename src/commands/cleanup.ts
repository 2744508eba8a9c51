import type { Logger } from 'pino';
import { cleanupStore } from '../backends/native/cleanup.ts';
import {
  type CleanupRecord,
  readCleanupRecord,
  writeCleanupRecord,
} from '../backends/native/cleanup-record.ts';
import { DateShardedStore } from '../backends/native/store.ts';
import { loadStoresConfigFile, type StoresConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';

/**
 * Removes expired uploads (and their hand-off links) from every date-sharded store of a config,
 * once. Only folders whose whole period is past the TTL go, and new requests for their uploads get
 * 410. But this process cannot see a running server's locks: a PATCH that began before its upload
 * expired and is still writing can lose its folder. The server's own scheduled runs skip such a
 * folder, so prefer them (docs/design.md, Expiry). Reads only the config's `stores` and `logging`.
 * Each real run is left in the store root (`.tusgate-cleanup.json`), where a running server's
 * /metrics pick it up.
 */
export async function cleanupCommand(file: string, dryRun: boolean): Promise<number> {
  let config: StoresConfig;
  try {
    config = await loadStoresConfigFile(file);
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
    const started = performance.now();
    try {
      const report = await cleanupStore(store, { dryRun });
      if (!dryRun) {
        const finishedAt = Date.now();
        await leaveRecord(store.root, log, {
          finishedAt,
          ok: true,
          removedFiles: report.removedFiles,
          removedUploads: report.removedUploads,
          removedHandoffLinks: report.removedHandoffLinks.length,
          durationSeconds: report.durationMs / 1000,
          lastSuccessAt: finishedAt,
        });
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
      if (!dryRun) await recordFailure(store.root, performance.now() - started, log);
    }
  }
  log.flush?.();
  return failed ? 1 : 0;
}

/** A failed run is recorded too (the server counts it); the last success is carried over. */
function recordFailure(root: string, durationMs: number, log: Logger): Promise<void> {
  const lastSuccessAt = readCleanupRecord(root)?.lastSuccessAt;
  return leaveRecord(root, log, {
    finishedAt: Date.now(),
    ok: false,
    removedFiles: 0,
    removedUploads: 0,
    removedHandoffLinks: 0,
    durationSeconds: durationMs / 1000,
    ...(lastSuccessAt === undefined ? {} : { lastSuccessAt }),
  });
}

/** The record is for the server's metrics: failing to leave it does not fail the cleanup. */
async function leaveRecord(root: string, log: Logger, record: CleanupRecord): Promise<void> {
  try {
    await writeCleanupRecord(root, record);
  } catch (error) {
    log.warn({ err: error, root }, 'cleanup: could not record the run for the server');
  }
}
