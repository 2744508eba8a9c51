import { z } from 'zod';
import { duration, httpUrl, size } from './common.ts';

export const hookEventTypes = [
  'pre-create',
  'post-create',
  'post-receive',
  'pre-finish',
  'post-finish',
  'pre-terminate',
  'post-terminate',
] as const;

const hookEvent = z.enum(hookEventTypes);

const common = {
  events: z.array(hookEvent).min(1),
  /**
   * Also send post-create, post-finish and post-terminate for uploads on legacy backends, as
   * tusgate observes them (marked `"Observed": true`); the legacy server runs its own hooks.
   */
  observeLegacy: z.boolean().default(false),
  /** Attempts after the first for post-* events, with exponential backoff from retryDelay. */
  retries: z.number().int().min(0).max(100).default(5),
  retryDelay: duration.default(500),
  /** A pre-* hook that fails or times out: reject the request (503) or carry on without it. */
  onError: z.enum(['reject', 'allow']).default('reject'),
};

const httpHook = z.strictObject({
  type: z.literal('http'),
  ...common,
  url: httpUrl,
  /** Client request headers sent along (tusd: -hooks-http-forward-headers). */
  forwardHeaders: z.array(z.string().min(1)).default([]),
  /** Fixed headers for the receiver, e.g. its own Authorization. */
  headers: z.record(z.string().min(1), z.string()).default({}),
  /** The whole hook request, answer included (tusd: -hooks-http-timeout). */
  timeout: duration.default(10_000),
  /** A longer answer body is a failure (tusd: -hooks-http-size-limit, 5 KiB too). */
  sizeLimit: size.default(5 * 1024),
});

const amqpHook = z
  .strictObject({
    type: z.literal('amqp'),
    ...common,
    url: z.string().regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL'),
    /** Declared durable; messages are persistent and published with confirms. */
    exchange: z.string().min(1).default('tusgate'),
    exchangeType: z.enum(['topic', 'direct', 'fanout', 'headers']).default('topic'),
    /** `{event}` becomes the event name, e.g. tusgate.post-finish. */
    routingKey: z.string().min(1).default('tusgate.{event}'),
    /** json: the tusd hook JSON; celery: a Celery protocol-2 task message carrying it. */
    format: z.enum(['json', 'celery']).default('json'),
    /** Celery task name (`{event}` allowed). */
    task: z.string().min(1).default('tusgate.{event}'),
    /** A publish the broker has not confirmed by then fails (and the connection is renewed). */
    timeout: duration.default(10_000),
  })
  .refine((hook) => hook.events.every((event) => event.startsWith('post-')), {
    message: 'AMQP cannot answer: only post-* events (pre-* need an http, grpc or file hook)',
    path: ['events'],
  });

const fileHook = z.strictObject({
  type: z.literal('file'),
  ...common,
  /** Run as `command <event>` with the hook JSON on stdin, as tusd's file hooks. */
  command: z.string().min(1),
  timeout: duration.default(30_000),
});

/** A gRPC metadata key: what grpc-js accepts as text metadata, minus gRPC's own `grpc-*`. */
const metadataKey = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-" (a gRPC metadata key)')
  .refine((key) => !/^grpc-|-bin$/i.test(key), 'grpc-* and *-bin metadata keys are not allowed');

const grpcHook = z.strictObject({
  type: z.literal('grpc'),
  ...common,
  /** host:port of a HookHandler server of tusd's hook.proto (tusd: -hooks-grpc). */
  url: z
    .string()
    .regex(
      /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/,
      'must be host:port, e.g. 127.0.0.1:8000',
    ),
  /** TLS, checked against the CAs Node trusts; plaintext (as tusd by default) otherwise. */
  tls: z.boolean().default(false),
  /** Client request headers sent along as call metadata (tusd: -hooks-grpc-forward-headers). */
  forwardHeaders: z.array(metadataKey).default([]),
  /** Fixed call metadata for the receiver, e.g. its own token (printable ASCII values). */
  headers: z
    .record(metadataKey, z.string().regex(/^[ -~]*$/, 'must be printable ASCII'))
    .default({}),
  /** The whole call (a gRPC deadline). */
  timeout: duration.default(10_000),
  /** A larger answer message is a failure. */
  sizeLimit: size.default(5 * 1024),
});

export const hookSchema = z.discriminatedUnion('type', [httpHook, amqpHook, fileHook, grpcHook]);
export type HookConfig = z.output<typeof hookSchema>;
