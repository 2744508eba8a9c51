import { randomUUID } from 'node:crypto';
import type { LockRequest, UploadLease, UploadLocker } from './locker.ts';

interface Holding {
  readonly token: string;
  readonly onReleaseRequested: (() => void) | undefined;
  readonly released: PromiseWithResolvers<void>;
  readonly lost: AbortController;
}

/**
 * The locks of one process, in a map: the default for a single tusgate process. A lease is valid
 * until released (nothing else in the process can take it meanwhile), so its fence never trips.
 * As tusd's memory locker: every new request for a held lock asks the holder to release, and
 * whoever comes first once it is free takes it.
 */
export class MemoryLocker implements UploadLocker {
  readonly kind = 'memory';
  readonly #held = new Map<string, Holding>();

  async acquire(id: string, request: LockRequest): Promise<UploadLease | null> {
    const deadline = performance.now() + request.waitMs;
    for (;;) {
      const current = this.#held.get(id);
      if (current === undefined) return this.#take(id, request);
      if (request.waitMs <= 0) return null;
      current.onReleaseRequested?.();
      const remaining = deadline - performance.now();
      if (remaining <= 0 || !(await settlesWithin(current.released.promise, remaining))) {
        return null;
      }
    }
  }

  async heldIds(): Promise<string[]> {
    return [...this.#held.keys()];
  }

  async checkReady(): Promise<void> {}

  async close(): Promise<void> {}

  #take(id: string, request: LockRequest): UploadLease {
    const holding: Holding = {
      token: randomUUID(),
      onReleaseRequested: request.onReleaseRequested,
      released: Promise.withResolvers<void>(),
      lost: new AbortController(),
    };
    this.#held.set(id, holding);
    let released = false;
    return {
      id,
      token: holding.token,
      lost: holding.lost.signal,
      isValid: () => !released,
      release: async () => {
        if (released) return;
        released = true;
        if (this.#held.get(id) === holding) this.#held.delete(id);
        holding.released.resolve();
      },
    };
  }
}

/** True when `promise` settles within `ms`. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
