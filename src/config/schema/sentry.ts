import { z } from 'zod';
import { duration } from './common.ts';

export const sentrySchema = z.strictObject({
  /** Sentry DSN; when absent, the SENTRY_DSN environment variable; neither means Sentry is off. */
  dsn: z
    .url({ protocol: /^https?$/, error: 'must be a Sentry DSN (https://key@host/project)' })
    .optional(),
  environment: z.string().min(1).default('production'),
  /** Defaults to tusgate@<version>. */
  release: z.string().min(1).optional(),
  /** Share of error events sent, 0-1. */
  sampleRate: z.number().min(0).max(1).default(1),
  /** The same failure (kind, route, backend, error code) is sent at most once per this window. */
  throttle: duration.default(10_000),
  /**
   * Upload-Metadata values sent to Sentry: `true` blanks every value (file names can be personal),
   * a list blanks only those keys, `false` keeps them.
   */
  scrubMetadata: z.union([z.boolean(), z.array(z.string().min(1))]).default(true),
});

export type SentryConfig = z.output<typeof sentrySchema>;
