import type { Logger } from 'pino';
import type { RouteConfig } from '../../config/schema/index.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { ErrorReporter } from '../../observability/sentry.ts';
import { bucketOnCanary, seededRandom, stickyBucket } from './bucket.ts';
import { FailureWindow } from './failure-window.ts';

export type CanaryConfig = NonNullable<RouteConfig['canary']>;

export interface CanarySnapshot {
  backend: string;
  sticky: 'principal' | 'none';
  configuredWeight: number;
  effectiveWeight: number;
  rolledBack: boolean;
  rolledBackAt: string | null;
  window: { total: number; failed: number };
  placed: { canary: number; other: number };
}

/**
 * A route's canary: which share of new uploads goes to the canary backend, and the automatic
 * rollback that sets that share to 0 when the canary fails too often. Its state outlives config
 * reloads that leave the canary block unchanged.
 */
export class CanaryController {
  readonly config: CanaryConfig;
  /** Identifies the canary block; a reload with a different block starts a fresh controller. */
  readonly key: string;
  readonly #route: string;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #errors: ErrorReporter | undefined;
  readonly #random: () => number;
  readonly #window: FailureWindow | undefined;
  readonly #now: () => number;
  #rolledBackAt: number | null = null;
  readonly #placed = { canary: 0, other: 0 };

  constructor(
    route: string,
    config: CanaryConfig,
    deps: { log: Logger; metrics: Metrics; errors?: ErrorReporter; now?: () => number },
  ) {
    this.config = config;
    this.key = JSON.stringify(config);
    this.#route = route;
    this.#log = deps.log;
    this.#metrics = deps.metrics;
    this.#errors = deps.errors;
    this.#now = deps.now ?? Date.now;
    this.#random = config.seed === undefined ? Math.random : seededRandom(config.seed);
    this.#window = config.rollback ? new FailureWindow(config.rollback.window) : undefined;
    this.#publishWeights();
  }

  get effectiveWeight(): number {
    return this.#rolledBackAt === null ? this.config.weight : 0;
  }

  /**
   * Whether a new upload goes to the canary. With a sticky key (principal, header or address) the
   * answer is the key's bucket; without one it is a random draw.
   */
  chooseCanary(stickyKey: string | undefined): boolean {
    const weight = this.effectiveWeight;
    const onCanary =
      stickyKey === undefined
        ? this.#random() * 100 < weight
        : bucketOnCanary(stickyBucket(stickyKey), weight);
    if (onCanary) this.#placed.canary++;
    else this.#placed.other++;
    return onCanary;
  }

  /**
   * Counts a finished request the canary backend served. Failures are what a healthy tus server
   * never answers: 5xx and transport errors (the proxy turns those into 502/504). 4xx answers such
   * as 404, 409, 410, 412, 423 or 460 are the protocol working.
   */
  recordOutcome(status: number): void {
    const rollback = this.config.rollback;
    if (!rollback || !this.#window || this.#rolledBackAt !== null) return;
    const now = this.#now();
    this.#window.record(status >= 500, now);
    const { total, failed } = this.#window.totals(now);
    if (total >= rollback.minRequests && failed / total > rollback.threshold) {
      this.#rolledBackAt = now;
      this.#metrics.canaryRollbacks.inc({ route: this.#route });
      this.#publishWeights();
      this.#log.error(
        {
          route: this.#route,
          canary: this.config.backend,
          failed,
          total,
          threshold: rollback.threshold,
        },
        'canary rolled back: its failure ratio passed the threshold; new uploads go to the create backend',
      );
      this.#errors?.message(`canary of route ${this.#route} rolled back`, {
        route: this.#route,
        backend: this.config.backend,
        kind: 'canary-rollback',
      });
    }
  }

  reset(): void {
    this.#rolledBackAt = null;
    this.#window?.clear();
    this.#publishWeights();
    this.#log.warn({ route: this.#route }, 'canary reset: back to its configured weight');
  }

  snapshot(): CanarySnapshot {
    return {
      backend: this.config.backend,
      sticky: this.config.sticky,
      configuredWeight: this.config.weight,
      effectiveWeight: this.effectiveWeight,
      rolledBack: this.#rolledBackAt !== null,
      rolledBackAt: this.#rolledBackAt === null ? null : new Date(this.#rolledBackAt).toISOString(),
      window: this.#window?.totals(this.#now()) ?? { total: 0, failed: 0 },
      placed: { ...this.#placed },
    };
  }

  #publishWeights(): void {
    this.#metrics.canaryWeight.set({ route: this.#route, kind: 'configured' }, this.config.weight);
    this.#metrics.canaryWeight.set({ route: this.#route, kind: 'effective' }, this.effectiveWeight);
  }
}
