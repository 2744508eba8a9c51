import { ExecutionError, type Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  LeaseLostError,
  type LockRequest,
  LockStoreUnavailableError,
  type UploadLease,
  type UploadLocker,
} from './locker.ts';
import { settlesWithin } from './memory-locker.ts';

export interface RedisLockerOptions {
  /** Prefix of every key and channel, e.g. `tusgate:lock:`. */
  keyPrefix: string;
  /** Lease length: a holder renews it every third of this; a dead holder's lock frees after it. */
  ttlMs: number;
  log: Logger;
}

/** How long one Redis command may take before the request it serves answers 503. */
const commandTimeoutMs = 1000;
/**
 * A waiter that missed a release notice (pub/sub is at most once) tries again this often, so a
 * lock that expired (its holder died) is taken within this of the expiry.
 */
const retryIntervalMs = 250;

interface Holding {
  readonly token: string;
  readonly requestRelease: () => void;
  readonly lose: () => void;
}

/**
 * Locks in Redis, for several processes or hosts over one store. `@sesamecare-oss/redlock` takes,
 * extends and deletes the lock (a random token per holder; compare-and-set, compare-and-delete
 * in Lua); the hand-over is on top, over pub/sub: a request for a held upload publishes on
 * `<prefix>req:<id>`, the holder's process asks the holder to stop, the holder releases and
 * publishes on `<prefix>rel:<id>`, and the waiter takes the lock.
 *
 * Fencing: a lease is valid until a safety margin before the expiry Redis was last told (renewed
 * every third of the TTL while the request runs), and no longer than the connection to Redis
 * lives: when the connection drops every lease of this process is lost at once, so a Redis that
 * restarts empty cannot hand a lock to a second writer while the first still writes.
 */
export class RedisLocker implements UploadLocker {
  readonly kind = 'redis';
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #redlock: Redlock;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #marginMs: number;
  readonly #log: Logger;
  readonly #where: string;
  readonly #holdings = new Map<string, Set<Holding>>();
  readonly #waiters = new Map<string, Set<() => void>>();
  #down = false;
  #closed = false;

  constructor(url: string, options: RedisLockerOptions) {
    this.#prefix = options.keyPrefix;
    this.#ttlMs = Math.max(1000, options.ttlMs);
    // Clock drift and the time a write batch takes once the fence said yes.
    this.#marginMs = Math.min(2000, Math.round(this.#ttlMs / 5));
    this.#log = options.log;
    const parsed = new URL(url);
    // Host and port only: the URL may carry a password.
    this.#where = `redis at ${parsed.hostname}:${parsed.port || '6379'}`;
    const connection = {
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
    };
    this.#client = new Redis(url, {
      ...connection,
      enableOfflineQueue: false,
      commandTimeout: commandTimeoutMs,
    });
    this.#subscriber = new Redis(url, connection);
    const db = Number(parsed.pathname.slice(1) || '0');
    this.#redlock = new Redlock([this.#client], {
      retryCount: 0,
      db: Number.isInteger(db) ? db : 0,
    });
    // Redlock reports each failed attempt as an event too; the callers see the errors.
    this.#redlock.on('error', () => {});
    this.#client.on('ready', () => {
      if (this.#down) this.#log.info({ store: this.#where }, 'lock store reachable again');
      this.#down = false;
    });
    this.#client.on('error', (error: Error) => {
      if (!this.#down)
        this.#log.error({ err: error, store: this.#where }, 'lock store unreachable');
      this.#down = true;
    });
    this.#client.on('close', () => this.#loseAll());
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('pmessage', (_pattern: string, channel: string) =>
      this.#onMessage(channel),
    );
    this.#subscriber.psubscribe(`${this.#prefix}req:*`, `${this.#prefix}rel:*`).catch(() => {});
  }

  async acquire(id: string, request: LockRequest): Promise<UploadLease | null> {
    const deadline = performance.now() + request.waitMs;
    for (;;) {
      // Listen before trying, so a release between the try and the wait is not missed.
      const released = this.#nextRelease(id);
      try {
        const lock = await this.#tryAcquire(id);
        if (lock !== null) return this.#hold(id, lock, request);
        const remaining = deadline - performance.now();
        if (request.waitMs <= 0 || remaining <= 0) return null;
        await this.#client.publish(`${this.#prefix}req:${id}`, '').catch(() => {});
        await settlesWithin(released.promise, Math.min(remaining, retryIntervalMs));
      } finally {
        released.cancel();
      }
    }
  }

  async heldIds(): Promise<string[]> {
    const pattern = `${this.#key('')}*`;
    const ids: string[] = [];
    let cursor = '0';
    try {
      await this.#connected();
      do {
        const [next, keys] = await this.#client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) ids.push(key.slice(pattern.length - 1));
      } while (cursor !== '0');
    } catch (error) {
      throw new LockStoreUnavailableError(`cannot list locks in ${this.#where}`, { cause: error });
    }
    return ids;
  }

  async checkReady(): Promise<void> {
    try {
      await this.#connected();
      await this.#client.ping();
    } catch (error) {
      throw new Error(`lock store ${this.#where} unreachable: ${(error as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#loseAll();
    await Promise.allSettled([this.#client.quit(), this.#subscriber.quit()]);
    this.#client.disconnect();
    this.#subscriber.disconnect();
  }

  /** True once the connection is ready; waits for a connection under way up to a command's time. */
  async #connected(): Promise<boolean> {
    const client = this.#client;
    if (client.status === 'ready') return true;
    if (client.status === 'end') return false;
    const ready = new Promise<void>((resolve) => client.once('ready', resolve));
    return settlesWithin(ready, commandTimeoutMs);
  }

  #key(id: string): string {
    return `${this.#prefix}lock:${id}`;
  }

  /** The lock, or null when someone holds it; throws when Redis cannot be asked. */
  async #tryAcquire(id: string): Promise<Lock | null> {
    if (this.#closed) throw new LockStoreUnavailableError('the locker is closed');
    if (!(await this.#connected())) {
      throw new LockStoreUnavailableError(`lock store ${this.#where} unreachable`);
    }
    try {
      return await this.#redlock.acquire([this.#key(id)], this.#ttlMs);
    } catch (error) {
      if (await isHeldElsewhere(error)) return null;
      throw new LockStoreUnavailableError(`lock store ${this.#where} unreachable`, {
        cause: error,
      });
    }
  }

  #hold(id: string, lock: Lock, request: LockRequest): UploadLease {
    let current = lock;
    let expiresAt = lock.expiration - this.#marginMs;
    let released = false;
    let renewing = false;
    const lost = new AbortController();
    let deadline: NodeJS.Timeout | undefined;
    const stopTimers = () => {
      clearInterval(renewal);
      clearTimeout(deadline);
      this.#forget(id, holding);
    };
    const lose = () => {
      if (released || lost.signal.aborted) return;
      stopTimers();
      this.#log.warn({ uploadId: id, store: this.#where }, 'upload lock lost: stopped writing');
      lost.abort(new LeaseLostError(id));
    };
    const armDeadline = () => {
      clearTimeout(deadline);
      deadline = setTimeout(lose, Math.max(0, expiresAt - Date.now()));
      deadline.unref();
    };
    const renewal = setInterval(
      async () => {
        if (renewing || released || lost.signal.aborted) return;
        renewing = true;
        try {
          current = await current.extend(this.#ttlMs);
          expiresAt = current.expiration - this.#marginMs;
          armDeadline();
        } catch (error) {
          // Taken over or expired: lost now. Unreachable: the deadline decides.
          if (await isHeldElsewhere(error)) lose();
        } finally {
          renewing = false;
        }
      },
      Math.round(this.#ttlMs / 3),
    );
    renewal.unref();
    armDeadline();
    // Only a waiter asks (a request with no wait gives up at once), so a holding nobody asked
    // for need not announce its release: one round trip less for every uncontended request.
    let asked = false;
    const holding: Holding = {
      token: lock.value,
      requestRelease: () => {
        asked = true;
        request.onReleaseRequested?.();
      },
      lose,
    };
    const holdings = this.#holdings.get(id) ?? new Set<Holding>();
    this.#holdings.set(id, holdings);
    holdings.add(holding);
    return {
      id,
      token: lock.value,
      lost: lost.signal,
      isValid: () => !released && !lost.signal.aborted && Date.now() < expiresAt,
      release: async () => {
        if (released) return;
        released = true;
        stopTimers();
        if (lost.signal.aborted) return;
        try {
          await this.#redlock.release(current);
          if (asked) await this.#client.publish(`${this.#prefix}rel:${id}`, '');
        } catch {
          // Unreachable: the lock expires on its own; waiters retry until then.
        }
      },
    };
  }

  #forget(id: string, holding: Holding): void {
    const holdings = this.#holdings.get(id);
    holdings?.delete(holding);
    if (holdings?.size === 0) this.#holdings.delete(id);
  }

  #loseAll(): void {
    for (const holdings of [...this.#holdings.values()]) {
      for (const holding of [...holdings]) holding.lose();
    }
  }

  #onMessage(channel: string): void {
    const requestPrefix = `${this.#prefix}req:`;
    const releasePrefix = `${this.#prefix}rel:`;
    if (channel.startsWith(requestPrefix)) {
      const id = channel.slice(requestPrefix.length);
      for (const holding of this.#holdings.get(id) ?? []) holding.requestRelease();
    } else if (channel.startsWith(releasePrefix)) {
      const id = channel.slice(releasePrefix.length);
      for (const wake of [...(this.#waiters.get(id) ?? [])]) wake();
    }
  }

  /** Settles on the next release notice for `id`; `cancel` stops listening. */
  #nextRelease(id: string): { promise: Promise<void>; cancel: () => void } {
    const { promise, resolve } = Promise.withResolvers<void>();
    const waiters = this.#waiters.get(id) ?? new Set<() => void>();
    this.#waiters.set(id, waiters);
    const wake = () => resolve();
    waiters.add(wake);
    return {
      promise,
      cancel: () => {
        waiters.delete(wake);
        if (waiters.size === 0 && this.#waiters.get(id) === waiters) this.#waiters.delete(id);
      },
    };
  }
}

/** True when a redlock failure only says that someone else holds the lock. */
async function isHeldElsewhere(error: unknown): Promise<boolean> {
  if (error instanceof ResourceLockedError) return true;
  if (!(error instanceof ExecutionError) || error.attempts.length === 0) return false;
  const stats = await Promise.all(error.attempts);
  return stats.every(
    (attempt) =>
      attempt.votesAgainst.size > 0 &&
      [...attempt.votesAgainst.values()].every((cause) => cause instanceof ResourceLockedError),
  );
}
