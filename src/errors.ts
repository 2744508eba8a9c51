/**
 * Every error tusgate itself answers with. Each has a stable code, an HTTP status and a
 * short message; the tus-style response body is built from these (`errorBody`, used by
 * `tus/respond.ts` and by hook refusals). docs/errors.md documents each code.
 * Messages are written for clients: they never carry credentials, paths or backend details.
 */
export const errorCatalogue = {
  TUSGATE_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'no route for this path' },
  TUSGATE_ERR_UPLOAD_NOT_FOUND: { status: 404, message: 'upload not found' },
  TUSGATE_ERR_UPLOAD_GONE: { status: 410, message: 'upload expired or terminated' },
  TUSGATE_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  TUSGATE_ERR_MISSING_VERSION: { status: 412, message: 'missing Tus-Resumable header' },
  TUSGATE_ERR_UNSUPPORTED_VERSION: { status: 412, message: 'unsupported tus version' },
  TUSGATE_ERR_INVALID_HEADER: { status: 400, message: 'invalid header' },
  TUSGATE_ERR_INVALID_HOST: { status: 400, message: 'invalid Host or X-Forwarded-Host header' },
  TUSGATE_ERR_INVALID_METADATA: {
    status: 400,
    message: 'Upload-Metadata must be comma-separated "key base64value" pairs',
  },
  TUSGATE_ERR_INVALID_CHECKSUM: {
    status: 400,
    message: 'Upload-Checksum must be "<algorithm> <base64 digest>"',
  },
  TUSGATE_ERR_BAD_REQUEST: { status: 400, message: 'malformed HTTP request' },
  TUSGATE_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'request header fields too large' },
  TUSGATE_ERR_INVALID_CONTENT_TYPE: {
    status: 415,
    message: 'missing or invalid Content-Type header',
  },
  TUSGATE_ERR_INVALID_OFFSET: { status: 400, message: 'missing or invalid Upload-Offset header' },
  TUSGATE_ERR_INVALID_LENGTH: { status: 400, message: 'missing or invalid Upload-Length header' },
  TUSGATE_ERR_MISMATCHED_OFFSET: { status: 409, message: 'mismatched offset' },
  TUSGATE_ERR_SIZE_EXCEEDED: { status: 413, message: 'maximum size exceeded' },
  TUSGATE_ERR_UPLOAD_LOCKED: { status: 423, message: 'upload is currently locked' },
  TUSGATE_ERR_UPLOAD_INTERRUPTED: {
    status: 400,
    message: 'upload interrupted by another request for this upload',
  },
  TUSGATE_ERR_LOCK_UNAVAILABLE: {
    status: 503,
    message: 'upload locks cannot be taken right now; try again later',
  },
  TUSGATE_ERR_CHECKSUM_MISMATCH: { status: 460, message: 'checksum mismatch' },
  TUSGATE_ERR_UNSUPPORTED_CHECKSUM: { status: 400, message: 'unsupported checksum algorithm' },
  TUSGATE_ERR_INVALID_CONCAT: { status: 400, message: 'invalid Upload-Concat header' },
  TUSGATE_ERR_CONCAT_SPLIT: {
    status: 400,
    message: 'partial uploads of one file are on different backends',
  },
  TUSGATE_ERR_MODIFY_FINAL: { status: 403, message: 'a final upload cannot be modified' },
  TUSGATE_ERR_UPLOAD_NOT_FINISHED: {
    status: 400,
    message: 'this store serves an upload only once it is complete',
  },
  TUSGATE_ERR_UNAUTHORIZED: { status: 401, message: 'authentication required' },
  TUSGATE_ERR_INVALID_CREDENTIALS: { status: 401, message: 'invalid credentials' },
  TUSGATE_ERR_FORBIDDEN: { status: 403, message: 'forbidden' },
  TUSGATE_ERR_AUTH_UNAVAILABLE: {
    status: 503,
    message: 'authentication service unavailable',
  },
  TUSGATE_ERR_CORS_ORIGIN: { status: 403, message: 'origin not allowed' },
  TUSGATE_ERR_REQUEST_TIMEOUT: { status: 408, message: 'request timed out' },
  TUSGATE_ERR_TOO_MANY_UPLOADS: {
    status: 429,
    message: 'too many uploads in progress from this address',
  },
  TUSGATE_ERR_TOO_MANY_DOWNLOADS: {
    status: 429,
    message: 'too many downloads in progress from this address',
  },
  TUSGATE_ERR_BUSY: { status: 503, message: 'too many uploads in progress, try again later' },
  TUSGATE_ERR_BACKEND_UNAVAILABLE: { status: 502, message: 'upload backend unavailable' },
  TUSGATE_ERR_BACKEND_TIMEOUT: { status: 504, message: 'upload backend timed out' },
  TUSGATE_ERR_OWNERSHIP_UNAVAILABLE: {
    status: 503,
    message: 'upload ownership cannot be checked or recorded right now; try again later',
  },
  TUSGATE_ERR_HOOK_REJECTED: { status: 400, message: 'rejected by hook' },
  TUSGATE_ERR_HOOK_INVALID_ID: {
    status: 409,
    message: 'the upload id chosen by a hook is taken or cannot be used',
  },
  TUSGATE_ERR_STORAGE_FULL: { status: 507, message: 'the upload store is full' },
  TUSGATE_ERR_STORAGE_UNAVAILABLE: {
    status: 503,
    message: 'the upload store is unavailable',
  },
  TUSGATE_ERR_UPLOAD_STOPPED: { status: 400, message: 'upload stopped by hook' },
  TUSGATE_ERR_HOOK_UNAVAILABLE: { status: 503, message: 'hook receiver unavailable' },
  TUSGATE_ERR_INTERNAL: { status: 500, message: 'internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export class TusgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers (e.g. `Allow`, `WWW-Authenticate`). */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    options: { message?: string; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    const entry = errorCatalogue[code];
    super(options.message ?? entry.message, { cause: options.cause });
    this.name = 'TusgateError';
    this.code = code;
    this.status = entry.status;
    this.headers = options.headers ?? {};
  }
}

/** The tus-style body of an error: `CODE: message` and a newline. */
export function errorBody(code: ErrorCode, message: string = errorCatalogue[code].message): string {
  return `${code}: ${message}\n`;
}

/** Seconds a client is asked to wait when owners cannot be read or written. */
export const ownershipRetryAfterSeconds = 5;

/** Seconds a client is asked to wait when the lock store cannot be reached. */
export const lockRetryAfterSeconds = 5;

/** The 503 for a request whose upload lock cannot be taken or was lost (fail closed). */
export function lockUnavailable(cause: unknown): TusgateError {
  return new TusgateError('TUSGATE_ERR_LOCK_UNAVAILABLE', {
    cause,
    headers: { 'Retry-After': String(lockRetryAfterSeconds) },
  });
}

/** The 503 for every request whose owner cannot be recorded or looked up (fail closed). */
export function ownershipUnavailable(cause: unknown): TusgateError {
  if (cause instanceof TusgateError && cause.code === 'TUSGATE_ERR_OWNERSHIP_UNAVAILABLE') {
    return cause;
  }
  return new TusgateError('TUSGATE_ERR_OWNERSHIP_UNAVAILABLE', {
    cause,
    headers: { 'Retry-After': String(ownershipRetryAfterSeconds) },
  });
}

export function isTusgateError(value: unknown): value is TusgateError {
  return value instanceof TusgateError;
}

/** Errors from configuration loading; each issue names the key it is about. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * Something found at start that the operator must fix (a file that cannot be used): the process
 * prints its message, one line naming the file and what to do, and exits 1.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

export class ConfigError extends Error {
  readonly code = 'TUSGATE_ERR_CONFIG';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[], source?: string) {
    const where = source ? ` in ${source}` : '';
    super(
      `invalid configuration${where}:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
