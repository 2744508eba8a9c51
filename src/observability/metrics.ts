import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** 1 ms … ~5.8 h: HEADs and hours-long PATCHes land in distinct buckets. */
const durationBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900,
  3600, 21600,
];

/** A cleanup run made by another process (`tusgate cleanup`), as it left it in the store root. */
export interface ExternalCleanup {
  store: string;
  finishedAt: number;
  ok: boolean;
  removedFiles: number;
  removedUploads: number;
  removedHandoffLinks: number;
  durationSeconds: number;
  lastSuccessAt?: number;
}

function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/**
 * All of one gateway's metrics, in a registry of its own (tests run many gateways in one process).
 * Labels are bounded: route, backend, method, status class — never ids, users or paths.
 * With `server.workers`, the primary's /metrics sums the workers' values (prom-client's cluster
 * aggregation); a metric whose sum would mislead names its `aggregator`.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'tusgate_requests_total',
    help: 'Requests answered, by route, backend, method and status class.',
    labelNames: ['route', 'backend', 'method', 'status_class'],
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'tusgate_request_duration_seconds',
    help: 'Time from request start to the end of the response.',
    labelNames: ['route', 'backend', 'method'],
    buckets: durationBuckets,
    registers: [this.registry],
  });

  readonly bytesReceived = new Counter({
    name: 'tusgate_bytes_received_total',
    help: 'Upload bytes received from clients.',
    labelNames: ['route', 'backend'],
    registers: [this.registry],
  });

  readonly bytesSent = new Counter({
    name: 'tusgate_bytes_sent_total',
    help: 'Response body bytes sent to clients.',
    labelNames: ['route', 'backend'],
    registers: [this.registry],
  });

  readonly uploadsCreated = new Counter({
    name: 'tusgate_uploads_created_total',
    help: 'Uploads created.',
    labelNames: ['route', 'backend'],
    registers: [this.registry],
  });

  readonly uploadsFinished = new Counter({
    name: 'tusgate_uploads_finished_total',
    help: 'Uploads that received their last byte (legacy backends: as observed by the gateway).',
    labelNames: ['route', 'backend'],
    registers: [this.registry],
  });

  readonly uploadsTerminated = new Counter({
    name: 'tusgate_uploads_terminated_total',
    help: 'Uploads deleted by their client (tus termination).',
    labelNames: ['route', 'backend'],
    registers: [this.registry],
  });

  readonly uploadsExpired = new Counter({
    name: 'tusgate_uploads_expired_total',
    help: 'Uploads removed by cleanup because they outlived the store TTL.',
    labelNames: ['store'],
    registers: [this.registry],
    // The first cleanup metric a scrape collects: runs made by `tusgate cleanup` are counted
    // here, before the other cleanup metrics are read.
    collect: () => this.#absorbExternalCleanups(),
  });

  readonly activeUploads = new Gauge({
    name: 'tusgate_uploads_active',
    help: 'Uploads receiving data right now (a PATCH or a creation with data in flight).',
    labelNames: ['route', 'backend'],
    registers: [this.registry],
  });

  readonly openConnections = new Gauge({
    name: 'tusgate_connections_open',
    help: 'Client connections open on the public listener.',
    registers: [this.registry],
  });

  readonly authDecisions = new Counter({
    name: 'tusgate_auth_decisions_total',
    help: 'Authentication decisions, by result (allowed, denied, error) and reason.',
    labelNames: ['route', 'result', 'reason'],
    registers: [this.registry],
  });

  readonly cleanupRuns = new Counter({
    name: 'tusgate_cleanup_runs_total',
    help: 'Expiry cleanup runs of a native store, by result.',
    labelNames: ['store', 'result'],
    registers: [this.registry],
  });

  readonly cleanupRemovedFiles = new Counter({
    name: 'tusgate_cleanup_removed_files_total',
    help: 'Files (data and .info) removed by cleanup.',
    labelNames: ['store'],
    registers: [this.registry],
  });

  readonly cleanupRemovedHandoffLinks = new Counter({
    name: 'tusgate_cleanup_handoff_links_removed_total',
    help: 'Hand-off links (handoffDir/<id>) of finished uploads removed by cleanup.',
    labelNames: ['store'],
    registers: [this.registry],
  });

  readonly cleanupDuration = new Histogram({
    name: 'tusgate_cleanup_duration_seconds',
    help: 'How long a cleanup run took.',
    labelNames: ['store'],
    buckets: [0.001, 0.01, 0.1, 1, 10, 60, 300, 1800],
    registers: [this.registry],
  });

  readonly cleanupLastSuccess = new Gauge({
    name: 'tusgate_cleanup_last_success_timestamp_seconds',
    help: 'Unix time of the last successful cleanup run of a store.',
    labelNames: ['store'],
    // One worker cleans up.
    aggregator: 'max',
    registers: [this.registry],
  });

  readonly backendUp = new Gauge({
    name: 'tusgate_backend_up',
    help: '1 when the backend answered its last readiness probe.',
    labelNames: ['route', 'backend'],
    // With workers, each probes: down as soon as one worker sees it down.
    aggregator: 'min',
    registers: [this.registry],
  });

  readonly backendErrors = new Counter({
    name: 'tusgate_backend_errors_total',
    help: 'Requests a backend failed to serve (connect, timeout, I/O), by kind.',
    labelNames: ['route', 'backend', 'kind'],
    registers: [this.registry],
  });

  readonly proxyBodiesRefused = new Counter({
    name: 'tusgate_proxy_bodies_refused_total',
    help: 'Upload bodies a proxy backend refused: client_limit (429, one address has too many in flight) or backend_busy (503, every body connection taken).',
    labelNames: ['route', 'backend', 'reason'],
    registers: [this.registry],
  });

  readonly proxyDownloadsRefused = new Counter({
    name: 'tusgate_proxy_downloads_refused_total',
    help: 'Downloads (GET) a proxy backend refused with 429: one address has limits.downloadsPerClient in flight.',
    labelNames: ['route', 'backend'],
    registers: [this.registry],
  });

  readonly proxyBodiesStalled = new Counter({
    name: 'tusgate_proxy_bodies_stalled_total',
    help: 'Proxied upload bodies ended because the client sent nothing for bodyIdleTimeout (408).',
    labelNames: ['route', 'backend'],
    registers: [this.registry],
  });

  readonly activeRequests = new Gauge({
    name: 'tusgate_requests_in_flight',
    help: 'Requests in flight.',
    registers: [this.registry],
  });

  readonly configReloads = new Counter({
    name: 'tusgate_config_reloads_total',
    help: 'Configuration reloads, by result.',
    labelNames: ['result'],
    // Every worker reloads: count each reload once, not once per worker.
    aggregator: 'max',
    registers: [this.registry],
  });

  readonly canaryWeight = new Gauge({
    name: 'tusgate_canary_weight_percent',
    help: 'Share of new uploads a route sends to its canary backend: configured, and effective (0 after a rollback).',
    labelNames: ['route', 'kind'],
    // Each worker keeps its own failure window: a rollback in one shows.
    aggregator: 'min',
    registers: [this.registry],
  });

  readonly canaryRollbacks = new Counter({
    name: 'tusgate_canary_rollbacks_total',
    help: 'Automatic canary rollbacks (failure ratio over the window passed the threshold).',
    labelNames: ['route'],
    registers: [this.registry],
  });

  readonly hookDeliveries = new Counter({
    name: 'tusgate_hook_deliveries_total',
    help: 'Hook deliveries by sink and event: success, retry (a failed attempt), failure (retries used up), refused (a pre-* hook said no), dropped (queue full).',
    labelNames: ['route', 'sink', 'event', 'result'],
    registers: [this.registry],
  });

  readonly hookQueued = new Gauge({
    name: 'tusgate_hook_queued',
    help: 'post-* hook events waiting for (or in) delivery.',
    labelNames: ['route', 'sink'],
    registers: [this.registry],
  });

  /** Read at each scrape: the last run of `tusgate cleanup` per store (readExternalCleanups). */
  #externalCleanups: () => Iterable<ExternalCleanup> = () => [];
  /** The run of each store already counted, by its end time. */
  readonly #countedCleanups = new Map<string, number>();

  /** Where the cleanup metrics find the runs of `tusgate cleanup` (another process). */
  readExternalCleanups(read: () => Iterable<ExternalCleanup>): void {
    this.#externalCleanups = read;
  }

  #absorbExternalCleanups(): void {
    for (const run of this.#externalCleanups()) {
      if (this.#countedCleanups.get(run.store) === run.finishedAt) continue;
      this.#countedCleanups.set(run.store, run.finishedAt);
      this.observeCleanup(
        run.store,
        run.ok
          ? {
              ok: true,
              removedFiles: run.removedFiles,
              removedUploads: run.removedUploads,
              removedHandoffLinks: run.removedHandoffLinks,
              seconds: run.durationSeconds,
              at: run.finishedAt,
            }
          : { ok: false },
      );
      if (!run.ok && run.lastSuccessAt !== undefined)
        this.#noteSuccess(run.store, run.lastSuccessAt);
    }
  }

  /** The last success only moves forward (the server's own runs and the CLI's interleave). */
  #noteSuccess(store: string, at: number): void {
    const seconds = at / 1000;
    const current = this.#lastSuccess.get(store) ?? 0;
    if (seconds <= current) return;
    this.#lastSuccess.set(store, seconds);
    this.cleanupLastSuccess.set({ store }, seconds);
  }

  readonly #lastSuccess = new Map<string, number>();
  readonly lockAcquisitions = new Counter({
    name: 'tusgate_lock_acquisitions_total',
    help: 'Upload lock requests, by locker and result (acquired, busy: still held after the wait, unavailable: the lock store could not be reached).',
    labelNames: ['locker', 'result'],
    registers: [this.registry],
  });

  readonly lockHandovers = new Counter({
    name: 'tusgate_lock_handovers_total',
    help: 'Lock holders in this process asked to let go because another request wants the upload.',
    labelNames: ['locker'],
    registers: [this.registry],
  });

  readonly lockWait = new Histogram({
    name: 'tusgate_lock_wait_seconds',
    help: 'Time a request waited for an upload lock (a hand-over included), whatever the result.',
    labelNames: ['locker'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly lockFailures = new Counter({
    name: 'tusgate_lock_failures_total',
    help: 'Lock failures: unavailable (the lock store could not be reached), lost (a holder lost its lease mid-request and stopped writing).',
    labelNames: ['locker', 'kind'],
    registers: [this.registry],
  });

  /** Read at each scrape; the native backend installs its body budget here (readBodyBuffered). */
  #bodyBuffered: () => number = () => 0;

  readonly nativeBodyBuffered = new Gauge({
    name: 'tusgate_native_body_buffered_bytes',
    help: 'Upload bytes the native backend has received and not yet written to disk.',
    registers: [this.registry],
    collect: () => {
      this.nativeBodyBuffered.set(this.#bodyBuffered());
    },
  });

  /** Where tusgate_native_body_buffered_bytes reads its value (kept below the backends). */
  readBodyBuffered(read: () => number): void {
    this.#bodyBuffered = read;
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'tusgate_' });
    }
  }

  observeRequest(
    labels: { route: string; backend: string; method: string },
    status: number,
    seconds: number,
  ): void {
    this.requests.inc({ ...labels, status_class: statusClass(status) });
    this.requestDuration.observe(labels, seconds);
  }

  /** Removes a route's canary weights (its canary was removed by a reload). */
  forgetCanary(route: string): void {
    this.canaryWeight.remove({ route, kind: 'configured' });
    this.canaryWeight.remove({ route, kind: 'effective' });
  }

  observeCleanup(
    store: string,
    result:
      | {
          ok: true;
          removedFiles: number;
          removedUploads: number;
          removedHandoffLinks?: number;
          seconds: number;
          /** When the run ended (ms since the epoch); now when not given. */
          at?: number;
        }
      | { ok: false },
  ): void {
    this.cleanupRuns.inc({ store, result: result.ok ? 'success' : 'failure' });
    if (!result.ok) return;
    this.cleanupRemovedFiles.inc({ store }, result.removedFiles);
    this.uploadsExpired.inc({ store }, result.removedUploads);
    this.cleanupRemovedHandoffLinks.inc({ store }, result.removedHandoffLinks ?? 0);
    this.cleanupDuration.observe({ store }, result.seconds);
    this.#noteSuccess(store, result.at ?? Date.now());
  }
}
