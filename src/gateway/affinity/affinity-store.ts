/**
 * Which backend holds a proxied upload and who owns it, written when the upload is created: the
 * only record of a legacy upload's owner, and of its backend when ids do not tell (two legacy
 * servers in one route both make hex ids).
 */
export interface AffinityEntry {
  backend: string;
  principal: string | null;
  /** Declared Upload-Length at creation (null when deferred), to notice when it finishes. */
  length?: number | null;
}

/** The owner/affinity table. Every method may throw: callers fail closed (see ownership.ts). */
export interface AffinityStore {
  /** `sqlite`, `redis` or `memory`: for logs and /readyz. */
  readonly kind: string;
  get(id: string): Promise<AffinityEntry | undefined>;
  set(id: string, entry: AffinityEntry): Promise<void>;
  /** Throws a descriptive error when the store cannot record owners (for /readyz). */
  checkReady(): Promise<void>;
  close(): Promise<void>;
}

/** One replica, forgotten on restart: only when chosen explicitly. Oldest entries go first. */
export class MemoryAffinityStore implements AffinityStore {
  readonly kind = 'memory';
  readonly #entries = new Map<string, AffinityEntry>();
  readonly #maxEntries: number;

  constructor(maxEntries = 1_000_000) {
    this.#maxEntries = maxEntries;
  }

  async get(id: string): Promise<AffinityEntry | undefined> {
    return this.#entries.get(id);
  }

  async set(id: string, entry: AffinityEntry): Promise<void> {
    this.#entries.set(id, entry);
    if (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }

  async checkReady(): Promise<void> {}

  async close(): Promise<void> {}
}
