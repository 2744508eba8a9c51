import type { LockAnswer, PrimaryLockRequest as LockRequest } from './primary-locker.ts';

/** A request waiting for a held lock. */
interface Waiter {
  worker: number;
  request: number;
  timer: NodeJS.Timeout;
}

interface Lock {
  worker: number;
  token: number;
  waiters: Waiter[];
}

/**
 * The upload locks of every worker on this host, kept in the primary process (the other half of
 * primary-locker.ts). One holder per (store root, upload id); waiters are served in arrival order
 * and refused after their timeout; a worker that exits loses every lock and place in line it had,
 * so a killed worker's uploads can be resumed on another at once. Each grant carries a new token:
 * a release with an old token (a request that outlived its lock) changes nothing.
 */
export class PrimaryLockTable {
  readonly #locks = new Map<string, Lock>();
  readonly #send: (worker: number, message: LockAnswer) => boolean;
  #nextToken = 1;

  /** `send` delivers an answer to a worker and says whether it could. */
  constructor(send: (worker: number, message: LockAnswer) => boolean) {
    this.#send = send;
  }

  /** Handles a message from a worker; false when it is not a lock message. */
  handle(worker: number, message: unknown): boolean {
    const request = message as LockRequest;
    switch (request?.tusgate) {
      case 'lock-acquire':
        this.#acquire(worker, request.table, request.id, request.timeoutMs, request.request);
        return true;
      case 'lock-release':
        this.#release(worker, request.table, request.id, request.token);
        return true;
      case 'lock-held-anywhere':
        this.#send(worker, {
          tusgate: 'lock-held-ids',
          request: request.request,
          ids: this.heldIds(request.table),
        });
        return true;
      default:
        return false;
    }
  }

  heldIds(table: string): string[] {
    const prefix = `${table}\0`;
    return [...this.#locks.keys()]
      .filter((key) => key.startsWith(prefix))
      .map((key) => key.slice(prefix.length));
  }

  /** How many locks are held (for tests and logs). */
  get size(): number {
    return this.#locks.size;
  }

  /** A worker exited: its locks go to the next waiters, its waiting requests leave the lines. */
  forgetWorker(worker: number): void {
    for (const [key, lock] of [...this.#locks]) {
      lock.waiters = lock.waiters.filter((waiter) => {
        if (waiter.worker !== worker) return true;
        clearTimeout(waiter.timer);
        return false;
      });
      if (lock.worker === worker) this.#handOn(key, lock);
    }
  }

  #acquire(worker: number, table: string, id: string, timeoutMs: number, request: number): void {
    const key = `${table}\0${id}`;
    const lock = this.#locks.get(key);
    if (!lock) {
      this.#grant(key, worker, request, []);
      return;
    }
    if (timeoutMs <= 0) {
      this.#send(worker, { tusgate: 'lock-refused', request });
      return;
    }
    const waiter: Waiter = {
      worker,
      request,
      timer: setTimeout(() => {
        const current = this.#locks.get(key);
        if (current) current.waiters = current.waiters.filter((other) => other !== waiter);
        this.#send(worker, { tusgate: 'lock-refused', request });
      }, timeoutMs),
    };
    lock.waiters.push(waiter);
    // Someone is waiting: ask the holder to let go (it may ignore this).
    this.#send(lock.worker, { tusgate: 'lock-release-request', table, id, token: lock.token });
  }

  #release(worker: number, table: string, id: string, token: number): void {
    const key = `${table}\0${id}`;
    const lock = this.#locks.get(key);
    if (!lock || lock.worker !== worker || lock.token !== token) return;
    this.#handOn(key, lock);
  }

  /** Gives a freed lock to its first waiter that can still be told, or frees it. */
  #handOn(key: string, lock: Lock): void {
    for (;;) {
      const next = lock.waiters.shift();
      if (!next) {
        this.#locks.delete(key);
        return;
      }
      clearTimeout(next.timer);
      if (this.#grant(key, next.worker, next.request, lock.waiters)) return;
    }
  }

  #grant(key: string, worker: number, request: number, waiters: Waiter[]): boolean {
    const token = this.#nextToken++;
    this.#locks.set(key, { worker, token, waiters });
    if (this.#send(worker, { tusgate: 'lock-granted', request, token })) return true;
    this.#locks.delete(key);
    return false;
  }
}
