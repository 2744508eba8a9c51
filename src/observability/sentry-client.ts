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
import type { ErrorReporterOptions, ErrorTags } from './sentry.ts';

export interface SentryClient {
  exception(error: unknown, tags?: ErrorTags): void;
  message(text: string, tags?: ErrorTags): void;
  flush(timeoutMs: number): Promise<boolean>;
  close(timeoutMs: number): Promise<void>;
}

/**
 * A Sentry client of this gateway's own (not the global one: tests run several gateways in one
 * process). Only the integrations an error report needs: no tracing, no HTTP instrumentation on
 * the upload path, no breadcrumbs that could carry request data.
 */
export function startSentryClient(
  dsn: string,
  config: SentryConfig,
  log: Logger,
  options: ErrorReporterOptions,
): SentryClient {
  const scrub = createScrubber({
    metadata: config.scrubMetadata,
    secrets: options.secrets,
    secretNames: options.secretNames,
  });
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
  client.init();
  log.info({ environment: config.environment }, 'Sentry error reporting on');

  const withTags = (tags: ErrorTags | undefined) => {
    const eventScope = scope.clone();
    for (const [key, value] of Object.entries(tags ?? {})) {
      if (value !== undefined) eventScope.setTag(key === 'requestId' ? 'request_id' : key, value);
    }
    return eventScope;
  };
  return {
    exception: (error, tags) => {
      withTags(tags).captureException(error);
    },
    message: (text, tags) => {
      withTags(tags).captureMessage(text, 'error');
    },
    flush: async (timeoutMs) => client.flush(timeoutMs),
    close: async (timeoutMs) => {
      await client.close(timeoutMs);
    },
  };
}
