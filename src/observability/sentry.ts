import type { Logger } from 'pino';
import type { SentryConfig } from '../config/schema/sentry.ts';
import type { SentryClient } from './sentry-client.ts';

/** Tags that say where an error happened; never ids, users or paths. */
export interface ErrorTags {
  route?: string;
  backend?: string;
  method?: string;
  requestId?: string;
  kind?: string;
}

/** Sends unexpected errors somewhere a human will see them (Sentry), or nowhere. */
export interface ErrorReporter {
  readonly enabled: boolean;
  report(error: unknown, tags?: ErrorTags): void;
  /** For events that are not exceptions, e.g. a canary rollback. */
  message(text: string, tags?: ErrorTags): void;
  /** Sends what is queued; resolves false when the timeout passed first. */
  flush(timeoutMs?: number): Promise<boolean>;
  close(timeoutMs?: number): Promise<void>;
}

export const noErrorReporter: ErrorReporter = {
  enabled: false,
  report: () => {},
  message: () => {},
  flush: async () => true,
  close: async () => {},
};

export interface ErrorReporterOptions {
  /** Secret values from the config, blanked wherever they appear in an event. */
  secrets?: () => readonly string[];
  /** Header names the config reads credentials from, blanked wherever they appear as keys. */
  secretNames?: () => readonly string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Reports to Sentry when a DSN is configured (or in SENTRY_DSN). @sentry/node is loaded only
 * then, in the background: it is the largest module tusgate could load, and every byte of heap
 * makes the garbage collections an upload's buffers cause slower. Events raised while it loads
 * wait for it (a few at most).
 */
export function createErrorReporter(
  config: SentryConfig,
  log: Logger,
  options: ErrorReporterOptions = {},
): ErrorReporter {
  const dsn = config.dsn ?? (options.env ?? process.env).SENTRY_DSN;
  if (!dsn) return noErrorReporter;
  let client: SentryClient | undefined;
  let loaded = false;
  let waiting: ((client: SentryClient) => void)[] = [];
  const ready = import('./sentry-client.ts')
    .then((module) => module.startSentryClient(dsn, config, log, options))
    .catch((error: unknown) => {
      log.error({ err: error }, 'Sentry could not start; errors go to the log only');
      return undefined;
    })
    .then((started) => {
      client = started;
      loaded = true;
      if (started) for (const send of waiting) send(started);
      waiting = [];
    });
  const withClient = (send: (client: SentryClient) => void) => {
    if (client) send(client);
    else if (!loaded && waiting.length < 100) waiting.push(send);
  };

  // A backend that is down fails every request: one event per kind of failure per window is
  // enough to page someone, thousands would only burn the Sentry quota.
  const lastSent = new Map<string, number>();
  const throttled = (error: unknown, tags: ErrorTags | undefined): boolean => {
    const code = (error as { code?: unknown })?.code ?? (error as Error)?.name ?? typeof error;
    const key = `${tags?.kind}|${tags?.route}|${tags?.backend}|${String(code)}`;
    const now = Date.now();
    if (now - (lastSent.get(key) ?? Number.NEGATIVE_INFINITY) < config.throttle) return true;
    if (lastSent.size > 1000) lastSent.clear();
    lastSent.set(key, now);
    return false;
  };
  return {
    enabled: true,
    report: (error, tags) => {
      if (throttled(error, tags)) return;
      withClient((sentry) => sentry.exception(error, tags));
    },
    message: (text, tags) => withClient((sentry) => sentry.message(text, tags)),
    flush: async (timeoutMs = 2000) => {
      await ready;
      return client ? client.flush(timeoutMs) : true;
    },
    close: async (timeoutMs = 2000) => {
      await ready;
      await client?.close(timeoutMs);
    },
  };
}
