import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { HookSink } from './sinks/sink.ts';
import type { HookEvent, HookResponse } from './types.ts';

interface Delivery {
  event: HookEvent;
  headers: Record<string, string[]>;
  onAnswer?: (answer: HookResponse) => void;
  /** Its record in the journal, when the route keeps one. */
  journalId?: number;
}

/** The journal as one sink's queue sees it. */
export interface SinkJournal {
  record(event: HookEvent, headers: Record<string, string[]>): number | undefined;
  done(id: number): void;
  idle(): void;
}

const maxQueued = 10_000;
const concurrency = 8;
const maxBackoffMs = 30_000;

/**
 * Delivers post-* events to one sink, at least once: failed sends are retried with exponential
 * backoff up to the sink's `retries`. Events of one upload go out in order (one at a time); other
 * uploads' events pass them. Uploads never wait on this queue.
 */
export class DeliveryQueue {
  readonly #sink: HookSink;
  readonly #route: string;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #queue: Delivery[] = [];
  readonly #busyUploads = new Set<string>();
  #running = 0;
  #closed = false;
  readonly #idleWaiters: (() => void)[] = [];
  readonly #abort = new AbortController();
  readonly #journal: SinkJournal | undefined;

  constructor(
    sink: HookSink,
    route: string,
    deps: { log: Logger; metrics: Metrics; journal?: SinkJournal },
  ) {
    this.#sink = sink;
    this.#route = route;
    this.#log = deps.log;
    this.#metrics = deps.metrics;
    this.#journal = deps.journal;
  }

  get pending(): number {
    return this.#queue.length + this.#running;
  }

  push(delivery: Delivery): void {
    if (this.#journal && delivery.journalId === undefined) {
      delivery.journalId = this.#journal.record(delivery.event, delivery.headers);
    }
    if (this.#closed) {
      // Journaled events go out at the next start; otherwise this one is lost.
      if (delivery.journalId === undefined) this.#count(delivery.event, 'dropped');
      return;
    }
    if (delivery.event.Type === 'post-receive') {
      // Progress is only worth its latest value: a newer one replaces one still waiting.
      const stale = this.#queue.findIndex(
        (queued) =>
          queued.event.Type === 'post-receive' &&
          queued.event.Event.Upload.ID === delivery.event.Event.Upload.ID,
      );
      if (stale >= 0) {
        this.#settle(this.#queue[stale] as Delivery);
        this.#queue[stale] = delivery;
        return;
      }
    }
    if (this.#queue.length >= maxQueued) {
      // Progress goes first; lifecycle events only when there is nothing else to give up.
      const progress = this.#queue.findIndex((queued) => queued.event.Type === 'post-receive');
      const [dropped] = this.#queue.splice(Math.max(progress, 0), 1) as [Delivery];
      this.#settle(dropped);
      this.#count(dropped.event, 'dropped');
      this.#log.error(
        {
          sink: this.#sink.name,
          event: dropped.event.Type,
          uploadId: dropped.event.Event.Upload.ID,
        },
        'hook queue full: an event was dropped',
      );
    }
    this.#queue.push(delivery);
    this.#publishDepth();
    this.#next();
  }

  /** Waits until everything queued was delivered or given up, at most `deadlineMs`. */
  async drain(deadlineMs: number): Promise<number> {
    this.#closed = true;
    if (this.pending > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
        new Promise((resolve) => setTimeout(resolve, deadlineMs).unref()),
      ]);
    }
    const lost = this.pending;
    this.#abort.abort();
    return lost;
  }

  #next(): void {
    while (this.#running < concurrency) {
      const index = this.#queue.findIndex(
        (item) => !this.#busyUploads.has(item.event.Event.Upload.ID),
      );
      if (index < 0) break;
      const [delivery] = this.#queue.splice(index, 1) as [Delivery];
      this.#running++;
      const uploadId = delivery.event.Event.Upload.ID;
      this.#busyUploads.add(uploadId);
      void this.#deliver(delivery).finally(() => {
        this.#running--;
        this.#busyUploads.delete(uploadId);
        this.#publishDepth();
        if (this.pending === 0) {
          this.#journal?.idle();
          for (const resolve of this.#idleWaiters.splice(0)) resolve();
        }
        this.#next();
      });
    }
  }

  async #deliver(delivery: Delivery): Promise<void> {
    const { retries, retryDelay } = this.#sink.config;
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.#sink.send(delivery.event, delivery.headers);
        this.#settle(delivery);
        this.#count(delivery.event, 'success');
        delivery.onAnswer?.(answer);
        return;
      } catch (error) {
        const context = {
          err: error,
          sink: this.#sink.name,
          event: delivery.event.Type,
          uploadId: delivery.event.Event.Upload.ID,
          attempt: attempt + 1,
        };
        if (this.#abort.signal.aborted && delivery.journalId !== undefined) {
          this.#log.warn(
            context,
            'hook delivery stopped at close; it is retried at the next start',
          );
          return;
        }
        if (attempt >= retries || this.#abort.signal.aborted) {
          this.#settle(delivery);
          this.#count(delivery.event, 'failure');
          this.#log.error(context, 'hook delivery failed; retries used up, the event is lost');
          return;
        }
        this.#count(delivery.event, 'retry');
        this.#log.warn(context, 'hook delivery failed; retrying');
        const delay = Math.min(maxBackoffMs, retryDelay * 2 ** attempt);
        await sleep(delay, this.#abort.signal);
      }
    }
  }

  /** Delivered or given up: the journal owes it no more. */
  #settle(delivery: Delivery): void {
    if (delivery.journalId !== undefined) this.#journal?.done(delivery.journalId);
  }

  #count(event: HookEvent, result: string): void {
    this.#metrics.hookDeliveries.inc({
      route: this.#route,
      sink: this.#sink.name,
      event: event.Type,
      result,
    });
  }

  #publishDepth(): void {
    this.#metrics.hookQueued.set({ route: this.#route, sink: this.#sink.name }, this.pending);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
