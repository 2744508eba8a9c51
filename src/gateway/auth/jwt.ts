import { createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { AuthConfig } from '../../config/schema/index.ts';
import { algorithmsForKey } from './jwt-algorithms.ts';
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
 * key, or a JWKS endpoint), only algorithms that key can verify (so `alg: none`, HS/RS confusion
 * and an alg of another key type are refused as invalid, never mistaken for an outage), and exp
 * (required unless `requireExpiry: false`), nbf, iss and aud. The principal is one claim of the
 * token.
 */
export class JwtAuthenticator implements Authenticator {
  readonly #config: JwtConfig;
  readonly #key: Uint8Array | KeyObject | JWTVerifyGetKey;
  readonly #algorithms: string[];

  constructor(config: JwtConfig) {
    this.#config = config;
    if (config.secret !== undefined) {
      this.#key = new TextEncoder().encode(config.secret);
      this.#algorithms = config.algorithms ?? [];
    } else if (config.publicKey !== undefined) {
      const key = createPublicKey(config.publicKey);
      const usable = algorithmsForKey(key);
      this.#key = key;
      this.#algorithms = (config.algorithms ?? usable).filter((alg) => usable.includes(alg));
      if (this.#algorithms.length === 0) {
        throw new AlgorithmMismatch(
          `a ${key.asymmetricKeyType ?? 'public'} key verifies none of ${(config.algorithms ?? usable).join(', ') || 'the supported algorithms'}`,
        );
      }
    } else {
      const keySet = createRemoteJWKSet(config.jwksUrl as URL, {
        cacheMaxAge: config.jwksCacheTtl,
        // An unknown key id refetches the set (key rotation), at most this often.
        cooldownDuration: Math.min(30_000, config.jwksCacheTtl),
        timeoutDuration: 5_000,
      });
      this.#key = async (header, token) => {
        try {
          return await keySet(header, token);
        } catch (error) {
          // No key of the set fits this token: the token's fault. Anything else is the set's.
          if (
            error instanceof errors.JWKSNoMatchingKey ||
            error instanceof errors.JWKSMultipleMatchingKeys ||
            error instanceof errors.JOSENotSupported
          ) {
            throw error;
          }
          throw new KeySetUnavailable(error);
        }
      };
      this.#algorithms = config.algorithms ?? [];
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
        algorithms: this.#algorithms,
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: Math.round(config.clockTolerance / 1000),
        requiredClaims: config.requireExpiry ? ['exp'] : [],
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

/** The configured algorithms and the public key's type have nothing in common. */
export class AlgorithmMismatch extends Error {}

/** The JWKS endpoint could not give its keys (network, status, timeout, not a key set). */
class KeySetUnavailable extends Error {
  constructor(cause: unknown) {
    super('the JWKS endpoint could not be read', { cause });
  }
}

function failureOf(error: unknown): AuthFailure {
  if (error instanceof KeySetUnavailable) {
    // Not the client's fault, and never an open door.
    return new AuthFailure('TUSGATE_ERR_AUTH_UNAVAILABLE', 'unavailable', { cause: error.cause });
  }
  if (error instanceof errors.JWTExpired) {
    return new AuthFailure('TUSGATE_ERR_INVALID_CREDENTIALS', 'expired', {
      headers: bearerChallenge('invalid_token'),
    });
  }
  // Whatever else went wrong, the token is one the configured key cannot verify.
  return new AuthFailure('TUSGATE_ERR_INVALID_CREDENTIALS', 'invalid', {
    headers: bearerChallenge('invalid_token'),
  });
}
