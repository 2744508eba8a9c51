import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AffinityEntry, AffinityStore } from './affinity-store.ts';

/** How long one Redis command may take before the request it serves answers 503. */
const commandTimeoutMs = 1000;

/**
 * Several processes or hosts: the table in Redis, each entry expiring with the uploads it
 * describes. While Redis is down commands fail at once (no offline queue piling up requests) and
 * the client reconnects in the background, so tusgate recovers without a restart.
 */
export class RedisAffinityStore implements AffinityStore {
  readonly kind = 'redis';
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #where: string;
  #everReady = false;
  #down = false;

  constructor(url: string, options: { keyPrefix: string; ttlMs: number; log: Logger }) {
    this.#redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: commandTimeoutMs,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    });
    this.#prefix = options.keyPrefix;
    this.#ttlMs = Math.max(1000, options.ttlMs);
    // Host and port only: the URL may carry a password.
    const parsed = new URL(url);
    this.#where = `redis at ${parsed.hostname}:${parsed.port || '6379'}`;
    const log = options.log;
    this.#redis.on('ready', () => {
      this.#everReady = true;
      if (this.#down) log.info({ store: this.#where }, 'ownership store reachable again');
      this.#down = false;
    });
    this.#redis.on('error', (error: Error) => {
      // ioredis reports every failed reconnect; one line per outage is enough.
      if (!this.#down) log.error({ err: error, store: this.#where }, 'ownership store unreachable');
      this.#down = true;
    });
  }

  async get(id: string): Promise<AffinityEntry | undefined> {
    await this.#connected();
    const text = await this.#redis.get(this.#prefix + id);
    return text === null ? undefined : (JSON.parse(text) as AffinityEntry);
  }

  async set(id: string, entry: AffinityEntry): Promise<void> {
    await this.#connected();
    await this.#redis.set(this.#prefix + id, JSON.stringify(entry), 'PX', this.#ttlMs);
  }

  async checkReady(): Promise<void> {
    try {
      await this.#connected();
      await this.#redis.ping();
    } catch (error) {
      throw new Error(`${this.#where}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * The first connection is waited for briefly (a gateway just started should not refuse its
   * first requests); after that, a lost connection fails commands at once until it is back.
   */
  async #connected(): Promise<void> {
    if (this.#redis.status === 'ready' || this.#everReady) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#redis.off('ready', onReady);
        reject(new Error('not connected yet'));
      }, commandTimeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#redis.once('ready', onReady);
    });
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
