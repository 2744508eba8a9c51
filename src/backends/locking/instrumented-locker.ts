import type { Metrics } from '../../observability/metrics.ts';
import {
  type LockRequest,
  LockStoreUnavailableError,
  type UploadLease,
  type UploadLocker,
} from './locker.ts';

/** Counts what a locker does: acquisitions, waits, hand-overs asked of holders here, failures. */
export class InstrumentedLocker implements UploadLocker {
  readonly kind: string;
  readonly #inner: UploadLocker;
  readonly #metrics: Metrics;

  constructor(inner: UploadLocker, metrics: Metrics) {
    this.kind = inner.kind;
    this.#inner = inner;
    this.#metrics = metrics;
  }

  async acquire(id: string, request: LockRequest): Promise<UploadLease | null> {
    const labels = { locker: this.kind };
    const started = performance.now();
    const onReleaseRequested = request.onReleaseRequested;
    let asked = false;
    try {
      const lease = await this.#inner.acquire(id, {
        waitMs: request.waitMs,
        ...(onReleaseRequested && {
          onReleaseRequested: () => {
            if (!asked) this.#metrics.lockHandovers.inc(labels);
            asked = true;
            onReleaseRequested();
          },
        }),
      });
      this.#metrics.lockAcquisitions.inc({ ...labels, result: lease ? 'acquired' : 'busy' });
      lease?.lost.addEventListener(
        'abort',
        () => this.#metrics.lockFailures.inc({ ...labels, kind: 'lost' }),
        { once: true },
      );
      return lease;
    } catch (error) {
      if (error instanceof LockStoreUnavailableError) {
        this.#metrics.lockAcquisitions.inc({ ...labels, result: 'unavailable' });
        this.#metrics.lockFailures.inc({ ...labels, kind: 'unavailable' });
      }
      throw error;
    } finally {
      this.#metrics.lockWait.observe(labels, (performance.now() - started) / 1000);
    }
  }

  heldIds(): Promise<string[]> {
    return this.#inner.heldIds();
  }

  checkReady(): Promise<void> {
    return this.#inner.checkReady();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
