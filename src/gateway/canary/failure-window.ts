/**
 * Outcomes of the canary's requests over a sliding window, in ten slices so that old outcomes
 * fall out a tenth of the window at a time and memory stays constant under any load.
 */
export class FailureWindow {
  readonly #sliceMs: number;
  readonly #slices = Array.from({ length: 10 }, () => ({ start: 0, total: 0, failed: 0 }));

  constructor(windowMs: number) {
    this.#sliceMs = Math.max(1, Math.ceil(windowMs / 10));
  }

  record(failed: boolean, now: number): void {
    const start = now - (now % this.#sliceMs);
    const slice = this.#slices[Math.floor(start / this.#sliceMs) % 10]!;
    if (slice.start !== start) {
      slice.start = start;
      slice.total = 0;
      slice.failed = 0;
    }
    slice.total++;
    if (failed) slice.failed++;
  }

  totals(now: number): { total: number; failed: number } {
    const oldest = now - this.#sliceMs * 10;
    let total = 0;
    let failed = 0;
    for (const slice of this.#slices) {
      if (slice.start > oldest) {
        total += slice.total;
        failed += slice.failed;
      }
    }
    return { total, failed };
  }

  clear(): void {
    for (const slice of this.#slices) slice.start = 0;
  }
}
