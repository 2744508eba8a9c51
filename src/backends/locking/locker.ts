/**
 * One writer per upload, across requests, processes and hosts. A lock is held as a lease: a
 * token unique to one holding, a fence the holder checks before every write, and a way for the
 * next request to ask the holder to let go (as tusd v2 does: a request for a held upload asks
 * its holder to stop; the holder keeps the bytes on disk, records them and releases).
 *
 * Every call is a message with a plain answer (ids, tokens, booleans), so a locker can live in
 * another process (the cluster primary) or another host (Redis) without changing the callers.
 */

export interface LockRequest {
  /**
   * How long to wait for the lock. A non-zero wait asks the current holder to hand the lock over
   * (its `onReleaseRequested` runs); 0 takes the lock only when it is free and asks nobody.
   */
  waitMs: number;
  /**
   * Runs when another request asks for this lock while this holding has it: stop reading, keep
   * what is on disk, release. May run more than once; a holding that cannot stop part-way (an
   * assembly, a finish step) leaves it out and the asker waits.
   */
  onReleaseRequested?: () => void;
}

export interface UploadLease {
  readonly id: string;
  /** Unique to this holding: what the lock store compares before it extends or deletes the lock. */
  readonly token: string;
  /**
   * The fence: true while no one else can hold this lock. Synchronous and cheap: check it before
   * every write batch. Once false it stays false.
   */
  isValid(): boolean;
  /** Aborts when the lease is lost (expired, taken over, the lock store unreachable). */
  readonly lost: AbortSignal;
  /** Gives the lock back (compare-and-delete); never rejects. */
  release(): Promise<void>;
}

export interface UploadLocker {
  /** `memory` or `redis` (metrics label, logs). */
  readonly kind: string;
  /**
   * Takes an upload's lock, asking its holder to hand it over when `waitMs` allows. Resolves to
   * null when the lock stays held for `waitMs`; rejects with `LockStoreUnavailableError` when the
   * lock store cannot be reached (callers fail closed: 503).
   */
  acquire(id: string, request: LockRequest): Promise<UploadLease | null>;
  /** The ids held right now by any holder this locker can see (cleanup keeps their folders). */
  heldIds(): Promise<string[]>;
  /** Throws a descriptive error when locks cannot be taken (for /readyz). */
  checkReady(): Promise<void>;
  close(): Promise<void>;
}

/** The lock store (Redis, the cluster primary) cannot be reached: nothing may be written. */
export class LockStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LockStoreUnavailableError';
  }
}

/** A holder lost its lease mid-request: it stopped writing before anyone else could start. */
export class LeaseLostError extends Error {
  constructor(id: string) {
    super(`the lock of upload ${id} was lost`);
    this.name = 'LeaseLostError';
  }
}

/** Lock ids of things other than uploads (e.g. a cleanup run) live in their own namespace. */
export function cleanupLockId(store: string): string {
  return `cleanup:${store}`;
}
