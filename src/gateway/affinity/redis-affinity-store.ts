import { Redis } from 'ioredis';
import type { AffinityEntry, AffinityStore } from './affinity-store.ts';

/** Several replicas: the table in Redis, each entry expiring with the uploads it describes. */
export class RedisAffinityStore implements AffinityStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number;

  constructor(url: string, options: { keyPrefix: string; ttlMs: number }) {
    this.#redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
    this.#prefix = options.keyPrefix;
    this.#ttlSeconds = Math.max(1, Math.ceil(options.ttlMs / 1000));
  }

  async get(id: string): Promise<AffinityEntry | undefined> {
    const text = await this.#redis.get(this.#prefix + id);
    return text === null ? undefined : (JSON.parse(text) as AffinityEntry);
  }

  async set(id: string, entry: AffinityEntry): Promise<void> {
    await this.#redis.set(this.#prefix + id, JSON.stringify(entry), 'EX', this.#ttlSeconds);
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
