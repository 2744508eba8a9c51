import type { Logger } from 'pino';
import type { StoreConfig } from '../../config/schema/index.ts';
import { ConfigError } from '../../errors.ts';
import type { UploadLocker } from '../locking/locker.ts';
import type { CleanupReport } from './cleanup.ts';
import { createStore } from './create-store.ts';
import { handoffDirIssues } from './handoff-dir.ts';
import { cleanupUnderLock } from './locked-cleanup.ts';
import type { UploadStore } from './upload-store.ts';

/** Told about every scheduled cleanup run: its report, or the error that stopped it. */
export type CleanupListener = (
  store: string,
  outcome: CleanupReport | Error,
  /** The root the run walked. */
  root: string,
) => void;

export interface StoreRuntime {
  readonly store: UploadStore;
  /** The gateway's locker, shared by every store and config generation: one writer per upload,
   * whatever route or config generation it came by. */
  readonly locker: UploadLocker;
  /** A cleanup run is under way. */
  cleaning?: boolean;
}

/** Where backends find their store: the stores of one config generation. */
export interface StoreLookup {
  get(name: string): StoreRuntime;
}

interface StoreEntry extends StoreRuntime {
  readonly config: StoreConfig;
  timer?: NodeJS.Timeout;
  /** Aborted when the store leaves the config in force: a cleanup under way stops before its
   * next removal. */
  readonly retired: AbortController;
}

/**
 * The stores of one config generation, built by `StoreRegistry.prepare` without changing the
 * stores in force; `StoreRegistry.commit` puts them in force.
 */
export class StoreSet implements StoreLookup {
  readonly entries: ReadonlyMap<string, StoreEntry>;

  constructor(entries: ReadonlyMap<string, StoreEntry>) {
    this.entries = entries;
  }

  get(name: string): StoreRuntime {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`unknown store ${name}`);
    return entry;
  }
}

/**
 * The stores of one gateway, with their scheduled cleanups. A reload is two steps: `prepare`
 * builds the new set and changes nothing, `commit` puts it in force (stopping the cleanups of
 * stores that left or changed, starting those of stores that came or changed). Stores whose
 * config did not change carry over as they are. Every store uses the gateway's one locker, so
 * requests still draining on an old config and new ones exclude each other even when a store was
 * renamed or changed around the same files (upload ids are unique across stores).
 */
export class StoreRegistry implements StoreLookup {
  #current: StoreSet;
  readonly #locker: UploadLocker;
  /** Store roots seen to exist, kept across reloads (see DateShardedStore). */
  readonly #rootsSeen = new Set<string>();
  readonly #log: Logger;
  readonly #onCleanup: CleanupListener | undefined;
  #started = false;

  constructor(
    configs: Record<string, StoreConfig>,
    locker: UploadLocker,
    log: Logger,
    onCleanup?: CleanupListener,
  ) {
    this.#locker = locker;
    this.#log = log;
    this.#onCleanup = onCleanup;
    this.#current = new StoreSet(new Map());
    this.commit(this.prepare(configs));
  }

  /** The stores in force. */
  get current(): StoreSet {
    return this.#current;
  }

  /**
   * Builds the stores of a config; nothing in force changes until `commit`. A hand-off folder
   * that does not exist refuses the config (a ConfigError naming the key).
   */
  prepare(configs: Record<string, StoreConfig>): StoreSet {
    const issues = handoffDirIssues(configs);
    if (issues.length > 0) throw new ConfigError(issues);
    const entries = new Map<string, StoreEntry>();
    for (const [name, config] of Object.entries(configs)) {
      const current = this.#current.entries.get(name);
      if (current && JSON.stringify(current.config) === JSON.stringify(config)) {
        entries.set(name, current);
        continue;
      }
      const store = createStore(name, config, this.#rootsSeen);
      entries.set(name, {
        store,
        locker: this.#locker,
        config,
        retired: new AbortController(),
      });
    }
    return new StoreSet(entries);
  }

  /** Puts a prepared set in force; stores it does not keep never clean up again. */
  commit(next: StoreSet): void {
    const previous = this.#current;
    this.#current = next;
    const kept = new Set(next.entries.values());
    for (const entry of previous.entries.values()) {
      if (kept.has(entry)) continue;
      entry.retired.abort();
      clearInterval(entry.timer);
      entry.timer = undefined;
    }
    if (this.#started) this.#startTimers();
  }

  get(name: string): StoreRuntime {
    return this.#current.get(name);
  }

  /** Starts each store's periodic cleanup (stores without a TTL have none), now and after reloads. */
  startCleanups(): void {
    this.#started = true;
    this.#startTimers();
  }

  #startTimers(): void {
    for (const entry of this.#current.entries.values()) {
      if (entry.store.expiresAfter === undefined || entry.timer) continue;
      entry.timer = setInterval(() => void this.runCleanup(entry), entry.store.cleanupInterval);
      entry.timer.unref();
    }
  }

  /** Runs one cleanup of a store `get` gave. */
  async runCleanup(runtime: StoreRuntime): Promise<void> {
    const entry = runtime as StoreEntry;
    // Only stores in force clean up. A run slower than the interval (a huge backlog, a slow
    // file system) is not doubled up.
    if (this.#current.entries.get(entry.store.name) !== entry || entry.cleaning) return;
    entry.cleaning = true;
    try {
      await this.#cleanup(entry);
    } finally {
      entry.cleaning = false;
    }
  }

  async #cleanup(entry: StoreEntry): Promise<void> {
    const { store, locker } = entry;
    try {
      const report = await cleanupUnderLock(store, locker, { signal: entry.retired.signal });
      if (report === null) {
        this.#log.info({ store: store.name }, 'cleanup skipped: another process is running one');
        return;
      }
      this.#onCleanup?.(store.name, report, store.location);
      this.#log.info(
        {
          store: store.name,
          root: store.location,
          removedFolders: report.removedFolders,
          removedFiles: report.removedFiles,
          removedUploads: report.removedUploads,
          skippedFolders: report.skippedFolders,
          durationMs: Math.round(report.durationMs),
        },
        'cleanup finished',
      );
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.#onCleanup?.(store.name, failure, store.location);
      this.#log.error({ err: error, store: store.name, root: store.location }, 'cleanup failed');
    }
  }

  close(): void {
    this.#started = false;
    for (const entry of this.#current.entries.values()) {
      clearInterval(entry.timer);
      entry.timer = undefined;
    }
  }
}
