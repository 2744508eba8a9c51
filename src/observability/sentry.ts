import {
  defaultStackParser,
  linkedErrorsIntegration,
  makeNodeTransport,
  NodeClient,
  nodeContextIntegration,
  Scope,
} from '@sentry/node';
import type { Logger } from 'pino';
import type { SentryConfig } from '../config/schema/sentry.ts';
import { version } from '../version.ts';
import { createScrubber } from './scrub.ts';

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
  env?: NodeJS.ProcessEnv;
}

/**
 * A Sentry client of this gateway's own (not the global one: tests run several gateways in one
 * process). Only the integrations an error report needs: no tracing, no HTTP instrumentation on
 * the upload path, no breadcrumbs that could carry request data.
 */
export function createErrorReporter(
  config: SentryConfig,
  log: Logger,
  options: ErrorReporterOptions = {},
): ErrorReporter {
  const dsn = config.dsn ?? (options.env ?? process.env).SENTRY_DSN;
  if (!dsn) return noErrorReporter;
  const scrub = createScrubber({ metadata: config.scrubMetadata, secrets: options.secrets });
  const client = new NodeClient({
    dsn,
    environment: config.environment,
    release: config.release ?? `tusgate@${version}`,
    sampleRate: config.sampleRate,
    transport: makeNodeTransport,
    stackParser: defaultStackParser,
    integrations: [linkedErrorsIntegration(), nodeContextIntegration()],
    maxBreadcrumbs: 0,
    beforeSend: (event) => scrub(event),
  });
  const scope = new Scope();
  scope.setClient(client);
  try {
    client.init();
  } catch (error) {
    log.error({ err: error }, 'Sentry could not start; errors go to the log only');
    return noErrorReporter;
  }
  log.info({ environment: config.environment }, 'Sentry error reporting on');

  const withTags = (tags: ErrorTags | undefined) => {
    const eventScope = scope.clone();
    for (const [key, value] of Object.entries(tags ?? {})) {
      if (value !== undefined) eventScope.setTag(key === 'requestId' ? 'request_id' : key, value);
    }
    return eventScope;
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
      withTags(tags).captureException(error);
    },
    message: (text, tags) => {
      withTags(tags).captureMessage(text, 'error');
    },
    flush: async (timeoutMs = 2000) => client.flush(timeoutMs),
    close: async (timeoutMs = 2000) => {
      await client.close(timeoutMs);
    },
  };
}
