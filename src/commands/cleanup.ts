import type { Logger } from 'pino';
import { createLocker } from '../backends/locking/create-locker.ts';
import {
  type CleanupRecord,
  readCleanupRecord,
  writeCleanupRecord,
} from '../backends/native/cleanup-record.ts';
import { cleanupRecordDir, createStore } from '../backends/native/create-store.ts';
import { cleanupUnderLock } from '../backends/native/locked-cleanup.ts';
import { loadStoresConfigFile, type StoresConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';

/**
 * Removes expired uploads (and their hand-off links) from every store of a config (folders, or an
 * object store's day prefixes),
 * once. Only folders whose whole period is past the TTL go; new requests for the uploads in them
 * get 410 from the server. A PATCH that began before its upload expired may still be running:
 * with `locking.type: redis` this command sees every server's locks, keeps the folders of held
 * uploads, and takes the store's cleanup lease (one run at a time across replicas and cron). With
 * memory locking the locks live inside the server, out of this command's sight: see
 * docs/scaling.md (the server's own scheduled cleanup does see them). Reads only the config's
 * `stores`, `locking` and `logging`. Each real run on a file store is left in its root
 * (`.tusgate-cleanup.json`), where a running server's /metrics pick it up.
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
  const locker = createLocker(config.locking, { log });
  let failed = false;
  for (const [name, storeConfig] of Object.entries(config.stores)) {
    const store = createStore(name, storeConfig);
    if (store.expiresAfter === undefined) {
      log.info({ store: name }, 'cleanup: store has no expiresAfter, nothing to expire');
      continue;
    }
    const started = performance.now();
    try {
      const report = await cleanupUnderLock(store, locker, { dryRun });
      if (report === null) {
        log.info({ store: name }, 'cleanup: another process is cleaning this store; skipped');
        continue;
      }
      const recordDir = cleanupRecordDir(store);
      if (!dryRun && recordDir !== undefined) {
        const finishedAt = Date.now();
        await leaveRecord(recordDir, log, {
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
      const recordDir = cleanupRecordDir(store);
      if (!dryRun && recordDir !== undefined) {
        await recordFailure(recordDir, performance.now() - started, log);
      }
    }
  }
  await locker.close();
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
