import { z } from 'zod';
import { duration, httpUrl } from './common.ts';

const noneAuth = z.strictObject({ type: z.literal('none') });

const staticAuth = z.strictObject({
  type: z.literal('static'),
  tokens: z.record(z.string().min(1), z.string().min(1)).optional(),
  tokensFile: z.string().min(1).optional(),
  header: z.string().min(1).default('authorization'),
});

const jwtAuth = z.strictObject({
  type: z.literal('jwt'),
  secret: z.string().min(1).optional(),
  publicKey: z.string().min(1).optional(),
  jwksUrl: httpUrl.optional(),
  algorithms: z.array(z.string()).optional(),
  issuer: z.string().optional(),
  audience: z.string().optional(),
  principalClaim: z.string().default('sub'),
  clockTolerance: duration.default(5_000),
});

const galaxyAuth = z.strictObject({
  type: z.literal('galaxy'),
  url: httpUrl,
  cacheTtl: duration.default(60_000),
  timeout: duration.default(10_000),
});

export const authSchema = z.discriminatedUnion('type', [noneAuth, staticAuth, jwtAuth, galaxyAuth]);
