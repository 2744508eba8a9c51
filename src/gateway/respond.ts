import type { ServerResponse } from 'node:http';
import { TusgateError } from '../errors.ts';

export const TUS_VERSION = '1.0.0';

/**
 * Writes a tus-style error: plain-text `CODE: message` body, Tus-Resumable header, request id.
 * When the response already started, the connection is cut instead (a half response must not
 * look like a whole one).
 */
export function sendError(res: ServerResponse, error: TusgateError, requestId?: string): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = `${error.code}: ${error.message}\n`;
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

export function toTusgateError(error: unknown): TusgateError {
  if (error instanceof TusgateError) return error;
  return new TusgateError('TUSGATE_ERR_INTERNAL', { cause: error });
}
