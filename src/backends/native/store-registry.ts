import type { Logger } from 'pino';
import type { StoreConfig } from '../../config/schema/index.ts';
import { type CleanupReport, cleanupStore } from './cleanup.ts';
import { UploadLocker } from './locker.ts';
import { DateShardedStore } from './store.ts';

/** Told about every scheduled cleanup run: its report, or the error that stopped it. */
export type CleanupListener = (store: string, outcome: CleanupReport | Error) => void;

export interface StoreRuntime {
  readonly store: DateShardedStore;
  /** Shared by every backend on this store: one writer per upload, whatever route it came by. */
  readonly locker: UploadLocker;
  /** A cleanup run is under way. */
  cleaning?: boolean;
}

/**
 * The stores of one gateway, with their lockers and scheduled cleanups. Outlives config reloads
 * for stores whose config did not change, so an upload's lock is never duplicated.
 */
export class StoreRegistry {
  readonly #stores = new Map<
    string,
    StoreRuntime & { config: StoreConfig; timer?: NodeJS.Timeout; cleaning?: boolean }
  >();
  readonly #log: Logger;
  readonly #onCleanup: CleanupListener | undefined;

  constructor(configs: Record<string, StoreConfig>, log: Logger, onCleanup?: CleanupListener) {
    this.#log = log;
    this.#onCleanup = onCleanup;
    this.update(configs);
  }

  /**
   * Applies a reloaded config: unchanged stores are kept as they are (their locks and timers
   * included), changed ones are rebuilt keeping the locker when the root stays the same.
   */
  update(configs: Record<string, StoreConfig>): void {
    for (const [name, config] of Object.entries(configs)) {
      const current = this.#stores.get(name);
      if (current && JSON.stringify(current.config) === JSON.stringify(config)) continue;
      if (current?.timer) clearInterval(current.timer);
      const store = new DateShardedStore(name, config);
      const locker =
        current && current.store.root === store.root ? current.locker : new UploadLocker();
      this.#stores.set(name, { store, locker, config });
    }
  }

  get(name: string): StoreRuntime {
    const runtime = this.#stores.get(name);
    if (!runtime) throw new Error(`unknown store ${name}`);
    return runtime;
  }

  /** Starts each store's periodic cleanup (stores without a TTL have none). */
  startCleanups(): void {
    for (const runtime of this.#stores.values()) {
      if (runtime.store.expiresAfter === undefined || runtime.timer) continue;
      runtime.timer = setInterval(
        () => void this.runCleanup(runtime),
        runtime.store.cleanupInterval,
      );
      runtime.timer.unref();
    }
  }

  async runCleanup(runtime: StoreRuntime): Promise<void> {
    // A run slower than the interval (a huge backlog, a slow file system) is not doubled up.
    if (runtime.cleaning) return;
    runtime.cleaning = true;
    try {
      await this.#cleanup(runtime);
    } finally {
      runtime.cleaning = false;
    }
  }

  async #cleanup(runtime: StoreRuntime): Promise<void> {
    const { store, locker } = runtime;
    const busyFolders = new Set([...locker.heldIds()].map((id) => store.pathsFor(id).folder));
    try {
      const report = await cleanupStore(store, { busyFolders });
      this.#onCleanup?.(store.name, report);
      this.#log.info(
        {
          store: store.name,
          removedFolders: report.removedFolders,
          removedFiles: report.removedFiles,
          removedUploads: report.removedUploads,
          skippedFolders: report.skippedFolders,
          durationMs: Math.round(report.durationMs),
        },
        'cleanup finished',
      );
    } catch (error) {
      this.#onCleanup?.(store.name, error instanceof Error ? error : new Error(String(error)));
      this.#log.error({ err: error, store: store.name }, 'cleanup failed');
    }
  }

  close(): void {
    for (const runtime of this.#stores.values()) {
      if (runtime.timer) clearInterval(runtime.timer);
      runtime.timer = undefined;
    }
  }
}
