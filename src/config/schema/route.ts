import { z } from 'zod';
import { authSchema } from './auth.ts';
import { backendSchema } from './backend.ts';
import { duration, name, size } from './common.ts';
import { hookSchema } from './hooks.ts';

const matchSchema = z.strictObject({
  pathPrefix: z
    .string()
    .regex(/^\/(?:[A-Za-z0-9._~-]+\/)*$/, 'must start and end with "/", e.g. /files/'),
  host: z.string().min(1).optional(),
  header: z.strictObject({ name: z.string().min(1), value: z.string() }).optional(),
});

const canarySchema = z.strictObject({
  backend: name,
  weight: z.number().min(0).max(100),
  sticky: z.enum(['principal', 'none']).default('principal'),
  stickyHeader: z.string().min(1).optional(),
  /** Seeds `sticky: none` draws, for reproducible placement (tests, dry runs). */
  seed: z.number().int().optional(),
  override: z
    .strictObject({
      header: z.string().min(1).default('x-tusgate-backend'),
      allow: z.array(z.string().min(1)).default([]),
    })
    .optional(),
  rollback: z
    .strictObject({
      window: duration.default(300_000),
      threshold: z.number().gt(0).max(1).default(0.2),
      minRequests: z.number().int().min(1).default(20),
    })
    .optional(),
});

/** `*`, an exact origin (https://a.example), or a regular expression between slashes. */
const corsOrigin = z
  .string()
  .min(1)
  .refine(
    (value) => {
      if (!(value.length > 2 && value.startsWith('/') && value.endsWith('/'))) return true;
      try {
        new RegExp(value.slice(1, -1));
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid regular expression' },
  );

const corsSchema = z.strictObject({
  origins: z.array(corsOrigin).default([]),
  credentials: z.boolean().default(false),
  maxAge: duration.default(86_400_000),
});

/**
 * Uploads that existed before tusgate have no owner on record. Without this block an id with no
 * record is a 404 on routes with auth (fail closed); see docs/ownership.md.
 */
const unownedUploadsSchema = z
  .strictObject({
    /** Until this instant an id with no record counts as pre-tusgate: open to any principal. */
    allowUntil: z.iso
      .datetime({
        offset: true,
        message: 'must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z',
      })
      .transform((value) => new Date(value))
      .optional(),
    /** A file of pre-tusgate upload ids, one per line (`ls` of tusd's folder works). */
    idsFile: z.string().min(1).optional(),
  })
  .refine((value) => value.allowUntil !== undefined || value.idsFile !== undefined, {
    message: 'set allowUntil, idsFile or both',
  });

export const routeSchema = z.strictObject({
  name,
  match: matchSchema,
  maxSize: size.optional(),
  auth: authSchema.default({ type: 'none' }),
  backends: z.record(name, backendSchema).refine((value) => Object.keys(value).length > 0, {
    message: 'a route needs at least one backend',
  }),
  create: name.optional(),
  canary: canarySchema.optional(),
  hooks: z.array(hookSchema).default([]),
  cors: corsSchema.optional(),
  /**
   * `galaxy`: permanent refusals (too large, hook rejection, bad credentials...) are answered 403,
   * the one status Galaxy's upload client shows its user instead of retrying forever.
   */
  refusals: z.enum(['tus', 'galaxy']).default('tus'),
  unownedUploads: unownedUploadsSchema.optional(),
});
