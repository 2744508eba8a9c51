import { z } from 'zod';
import { duration, httpUrl, name } from './common.ts';

/** A legacy tus server reached over HTTP. `tusd`, `rustus` and `tus` behave the same today. */
export const proxyBackendSchema = z.strictObject({
  type: z.enum(['tusd', 'rustus', 'tus']),
  url: httpUrl,
  connectTimeout: duration.default(5_000),
  /** No progress in either direction for this long while waiting on the backend: 504. */
  idleTimeout: duration.default(60_000),
  /** An upload body from a client that sends nothing for this long is ended: 408 (tusd keeps the bytes). */
  bodyIdleTimeout: duration.default(60_000),
  /** Connections for upload bodies (PATCH, POST with data); also the most bodies in flight. */
  connections: z.number().int().min(1).max(4096).default(256),
  /** Connections for every other request; HEAD and GET each get a budget of this size too. */
  controlConnections: z.number().int().min(1).max(4096).default(64),
  limits: z
    .strictObject({
      /** Upload bodies in flight from one client address; more get 429. */
      bodiesPerClient: z.number().int().min(1).max(4096).default(64),
      /** Downloads (GET) in flight from one client address; more get 429. */
      downloadsPerClient: z.number().int().min(1).max(4096).default(16),
      /** Sent as Retry-After with a 429 or 503 refusal. */
      retryAfter: duration.default(10_000),
    })
    .prefault({}),
});

export const nativeBackendSchema = z.strictObject({
  type: z.literal('native'),
  store: name,
  /** How long a request waits for another request on the same upload before a 423. */
  lockTimeout: duration.default(3_000),
  /** Minimum gap between two post-receive hook events of one upload. */
  progressInterval: duration.default(1_000),
  /** fdatasync a finished upload before handing it off and answering. */
  syncOnFinish: z.boolean().default(true),
});

export const backendSchema = z.discriminatedUnion('type', [
  proxyBackendSchema,
  nativeBackendSchema,
]);
