/**
 * One writer per upload inside this process. A second request for a held upload waits up to
 * `timeoutMs` for it to be released (a client that reconnects often arrives before the server has
 * noticed its old connection is gone), then gives up.
 */
export class UploadLocker {
  readonly #held = new Map<string, Array<() => void>>();

  /** Resolves to a release function, or null when the lock was not free within `timeoutMs`. */
  async acquire(id: string, timeoutMs: number): Promise<(() => void) | null> {
    if (!this.#held.has(id)) {
      this.#held.set(id, []);
      return this.#releaser(id);
    }
    if (timeoutMs <= 0) return null;
    return new Promise((resolve) => {
      const waiters = this.#held.get(id)!;
      const wake = () => {
        clearTimeout(timer);
        resolve(this.#releaser(id));
      };
      const timer = setTimeout(() => {
        const index = waiters.indexOf(wake);
        if (index !== -1) waiters.splice(index, 1);
        resolve(null);
      }, timeoutMs);
      waiters.push(wake);
    });
  }

  isHeld(id: string): boolean {
    return this.#held.has(id);
  }

  heldIds(): IterableIterator<string> {
    return this.#held.keys();
  }

  #releaser(id: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#held.get(id)?.shift();
      if (next) next();
      else this.#held.delete(id);
    };
  }
}

/**
 * What a store's users need of its lock table: this process's UploadLocker, or (with
 * `server.workers`) a table the primary process keeps for every worker (backends/locking/).
 */
export interface UploadLockTable {
  acquire(id: string, timeoutMs: number): Promise<(() => void) | null>;
  /** Held by a request of this process. */
  isHeld(id: string): boolean;
  /** Ids held by requests of this process. */
  heldIds(): Iterable<string>;
  /** Ids held anywhere the table reaches (every worker): what cleanup must leave alone. */
  heldAnywhere?(): Promise<Iterable<string>>;
}
