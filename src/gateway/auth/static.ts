import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  type Authenticator,
  AuthFailure,
  type AuthSuccess,
  bearerChallenge,
  bearerToken,
  headerValue,
} from './types.ts';

interface TokenEntry {
  digest: Buffer;
  principal: string;
}

/**
 * Fixed tokens (or API keys), each naming a principal. Presented tokens are hashed and compared
 * against every configured token with timingSafeEqual, so the time taken says nothing about how
 * close a guess was or which token matched.
 */
export class StaticAuthenticator implements Authenticator {
  readonly #entries: TokenEntry[];
  readonly #header: string;

  constructor(tokens: Record<string, string>, header: string) {
    this.#entries = Object.entries(tokens).map(([token, principal]) => ({
      digest: digest(token),
      principal,
    }));
    this.#header = header;
  }

  async authenticate(req: IncomingMessage): Promise<AuthSuccess> {
    const bearer = this.#header === 'authorization';
    const token = bearer ? bearerToken(req) : headerValue(req, this.#header);
    if (token === undefined) {
      throw new AuthFailure('TUSGATE_ERR_UNAUTHORIZED', 'missing', {
        headers: bearer ? bearerChallenge() : {},
      });
    }
    const presented = digest(token);
    let principal: string | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(entry.digest, presented)) principal ??= entry.principal;
    }
    if (principal === undefined) {
      throw new AuthFailure('TUSGATE_ERR_INVALID_CREDENTIALS', 'invalid', {
        headers: bearer ? bearerChallenge('invalid_token') : {},
      });
    }
    return { principal, reason: 'valid' };
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
