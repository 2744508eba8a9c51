import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { type ErrorCode, errorBody, TusgateError } from '../errors.ts';
import { TUS_VERSION } from './constants.ts';

/**
 * Writes a tus-style error: plain-text `CODE: message` body, Tus-Resumable header, request id.
 * The body is framed by the method on the wire (a POST overridden to HEAD still gets one). When
 * the response already started, the connection is cut instead (a half response must not look
 * like a whole one).
 */
export function sendError(res: ServerResponse, error: TusgateError, requestId?: string): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = errorBody(error.code, error.message);
  const headers: Record<string, string | number> = {
    'Tus-Resumable': TUS_VERSION,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...error.headers,
  };
  if (requestId) headers['X-Request-Id'] = requestId;
  if (error.status === 412) headers['Tus-Version'] = TUS_VERSION;
  res.writeHead(error.status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * A whole HTTP/1.1 error response as bytes, for the few answers written straight to a socket
 * (Node's parser refused the request, so there is no ServerResponse). The connection closes.
 */
export function rawErrorResponse(code: ErrorCode): string {
  const error = new TusgateError(code);
  const body = errorBody(error.code, error.message);
  return [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
    'Connection: close',
    `Tus-Resumable: ${TUS_VERSION}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** The answer to a request Node's parser refused (`clientError`), by Node's error code. */
export function clientErrorCode(nodeCode: string | undefined): ErrorCode {
  if (nodeCode === 'HPE_HEADER_OVERFLOW') return 'TUSGATE_ERR_HEADERS_TOO_LARGE';
  if (nodeCode === 'ERR_HTTP_REQUEST_TIMEOUT') return 'TUSGATE_ERR_REQUEST_TIMEOUT';
  return 'TUSGATE_ERR_BAD_REQUEST';
}

export function toTusgateError(error: unknown): TusgateError {
  if (error instanceof TusgateError) return error;
  return new TusgateError('TUSGATE_ERR_INTERNAL', { cause: error });
}
