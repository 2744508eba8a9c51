import { z } from 'zod';
import { duration, httpUrl } from './common.ts';

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
  timeout: duration.default(10_000),
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
    message: 'AMQP cannot answer: only post-* events (pre-* need an http or file hook)',
    path: ['events'],
  });

const fileHook = z.strictObject({
  type: z.literal('file'),
  ...common,
  /** Run as `command <event>` with the hook JSON on stdin, as tusd's file hooks. */
  command: z.string().min(1),
  timeout: duration.default(30_000),
});

export const hookSchema = z.discriminatedUnion('type', [httpHook, amqpHook, fileHook]);
export type HookConfig = z.output<typeof hookSchema>;
