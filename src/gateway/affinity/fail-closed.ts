import { Counter, type Registry } from 'prom-client';
import { ownershipUnavailable } from '../../errors.ts';
import type { AffinityEntry, AffinityStore } from './affinity-store.ts';

const errorsMetric = 'tusgate_ownership_store_errors_total';

/**
 * The owner table as the gateway uses it: every call is bounded in time, and any failure
 * (error, timeout) becomes the 503 above and counts in tusgate_ownership_store_errors_total.
 * Nobody reads "could not look up" as "no owner".
 */
export class FailClosedAffinityStore implements AffinityStore {
  readonly #inner: AffinityStore;
  readonly #timeoutMs: number;
  readonly #description: string;
  readonly #errors: Counter<'operation'>;

  constructor(
    inner: AffinityStore,
    options: { registry: Registry; description: string; timeoutMs?: number },
  ) {
    this.#inner = inner;
    this.#description = options.description;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#errors =
      (options.registry.getSingleMetric(errorsMetric) as Counter<'operation'> | undefined) ??
      new Counter({
        name: errorsMetric,
        help: 'Owner/affinity store calls that failed or timed out (the request got a 503), by operation.',
        labelNames: ['operation'],
        registers: [options.registry],
      });
  }

  get kind(): string {
    return this.#inner.kind;
  }

  get(id: string): Promise<AffinityEntry | undefined> {
    return this.#guard('get', () => this.#inner.get(id));
  }

  set(id: string, entry: AffinityEntry): Promise<void> {
    return this.#guard('set', () => this.#inner.set(id, entry));
  }

  /** For /readyz: the error names the store (kind and where) and what went wrong. */
  async checkReady(): Promise<void> {
    try {
      await withTimeout(() => this.#inner.checkReady(), this.#timeoutMs);
    } catch (error) {
      this.#errors.inc({ operation: 'ready' });
      const message = (error as Error).message;
      throw new Error(
        message.startsWith(this.#description) ? message : `${this.#description}: ${message}`,
        { cause: error },
      );
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #guard<T>(operation: 'get' | 'set', call: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(call, this.#timeoutMs);
    } catch (error) {
      this.#errors.inc({ operation });
      throw ownershipUnavailable(
        new Error(`${this.#description}: ${operation} failed: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
  }
}

async function withTimeout<T>(call: () => Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
