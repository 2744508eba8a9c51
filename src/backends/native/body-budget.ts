/**
 * Request-body bytes that a process's body writers hold in memory: received, not yet on disk.
 * Each writer lets up to 1 MiB gather while its previous write is in flight; with many fast
 * uploads at once that is 2 MiB each, and past about 64 MB of such buffers V8 starts full garbage
 * collections (they live outside the JS heap but count against it). Once the budget is spent, a
 * writer pauses its socket after a smaller batch instead, so many fast uploads together hold about
 * the budget rather than 2 MiB each. A target, not a cap: each still keeps its write in flight.
 */
export class BodyBudget {
  readonly limit: number;
  #held = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  get exhausted(): boolean {
    return this.#held >= this.limit;
  }

  take(bytes: number): void {
    this.#held += bytes;
  }

  give(bytes: number): void {
    this.#held -= bytes;
  }
}

/** Shared by every upload of the process. */
export const processBodyBudget = new BodyBudget(32 * 1024 * 1024);
