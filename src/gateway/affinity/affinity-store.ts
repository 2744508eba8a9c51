/**
 * Which backend holds an upload (and who owns it), for ids that do not tell by their shape: two
 * legacy servers in one route both make hex ids. Written when an upload is created.
 */
export interface AffinityEntry {
  backend: string;
  principal: string | null;
  /** Declared Upload-Length at creation (null when deferred), to notice when it finishes. */
  length?: number | null;
}

export interface AffinityStore {
  get(id: string): Promise<AffinityEntry | undefined>;
  set(id: string, entry: AffinityEntry): Promise<void>;
  close(): Promise<void>;
}

/** One replica: a bounded map, oldest entries dropped first. */
export class MemoryAffinityStore implements AffinityStore {
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

  async close(): Promise<void> {}
}
