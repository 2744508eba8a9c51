import { z } from 'zod';
import { duration, httpUrl } from './common.ts';

/** Shorter tokens are too easy to guess. */
export const minTokenLength = 8;

const noneAuth = z.strictObject({ type: z.literal('none') });

const staticAuth = z
  .strictObject({
    type: z.literal('static'),
    /** token → principal. Keys may use ${ENV} like values. */
    tokens: z
      .record(z.string(), z.string().min(1))
      .superRefine((tokens, ctx) => {
        // The token is a secret: the message names its principal, never the token itself.
        for (const [token, principal] of Object.entries(tokens)) {
          if (token.length >= minTokenLength) continue;
          ctx.addIssue({
            code: 'custom',
            message: `the token of principal "${principal}" has ${token.length} characters; tokens need ${minTokenLength} or more`,
          });
        }
      })
      .optional(),
    /** A YAML or JSON file with the same map; read at start and on every reload. */
    tokensFile: z.string().min(1).optional(),
    /** `authorization` takes `Bearer <token>`; any other header carries the bare token. */
    header: z
      .string()
      .min(1)
      .transform((value) => value.toLowerCase())
      .default('authorization'),
  })
  .refine((value) => value.tokens !== undefined || value.tokensFile !== undefined, {
    message: 'set tokens or tokensFile',
  });

const asymmetricAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
const hmacAlgorithms = ['HS256', 'HS384', 'HS512'] as const;

const jwtAuth = z
  .strictObject({
    type: z.literal('jwt'),
    /** HMAC secret (HS256/384/512). */
    secret: z.string().min(32, 'use an HMAC secret of 32+ characters').optional(),
    /** PEM public key (RS/PS/ES/EdDSA). */
    publicKey: z.string().min(1).optional(),
    /** JWKS endpoint; keys are cached and refetched when an unknown key id appears. */
    jwksUrl: httpUrl.optional(),
    algorithms: z
      .array(z.enum([...hmacAlgorithms, ...asymmetricAlgorithms]))
      .min(1)
      .optional(),
    issuer: z.string().min(1).optional(),
    audience: z.string().min(1).optional(),
    principalClaim: z.string().min(1).default('sub'),
    clockTolerance: duration.default(5_000),
    /** Refuse tokens without an `exp` claim (they would be valid forever). */
    requireExpiry: z.boolean().default(true),
    /** How long fetched JWKS keys are trusted before they are fetched again. */
    jwksCacheTtl: duration.default(600_000),
  })
  .superRefine((value, ctx) => {
    const sources = [value.secret, value.publicKey, value.jwksUrl].filter((v) => v !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of secret, publicKey or jwksUrl' });
      return;
    }
    const hmac = value.secret !== undefined;
    const wrong = (value.algorithms ?? []).filter(
      (alg) => hmac !== (hmacAlgorithms as readonly string[]).includes(alg),
    );
    if (wrong.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['algorithms'],
        message: `${wrong.join(', ')} cannot be used with ${hmac ? 'a secret' : 'public keys'} (algorithm confusion)`,
      });
    }
  })
  .transform((value) => ({
    ...value,
    // A public key's default follows its type (the authenticator reads it from the key); a key
    // set's keys are matched to the token's alg by their own type.
    algorithms:
      value.algorithms ??
      (value.secret !== undefined
        ? [...hmacAlgorithms]
        : value.jwksUrl !== undefined
          ? [...asymmetricAlgorithms]
          : undefined),
  }));

const galaxyAuth = z.strictObject({
  type: z.literal('galaxy'),
  /** Galaxy's tus hook endpoint; a bare Galaxy URL gets `/api/upload/hooks` appended. */
  url: httpUrl.transform((url) => {
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/api/upload/hooks';
    return url;
  }),
  /** How long Galaxy's answer for one set of credentials is reused. */
  cacheTtl: duration.default(60_000),
  timeout: duration.default(10_000),
  /** Request headers sent on to Galaxy, as tusd's -hooks-http-forward-headers. */
  forwardHeaders: z.array(z.string().min(1)).default(['X-Api-Key', 'Cookie']),
  /** Galaxy's session cookie: identifies an anonymous or browser user. */
  sessionCookie: z.string().min(1).default('galaxysession'),
});

export const authSchema = z.discriminatedUnion('type', [noneAuth, staticAuth, jwtAuth, galaxyAuth]);
