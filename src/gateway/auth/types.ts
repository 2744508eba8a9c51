import type { IncomingMessage } from 'node:http';
import { type ErrorCode, TusgateError } from '../../errors.ts';
import type { TusRequest } from '../../tus/request.ts';

/** Why a request was admitted or refused; the `reason` label of tusgate_auth_decisions_total. */
export type AuthReason =
  | 'valid'
  | 'cached'
  | 'missing'
  | 'invalid'
  | 'expired'
  | 'rejected'
  | 'unavailable';

export interface AuthSuccess {
  principal: string;
  reason: 'valid' | 'cached';
}

/** What an authenticator may know about the request besides its headers. */
export interface AuthRequestInfo {
  uploadId: string | null;
  /** The end client's address (after trusted proxies). */
  clientAddress: string;
  /** The public path and query the client asked for. */
  uri: string;
  /** The request's parsed tus headers (an auth hook's payload is built from them). */
  tus: TusRequest;
}

/** Turns a request into a principal, or throws an AuthFailure (401/403/503). */
export interface Authenticator {
  authenticate(req: IncomingMessage, info: AuthRequestInfo): Promise<AuthSuccess>;
  close?(): Promise<void>;
}

/** A refusal: a short tus-style answer for the client, and a reason for metrics and logs. */
export class AuthFailure extends TusgateError {
  readonly reason: AuthReason;

  constructor(
    code: Extract<
      ErrorCode,
      | 'TUSGATE_ERR_UNAUTHORIZED'
      | 'TUSGATE_ERR_INVALID_CREDENTIALS'
      | 'TUSGATE_ERR_FORBIDDEN'
      | 'TUSGATE_ERR_AUTH_UNAVAILABLE'
    >,
    reason: AuthReason,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, options);
    this.reason = reason;
  }
}

/** RFC 6750 challenge for bearer-token schemes. */
export function bearerChallenge(error?: 'invalid_token'): Record<string, string> {
  return {
    'WWW-Authenticate': error
      ? `Bearer realm="tusgate", error="${error}"`
      : 'Bearer realm="tusgate"',
  };
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

/** The token of `Authorization: Bearer <token>`; undefined when absent or another scheme. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const value = headerValue(req, 'authorization');
  const match = value && /^Bearer\s+(\S+)$/i.exec(value);
  return match ? match[1] : undefined;
}
