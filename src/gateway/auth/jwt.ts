import { createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { AuthConfig } from '../../config/schema/index.ts';
import {
  type Authenticator,
  AuthFailure,
  type AuthSuccess,
  bearerChallenge,
  bearerToken,
} from './types.ts';

type JwtConfig = Extract<AuthConfig, { type: 'jwt' }>;

/**
 * Bearer JWTs checked with jose: signature with the configured key (an HMAC secret, a PEM public
 * key, or a JWKS endpoint), the allowed algorithms only (so `alg: none` and HS/RS confusion are
 * refused), and exp, nbf, iss and aud. The principal is one claim of the token.
 */
export class JwtAuthenticator implements Authenticator {
  readonly #config: JwtConfig;
  readonly #key: Uint8Array | KeyObject | JWTVerifyGetKey;

  constructor(config: JwtConfig) {
    this.#config = config;
    if (config.secret !== undefined) {
      this.#key = new TextEncoder().encode(config.secret);
    } else if (config.publicKey !== undefined) {
      this.#key = createPublicKey(config.publicKey);
    } else {
      this.#key = createRemoteJWKSet(config.jwksUrl as URL, {
        cacheMaxAge: config.jwksCacheTtl,
        // An unknown key id refetches the set (key rotation), at most this often.
        cooldownDuration: Math.min(30_000, config.jwksCacheTtl),
        timeoutDuration: 5_000,
      });
    }
  }

  async authenticate(req: IncomingMessage): Promise<AuthSuccess> {
    const token = bearerToken(req);
    if (token === undefined) {
      throw new AuthFailure('TUSGATE_ERR_UNAUTHORIZED', 'missing', { headers: bearerChallenge() });
    }
    const config = this.#config;
    let payload: Record<string, unknown>;
    try {
      const options = {
        algorithms: config.algorithms,
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: Math.round(config.clockTolerance / 1000),
      };
      // jose has one overload per key kind; the union is narrowed here.
      const key = this.#key;
      const verified =
        typeof key === 'function'
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options);
      payload = verified.payload;
    } catch (error) {
      throw failureOf(error);
    }
    const principal = payload[config.principalClaim];
    if ((typeof principal !== 'string' || principal === '') && typeof principal !== 'number') {
      throw new AuthFailure('TUSGATE_ERR_INVALID_CREDENTIALS', 'invalid', {
        headers: bearerChallenge('invalid_token'),
      });
    }
    return { principal: String(principal), reason: 'valid' };
  }
}

function failureOf(error: unknown): AuthFailure {
  if (error instanceof errors.JWTExpired) {
    return new AuthFailure('TUSGATE_ERR_INVALID_CREDENTIALS', 'expired', {
      headers: bearerChallenge('invalid_token'),
    });
  }
  // jose's own error classes all have their own code; a bare JOSEError or a non-jose error
  // comes from fetching the key set (HTTP status, network).
  const unavailable =
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    !(error instanceof errors.JOSEError) ||
    error.code === 'ERR_JOSE_GENERIC';
  if (unavailable) {
    // The key set could not be fetched: not the client's fault, and never an open door.
    return new AuthFailure('TUSGATE_ERR_AUTH_UNAVAILABLE', 'unavailable', { cause: error });
  }
  return new AuthFailure('TUSGATE_ERR_INVALID_CREDENTIALS', 'invalid', {
    headers: bearerChallenge('invalid_token'),
  });
}
