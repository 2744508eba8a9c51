import { randomUUID } from 'node:crypto';
import {
  type LockRequest,
  LockStoreUnavailableError,
  type UploadLease,
  type UploadLocker,
} from './locker.ts';

/**
 * Upload locks of a worker of `server.workers`, kept by the primary process (the one table every
 * worker on this host shares; see primary-lock-table.ts). Same shape as the in-process
 * UploadLocker: `acquire(id, timeoutMs)` resolves to a release function or null after the
 * timeout. The primary answers in the order requests arrive, so exclusion across workers is that
 * of one process. When the primary cannot be reached (it is stopping or gone), acquiring fails
 * closed with a 503.
 *
 * Hand-over: a caller may pass `onReleaseRequest`; the primary asks the holder to let go when
 * another request waits for the same upload (tusd's requestUnlock).
 */

/** Messages a worker sends the primary. */
export type PrimaryLockRequest =
  | { tusgate: 'lock-acquire'; table: string; id: string; timeoutMs: number; request: number }
  | { tusgate: 'lock-release'; table: string; id: string; token: number }
  | { tusgate: 'lock-held-anywhere'; table: string; request: number };

/** Messages the primary sends a worker. */
export type LockAnswer =
  | { tusgate: 'lock-granted'; request: number; token: number }
  | { tusgate: 'lock-refused'; request: number }
  | { tusgate: 'lock-release-request'; table: string; id: string; token: number }
  | { tusgate: 'lock-held-ids'; request: number; ids: string[] };

/** How long past its own timeout a request waits for the primary before failing closed. */
const answerGraceMs = 5_000;

export interface PrimaryChannel {
  send(message: PrimaryLockRequest): boolean;
  /** Calls `listener` once the channel to the primary closes. */
  onDisconnect?(listener: () => void): void;
  /** Calls `listener` with every message from the primary. */
  onMessage(listener: (message: unknown) => void): void;
  connected(): boolean;
}

/** This process's IPC channel to the cluster primary. */
export function processChannel(): PrimaryChannel {
  return {
    send: (message) => (process.send ? process.send(message) : false),
    onMessage: (listener) => process.on('message', listener),
    connected: () => process.connected === true,
    onDisconnect: (listener) => process.once('disconnect', listener),
  };
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  /** For acquires: the lock it asked for (a late grant is handed straight back). */
  lock?: { table: string; id: string; onReleaseRequest?: () => void };
}

interface Holding {
  token: number;
  onReleaseRequest?: () => void;
}

/** One per worker: sends lock requests to the primary and routes its answers. */
export class PrimaryLockClient {
  readonly #channel: PrimaryChannel;
  readonly #pending = new Map<number, Pending>();
  /** Acquires that failed closed before the primary answered: a grant that comes later goes back. */
  readonly #abandoned = new Map<number, { table: string; id: string }>();
  /** Locks this worker holds, by table then id. */
  readonly #held = new Map<string, Map<string, Holding>>();
  #nextRequest = 1;

  constructor(channel: PrimaryChannel = processChannel()) {
    this.#channel = channel;
    channel.onMessage((message) => this.#receive(message));
  }

  async acquire(
    table: string,
    id: string,
    timeoutMs: number,
    onReleaseRequest?: () => void,
  ): Promise<(() => void) | null> {
    const request = this.#nextRequest++;
    const answer = await this.#ask(
      request,
      { tusgate: 'lock-acquire', table, id, timeoutMs: Math.max(0, timeoutMs), request },
      Math.max(0, timeoutMs),
      { table, id, onReleaseRequest },
    );
    if (answer === null) return null;
    const token = answer as number;
    return this.#releaser(table, id, token);
  }

  held(table: string): Map<string, Holding> {
    let ids = this.#held.get(table);
    if (!ids) {
      ids = new Map();
      this.#held.set(table, ids);
    }
    return ids;
  }

  async heldAnywhere(table: string): Promise<string[]> {
    const request = this.#nextRequest++;
    return (await this.#ask(
      request,
      { tusgate: 'lock-held-anywhere', table, request },
      0,
    )) as string[];
  }

  #ask(request: number, message: PrimaryLockRequest, waitMs: number, lock?: Pending['lock']) {
    return new Promise<unknown>((resolve, reject) => {
      if (!this.#channel.connected()) {
        reject(lockUnavailable('the primary process is gone'));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(request);
        if (lock) this.#abandoned.set(request, { table: lock.table, id: lock.id });
        reject(lockUnavailable('the primary process did not answer'));
      }, waitMs + answerGraceMs);
      // A request still waiting does not keep a stopping process alive.
      timer.unref();
      this.#pending.set(request, { resolve, reject, timer, lock });
      try {
        this.#channel.send(message);
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(request);
        reject(lockUnavailable((error as Error).message));
      }
    });
  }

  #releaser(table: string, id: string, token: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const ids = this.held(table);
      if (ids.get(id)?.token === token) ids.delete(id);
      this.#send({ tusgate: 'lock-release', table, id, token });
    };
  }

  #send(message: PrimaryLockRequest): void {
    // A primary that is gone released every lock of this worker already.
    if (!this.#channel.connected()) return;
    try {
      this.#channel.send(message);
    } catch {
      // The channel closed between the check and the send: the same.
    }
  }

  #receive(message: unknown): void {
    const answer = message as LockAnswer;
    switch (answer?.tusgate) {
      case 'lock-granted': {
        const pending = this.#take(answer.request);
        if (!pending?.lock) {
          const lost = this.#abandoned.get(answer.request);
          this.#abandoned.delete(answer.request);
          if (lost) this.#send({ tusgate: 'lock-release', ...lost, token: answer.token });
          return;
        }
        this.held(pending.lock.table).set(pending.lock.id, {
          token: answer.token,
          onReleaseRequest: pending.lock.onReleaseRequest,
        });
        pending.resolve(answer.token);
        return;
      }
      case 'lock-refused':
        this.#abandoned.delete(answer.request);
        this.#take(answer.request)?.resolve(null);
        return;
      case 'lock-held-ids':
        this.#take(answer.request)?.resolve(answer.ids);
        return;
      case 'lock-release-request': {
        const holding = this.#held.get(answer.table)?.get(answer.id);
        if (holding?.token === answer.token) holding.onReleaseRequest?.();
        return;
      }
    }
  }

  #take(request: number): Pending | undefined {
    const pending = this.#pending.get(request);
    if (!pending) return undefined;
    clearTimeout(pending.timer);
    this.#pending.delete(request);
    return pending;
  }
}

/**
 * The upload locker of a worker with memory locking: every worker's locks live in the primary's
 * one table, so exclusion and hand-over across the workers of a host are those of one process.
 * A lease stays valid while the primary can be reached; when it goes, every lease is lost (the
 * primary that replaces nothing frees them all anyway) and writes stop.
 */
export class PrimaryLocker implements UploadLocker {
  readonly kind = 'primary';
  readonly #client: PrimaryLockClient;
  readonly #table: string;
  readonly #channel: PrimaryChannel;
  readonly #leases = new Set<AbortController>();

  constructor(
    client: PrimaryLockClient,
    table = 'uploads',
    channel: PrimaryChannel = processChannel(),
  ) {
    this.#client = client;
    this.#table = table;
    this.#channel = channel;
    channel.onDisconnect?.(() => {
      for (const lost of this.#leases) lost.abort(new Error('the primary process is gone'));
      this.#leases.clear();
    });
  }

  async acquire(id: string, request: LockRequest): Promise<UploadLease | null> {
    let release: (() => void) | null;
    try {
      release = await this.#client.acquire(
        this.#table,
        id,
        request.waitMs,
        request.onReleaseRequested,
      );
    } catch (error) {
      throw new LockStoreUnavailableError((error as Error).message, { cause: error });
    }
    if (release === null) return null;
    const lost = new AbortController();
    this.#leases.add(lost);
    let released = false;
    const channel = this.#channel;
    return {
      id,
      token: randomUUID(),
      lost: lost.signal,
      isValid: () => !released && !lost.signal.aborted && channel.connected(),
      release: async () => {
        if (released) return;
        released = true;
        this.#leases.delete(lost);
        release();
      },
    };
  }

  async heldIds(): Promise<string[]> {
    try {
      return await this.#client.heldAnywhere(this.#table);
    } catch (error) {
      throw new LockStoreUnavailableError((error as Error).message, { cause: error });
    }
  }

  async checkReady(): Promise<void> {
    if (!this.#channel.connected()) {
      throw new LockStoreUnavailableError('the primary process cannot be reached');
    }
  }

  async close(): Promise<void> {}
}

function lockUnavailable(reason: string): LockStoreUnavailableError {
  return new LockStoreUnavailableError(reason);
}
