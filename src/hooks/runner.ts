import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { HookConfig } from '../config/schema/hooks.ts';
import type { Metrics } from '../observability/metrics.ts';
import { withCheckedAnswers } from './answer-check.ts';
import { DeliveryQueue } from './delivery-queue.ts';
import { HookJournal, type JournalEntry } from './journal.ts';
import { AmqpHookSink } from './sinks/amqp.ts';
import { FileHookSink } from './sinks/file.ts';
import { GrpcHookSink } from './sinks/grpc/sink.ts';
import { HttpHookSink } from './sinks/http.ts';
import { HookRefusal, type HookSink } from './sinks/sink.ts';
import {
  type HookEvent,
  type HookEventType,
  type HookHttpRequest,
  type HookResponse,
  type HookRunner,
  type HookUpload,
  hookUnavailable,
} from './types.ts';

const observableEvents = new Set<HookEventType>(['post-create', 'post-finish', 'post-terminate']);

/** What a pre-* hook that failed (and may not be skipped) answers: the client should retry. */
const unavailableAnswer: HookResponse = {
  [hookUnavailable]: true,
  RejectUpload: true,
  RejectTermination: true,
  HTTPResponse: { StatusCode: 503, Header: { 'Retry-After': '5' } },
};

interface SinkEntry {
  sink: HookSink;
  events: ReadonlySet<HookEventType>;
  queue: DeliveryQueue;
}

/** A route's hooks: its sinks in config order, each with its own events and delivery queue. */
export class RouteHookRunner implements HookRunner {
  readonly #route: string;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #entries: SinkEntry[];
  readonly #journal: HookJournal | undefined;
  /** Request headers carrying this route's credentials (any config it served): never journaled. */
  readonly #credentialHeaders = new Set<string>();

  constructor(
    route: string,
    configs: HookConfig[],
    deps: { log: Logger; metrics: Metrics; journalDir?: string; credentialHeaders?: string[] },
  ) {
    this.keepOffJournal(deps.credentialHeaders ?? []);
    this.#route = route;
    this.#log = deps.log.child({ route });
    this.#metrics = deps.metrics;
    let pending: JournalEntry[] = [];
    if (deps.journalDir) {
      // One journal per route and hooks config: after a restart it replays to the same sinks.
      const name = `${route}-${createHash('sha256').update(JSON.stringify(configs)).digest('hex').slice(0, 12)}`;
      try {
        ({ journal: this.#journal, pending } = HookJournal.open(
          deps.journalDir,
          name,
          (error) =>
            this.#log.error(
              { err: error, dir: deps.journalDir },
              'hook journal write failed: post-* events of this route now wait in memory only',
            ),
          this.#credentialHeaders,
        ));
        warnAboutOrphans(deps.journalDir, route, name, this.#log);
      } catch (error) {
        this.#log.error(
          { err: error, dir: deps.journalDir },
          'hook journal unavailable: post-* events are kept in memory only',
        );
      }
    }
    const journal = this.#journal;
    this.#entries = configs.map((config, index) => {
      const sink = withCheckedAnswers(
        createSink(config, `${config.type}#${index}`),
        (from, names) =>
          this.#log.warn(
            { sink: from.name, headers: names },
            'hook answer named connection or framing headers; they were dropped',
          ),
      );
      return {
        sink,
        events: new Set(config.events),
        queue: new DeliveryQueue(sink, route, {
          log: this.#log,
          metrics: deps.metrics,
          journal: journal && {
            record: (event, headers) =>
              journal.record(index, event, headers, this.#credentialHeaders),
            done: (id) => journal.done(id),
            idle: () => journal.idle(),
          },
        }),
      };
    });
    if (pending.length > 0) {
      this.#log.info({ events: pending.length }, 'replaying hook events owed before the restart');
    }
    for (const entry of pending) {
      this.#entries[entry.sink]?.queue.push({
        event: entry.event,
        headers: entry.headers,
        journalId: entry.id,
      });
    }
  }

  /**
   * Adds the request headers the route's auth reads (lowercase) to those kept off the journal.
   * Only ever adds: a runner kept across a reload still strips what an earlier config named.
   */
  keepOffJournal(headers: readonly string[]): void {
    for (const name of headers) this.#credentialHeaders.add(name.toLowerCase());
  }

  wants(type: HookEventType): boolean {
    return this.#entries.some((entry) => entry.events.has(type));
  }

  /**
   * Runs the sinks listening for a pre-* event one after the other. A refusal ends the round and
   * is the answer; otherwise ChangeFileInfo and HTTPResponse of all sinks merge, later ones
   * winning. A failing sink refuses with a 503 unless its `onError` is `allow`.
   */
  async pre(
    type: HookEventType,
    upload: HookUpload,
    request: HookHttpRequest,
  ): Promise<HookResponse> {
    const event: HookEvent = { Type: type, Event: { Upload: upload, HTTPRequest: request } };
    let merged: HookResponse = {};
    for (const { sink, events } of this.#entries) {
      if (!events.has(type)) continue;
      let answer: HookResponse;
      try {
        answer = await sink.send(event, request.Header);
      } catch (error) {
        if (error instanceof HookRefusal) {
          this.#count(sink, type, 'refused');
          return error.answer;
        }
        this.#count(sink, type, 'failure');
        this.#log.error(
          { err: error, sink: sink.name, event: type, uploadId: upload.ID },
          'pre-hook failed',
        );
        if (sink.config.onError === 'reject' && type !== 'pre-finish') return unavailableAnswer;
        continue;
      }
      const refused =
        (type === 'pre-create' && answer.RejectUpload === true) ||
        (type === 'pre-terminate' && answer.RejectTermination === true);
      this.#count(sink, type, refused ? 'refused' : 'success');
      if (refused) return answer;
      merged = mergeAnswers(merged, answer);
    }
    return merged;
  }

  post(
    type: HookEventType,
    upload: HookUpload,
    request: HookHttpRequest,
    onAnswer?: (answer: HookResponse) => void,
  ): void {
    const event: HookEvent = { Type: type, Event: { Upload: upload, HTTPRequest: request } };
    for (const { events, queue } of this.#entries) {
      if (events.has(type)) queue.push({ event, headers: request.Header, onAnswer });
    }
  }

  observed(type: HookEventType, upload: HookUpload, request: HookHttpRequest): void {
    if (!observableEvents.has(type)) return;
    const event: HookEvent = {
      Type: type,
      Event: { Upload: upload, HTTPRequest: request },
      Observed: true,
    };
    for (const { sink, events, queue } of this.#entries) {
      if (sink.config.observeLegacy && events.has(type)) {
        queue.push({ event, headers: request.Header });
      }
    }
  }

  /** Delivers what is queued (up to `deadlineMs`), then closes the sinks. */
  async close(deadlineMs = 5_000): Promise<void> {
    const lost = await Promise.all(this.#entries.map(({ queue }) => queue.drain(deadlineMs)));
    const total = lost.reduce((sum, count) => sum + count, 0);
    if (total > 0 && this.#journal) {
      this.#log.warn(
        { events: total, journal: this.#journal.file },
        'hook events owed; sent at the next start',
      );
    } else if (total > 0) {
      this.#log.error({ events: total }, 'hook events still undelivered at close are lost');
    }
    await Promise.allSettled(this.#entries.map(({ sink }) => sink.close()));
    this.#journal?.close();
  }

  #count(sink: HookSink, event: HookEventType, result: string): void {
    this.#metrics.hookDeliveries.inc({ route: this.#route, sink: sink.name, event, result });
  }
}

function createSink(config: HookConfig, name: string): HookSink {
  switch (config.type) {
    case 'http':
      return new HttpHookSink(config, name);
    case 'amqp':
      return new AmqpHookSink(config, name);
    case 'file':
      return new FileHookSink(config, name);
    case 'grpc':
      return new GrpcHookSink(config, name);
  }
}

function mergeAnswers(into: HookResponse, answer: HookResponse): HookResponse {
  const merged: HookResponse = { ...into };
  if (answer.ChangeFileInfo) {
    merged.ChangeFileInfo = { ...into.ChangeFileInfo, ...answer.ChangeFileInfo };
  }
  if (answer.HTTPResponse) {
    merged.HTTPResponse = {
      ...into.HTTPResponse,
      ...answer.HTTPResponse,
      Header: { ...into.HTTPResponse?.Header, ...answer.HTTPResponse.Header },
    };
  }
  return merged;
}

/** Journals of this route under another hooks config: their events wait for that config. */
function warnAboutOrphans(dir: string, route: string, current: string, log: Logger): void {
  const others = readdirSync(dir).filter(
    (file) =>
      file.startsWith(`${route}-`) &&
      file.endsWith('.jsonl') &&
      file !== `${current}.jsonl` &&
      statSync(join(dir, file)).size > 0,
  );
  if (others.length > 0) {
    log.warn(
      { journals: others, dir },
      'hook journals of an earlier hooks config of this route; their events are sent only if that config returns',
    );
  }
}
