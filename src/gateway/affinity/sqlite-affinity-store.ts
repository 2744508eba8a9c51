import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { StartupError } from '../../errors.ts';
import type { AffinityEntry, AffinityStore } from './affinity-store.ts';

const purgeBatch = 1000;

const schema = `
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = NORMAL;
  CREATE TABLE IF NOT EXISTS ownership (
    id TEXT PRIMARY KEY,
    entry TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS ownership_expiry ON ownership (expires_at);
  CREATE TABLE IF NOT EXISTS probe (name TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
`;

/**
 * One host: the table in an SQLite file (WAL), so owners survive restarts. node:sqlite is
 * synchronous: every call here is one indexed row, and expired rows are purged in small batches.
 */
export class SqliteAffinityStore implements AffinityStore {
  readonly kind = 'sqlite';
  readonly #db: DatabaseSync;
  readonly #ttlMs: number;
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;
  readonly #purge: StatementSync;
  readonly #probe: StatementSync;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #path: string;
  /** The file opened; one removed or replaced later no longer receives what is written. */
  readonly #file: { dev: number; ino: number };
  #purging = false;
  readonly #now: () => number;

  constructor(
    path: string,
    options: {
      ttlMs: number;
      purgeIntervalMs?: number;
      onPurgeError?: (error: unknown) => void;
      /** The clock expiry reads (tests set one). */
      now?: () => number;
    },
  ) {
    this.#now = options.now ?? Date.now;
    mkdirSync(dirname(path), { recursive: true });
    this.#path = path;
    try {
      this.#db = new DatabaseSync(path, { timeout: 1000 });
      this.#db.exec(schema);
    } catch (error) {
      throw new StartupError(
        `the owner table ${path} cannot be used (${(error as Error).message}): restore it from a backup, or move it aside to start with an empty one (owners recorded in it are then forgotten)`,
        { cause: error },
      );
    }
    const { dev, ino } = statSync(path);
    this.#file = { dev, ino };
    this.#ttlMs = options.ttlMs;
    this.#select = this.#db.prepare('SELECT entry FROM ownership WHERE id = ? AND expires_at > ?');
    this.#upsert = this.#db.prepare(
      `INSERT INTO ownership (id, entry, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET entry = excluded.entry, expires_at = excluded.expires_at`,
    );
    this.#purge = this.#db.prepare(
      `DELETE FROM ownership WHERE id IN
         (SELECT id FROM ownership WHERE expires_at <= ? LIMIT ${purgeBatch})`,
    );
    this.#probe = this.#db.prepare(
      `INSERT INTO probe (name, at) VALUES ('readyz', ?)
       ON CONFLICT (name) DO UPDATE SET at = excluded.at`,
    );
    const interval = options.purgeIntervalMs ?? Math.min(3_600_000, Math.max(1000, this.#ttlMs));
    this.#purgeTimer = setInterval(() => {
      this.purgeExpired().catch((error: unknown) => options.onPurgeError?.(error));
    }, interval);
    this.#purgeTimer.unref();
  }

  async get(id: string): Promise<AffinityEntry | undefined> {
    const row = this.#select.get(id, this.#now()) as { entry: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.entry) as AffinityEntry);
  }

  async set(id: string, entry: AffinityEntry): Promise<void> {
    this.#checkSameFile();
    this.#upsert.run(id, JSON.stringify(entry), this.#now() + this.#ttlMs);
  }

  /** Writes one row: proves the file is writable, not only readable. */
  async checkReady(): Promise<void> {
    this.#checkSameFile();
    this.#probe.run(this.#now());
  }

  /**
   * A file removed or replaced under a running process (a restore, a cleanup script) would take
   * every later owner into a file no one reads again: from then on the table fails closed.
   */
  #checkSameFile(): void {
    let current: { dev: number; ino: number };
    try {
      current = statSync(this.#path);
    } catch (error) {
      throw new Error(
        `the owner table ${this.#path} is gone (${(error as NodeJS.ErrnoException).code}): restart tusgate once the file is back, or to start an empty one`,
      );
    }
    if (current.dev !== this.#file.dev || current.ino !== this.#file.ino) {
      throw new Error(
        `the owner table ${this.#path} was replaced while tusgate ran: restart tusgate to use the new file`,
      );
    }
  }

  /** Deletes expired rows a batch at a time, yielding to requests between batches. */
  async purgeExpired(): Promise<number> {
    if (this.#purging || !this.#db.isOpen) return 0;
    this.#purging = true;
    let removed = 0;
    try {
      for (;;) {
        const { changes } = this.#purge.run(this.#now());
        removed += Number(changes);
        if (Number(changes) < purgeBatch || !this.#db.isOpen) return removed;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#purging = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#purgeTimer);
    if (this.#db.isOpen) this.#db.close();
  }
}
