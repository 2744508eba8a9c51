import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'undici';
import type { AuthConfig } from '../../config/schema/index.ts';
import { canonicalHeaderName } from '../../hooks/header-names.ts';
import { hookUploadFromRequest } from '../../hooks/payload.ts';
import { parseHookAnswer } from '../../hooks/sinks/sink.ts';
import type { HookEvent, HookResponse } from '../../hooks/types.ts';
import { DecisionCache } from './decision-cache.ts';
import {
  type Authenticator,
  AuthFailure,
  type AuthRequestInfo,
  type AuthSuccess,
  headerValue,
} from './types.ts';

type GalaxyConfig = Extract<AuthConfig, { type: 'galaxy' }>;

/** Galaxy's answer for one set of credentials: admitted, or refused (cached alike). */
type Verdict = { admitted: true } | { admitted: false; failure: AuthFailure };

/**
 * Asks Galaxy, the way tusd's HTTP hooks do for `pre-create`: a POST of the tusd v2 hook JSON to
 * Galaxy's hook endpoint with the client's `X-Api-Key` and `Cookie` forwarded as request headers
 * (Galaxy's decorator reads them there and never reads the body) and in the JSON. A JSON 2xx
 * without `RejectUpload: true` admits; a 2xx that is not a readable hook answer is an outage
 * (503, not cached). Galaxy does not say who the user is, so the principal is a hash of the
 * credential it accepted: the API key, else the session cookie.
 */
export class GalaxyAuthenticator implements Authenticator {
  readonly #config: GalaxyConfig;
  readonly #agent: Agent;
  readonly #cache: DecisionCache<Verdict>;

  constructor(config: GalaxyConfig, options: { now?: () => number } = {}) {
    this.#config = config;
    this.#agent = new Agent({ connections: 16, connectTimeout: config.timeout });
    this.#cache = new DecisionCache(config.cacheTtl, { now: options.now });
  }

  async authenticate(req: IncomingMessage, info: AuthRequestInfo): Promise<AuthSuccess> {
    const apiKey = headerValue(req, 'x-api-key');
    const session = sessionCookie(headerValue(req, 'cookie'), this.#config.sessionCookie);
    if (apiKey === undefined && session === undefined) {
      throw new GalaxyRefusal('TUSGATE_ERR_UNAUTHORIZED', 'missing');
    }
    const forwarded = this.#forwardedHeaders(req);
    const key = sha256(JSON.stringify([apiKey ?? null, session ?? null]));
    const { value, cached } = await this.#cache.get(
      key,
      () => this.#ask(info, forwarded),
      // Refusals are cached too (a bad key costs one call per TTL); outages are not.
      (verdict) => verdict.admitted || verdict.failure.reason !== 'unavailable',
    );
    if (!value.admitted) throw value.failure;
    const principal =
      apiKey !== undefined
        ? `galaxy-key:${sha256(apiKey).slice(0, 32)}`
        : `galaxy-session:${sha256(session as string).slice(0, 32)}`;
    return { principal, reason: cached ? 'cached' : 'valid' };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  #forwardedHeaders(req: IncomingMessage): Record<string, string[]> {
    const headers: Record<string, string[]> = {};
    for (const name of this.#config.forwardHeaders) {
      const values = req.headersDistinct[name.toLowerCase()];
      if (values && values.length > 0) headers[canonicalHeaderName(name)] = values;
    }
    return headers;
  }

  async #ask(info: AuthRequestInfo, forwarded: Record<string, string[]>): Promise<Verdict> {
    const body: HookEvent = {
      Type: 'pre-create',
      Event: {
        Upload: hookUploadFromRequest(info.tus, {
          id: info.uploadId ?? '',
          size: uploadSize(info),
        }),
        HTTPRequest: {
          Method: info.tus.method,
          URI: info.uri,
          RemoteAddr: info.clientAddress,
          Header: forwarded,
        },
      },
    };
    const headers: Record<string, string | string[]> = { 'content-type': 'application/json' };
    for (const [name, values] of Object.entries(forwarded)) headers[name] = values;
    let status: number;
    let text: string;
    let contentType: string;
    try {
      const response = await request(this.#config.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        dispatcher: this.#agent,
        headersTimeout: this.#config.timeout,
        bodyTimeout: this.#config.timeout,
      });
      status = response.statusCode;
      contentType = String(response.headers['content-type'] ?? '');
      text = await response.body.text();
    } catch (error) {
      return {
        admitted: false,
        failure: unavailable(error),
      };
    }
    if (status === 401 || status === 403) {
      return {
        admitted: false,
        failure: new GalaxyRefusal('TUSGATE_ERR_INVALID_CREDENTIALS', 'invalid'),
      };
    }
    if (status < 200 || status >= 300) {
      const cause = new Error(`Galaxy hook endpoint answered ${status}`);
      return {
        admitted: false,
        failure: unavailable(cause),
      };
    }
    let answer: HookResponse;
    try {
      answer = readAnswer(text, contentType);
    } catch (error) {
      // A maintenance page or a broken proxy answering 2xx: nobody said yes, so nobody gets in.
      return { admitted: false, failure: unavailable(error) };
    }
    if (answer.RejectUpload === true) {
      return { admitted: false, failure: new GalaxyRefusal('TUSGATE_ERR_FORBIDDEN', 'rejected') };
    }
    return { admitted: true };
  }
}

/**
 * Galaxy's own answer for missing or invalid credentials is 403, and 403 is the only failure its
 * upload client shows the user (it retries any other status every 10 s, without end). The code
 * still names the reason.
 */
class GalaxyRefusal extends AuthFailure {
  override readonly status = 403;
}

/** Galaxy unreachable, slow or failing: a 503 the client may retry (Galaxy's client does, every 10 s). */
function unavailable(cause: unknown): AuthFailure {
  return new AuthFailure('TUSGATE_ERR_AUTH_UNAVAILABLE', 'unavailable', {
    cause,
    headers: { 'Retry-After': '10' },
  });
}

/**
 * Reads a 2xx hook answer: JSON `null` (what Galaxy answers) or a hook response object. Anything
 * else, an empty body included, throws: only an answer Galaxy actually gave may admit.
 */
function readAnswer(text: string, contentType: string): HookResponse {
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType.trim())) {
    throw new Error(
      `Galaxy hook endpoint answered a 2xx that is not JSON (${contentType || 'no Content-Type'})`,
    );
  }
  if (text.trim() === '') throw new Error('Galaxy hook endpoint answered an empty 2xx');
  try {
    return parseHookAnswer(text);
  } catch (error) {
    throw new Error('Galaxy hook endpoint answered a 2xx that is not a hook response', {
      cause: error,
    });
  }
}

/** tusd's pre-create Size: the declared length, 0 (not deferred) when none was declared. */
function uploadSize(info: AuthRequestInfo): number | null {
  if (info.tus.deferLength) return null;
  return info.tus.uploadLength ?? 0;
}

function sessionCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) {
      const value = part.slice(index + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
