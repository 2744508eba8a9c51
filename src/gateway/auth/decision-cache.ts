/**
 * Remembers decisions by credential hash for a while, and folds concurrent look-ups of the same
 * credentials into one: a client sending chunks in parallel costs one call, not one per chunk.
 */
export class DecisionCache<T> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { value: T; expires: number }>();
  readonly #pending = new Map<string, Promise<T>>();

  constructor(ttlMs: number, options: { maxEntries?: number; now?: () => number } = {}) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached value, or the one `load` gives; `keep` decides whether it is cached. */
  async get(
    key: string,
    load: () => Promise<T>,
    keep: (value: T) => boolean,
  ): Promise<{ value: T; cached: boolean }> {
    const entry = this.#entries.get(key);
    if (entry && entry.expires > this.#now()) return { value: entry.value, cached: true };
    if (entry) this.#entries.delete(key);
    const pending = this.#pending.get(key);
    if (pending) return { value: await pending, cached: true };
    const loading = load();
    this.#pending.set(key, loading);
    try {
      const value = await loading;
      if (keep(value) && this.#ttlMs > 0) this.#store(key, value);
      return { value, cached: false };
    } finally {
      this.#pending.delete(key);
    }
  }

  #store(key: string, value: T): void {
    this.#entries.set(key, { value, expires: this.#now() + this.#ttlMs });
    if (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }
}
