import type { RouteConfig } from './config/schema/index.ts';
import { type ErrorCode, TusgateError } from './errors.ts';
import type { HookResponse } from './hooks/types.ts';

/**
 * Refusals that the same request meets again however often it is retried. On a route with
 * `refusals: galaxy` they are answered 403: Galaxy's upload client shows the user a 403 and
 * retries any other status every 10 s without end. Not listed, so never rewritten: what tus
 * clients settle themselves (404/410 start a new upload, 409/423 re-read the offset, 412
 * negotiates the version, 460 re-sends the chunk), timeouts and every 5xx.
 */
const permanentRefusals: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TUSGATE_ERR_SIZE_EXCEEDED',
  'TUSGATE_ERR_HOOK_REJECTED',
  'TUSGATE_ERR_UNAUTHORIZED',
  'TUSGATE_ERR_INVALID_CREDENTIALS',
  'TUSGATE_ERR_UNSUPPORTED_CHECKSUM',
  'TUSGATE_ERR_INVALID_CONTENT_TYPE',
  'TUSGATE_ERR_INVALID_HEADER',
  'TUSGATE_ERR_INVALID_HOST',
  'TUSGATE_ERR_INVALID_METADATA',
  'TUSGATE_ERR_INVALID_CHECKSUM',
  'TUSGATE_ERR_INVALID_OFFSET',
  'TUSGATE_ERR_INVALID_LENGTH',
  'TUSGATE_ERR_INVALID_CONCAT',
  'TUSGATE_ERR_CONCAT_SPLIT',
  'TUSGATE_ERR_METHOD_NOT_ALLOWED',
]);

/** Statuses a hook may choose that tus clients act on, or that say "try again later". */
const transientHookStatuses: ReadonlySet<number> = new Set([
  404, 408, 409, 410, 412, 423, 429, 460,
]);

/** The error to answer on this route: a permanent refusal becomes a 403 under `refusals: galaxy`. */
export function refusalFor(route: RouteConfig | undefined, error: TusgateError): TusgateError {
  if (route?.refusals !== 'galaxy' || error.status === 403) return error;
  if (!permanentRefusals.has(error.code)) return error;
  return new RestatedRefusal(error, 403);
}

/** A pre-* hook's rejection (or a post-receive stop), with its status restated the same way. */
export function hookRefusalFor(route: RouteConfig | undefined, answer: HookResponse): HookResponse {
  if (route?.refusals !== 'galaxy') return answer;
  const status = answer.HTTPResponse?.StatusCode;
  // tusd answers 400 when the hook names no status (or one below 400).
  const effective = status !== undefined && status >= 400 ? status : 400;
  if (effective >= 500 || effective === 403 || transientHookStatuses.has(effective)) return answer;
  return { ...answer, HTTPResponse: { ...answer.HTTPResponse, StatusCode: 403 } };
}

/** The same refusal (code, message, headers) under another status. */
class RestatedRefusal extends TusgateError {
  override readonly status: number;

  constructor(original: TusgateError, status: number) {
    super(original.code, { message: original.message, cause: original, headers: original.headers });
    this.status = status;
  }
}
