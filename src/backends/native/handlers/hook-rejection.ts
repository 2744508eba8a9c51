import type { ServerResponse } from 'node:http';
import { type ErrorCode, errorBody } from '../../../errors.ts';
import { type HookResponse, hookUnavailable } from '../../../hooks/types.ts';
import { TUS_VERSION } from '../../../tus/constants.ts';

/**
 * Answers a request a pre-* hook rejected, as tusd does: the hook's status (400 when it gave none)
 * and headers; the body is the catalogue's tus-style body for `code`, carrying the hook's own
 * message when it gave one.
 */
export function sendHookRejection(
  res: ServerResponse,
  answer: HookResponse,
  options: { code?: ErrorCode } = {},
): void {
  const response = answer.HTTPResponse ?? {};
  const message = response.Body?.trim();
  const code = answer[hookUnavailable]
    ? 'TUSGATE_ERR_HOOK_UNAVAILABLE'
    : (options.code ?? 'TUSGATE_ERR_HOOK_REJECTED');
  const body = errorBody(code, message || undefined);
  const status = response.StatusCode && response.StatusCode >= 400 ? response.StatusCode : 400;
  res.writeHead(status, {
    'Tus-Resumable': TUS_VERSION,
    'Content-Type': 'text/plain; charset=utf-8',
    ...response.Header,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** A post-receive hook's StopUpload: tusd's 400 with the hook's own status, body and headers. */
export function sendUploadStopped(res: ServerResponse, answer: HookResponse): void {
  // The rest of the body is read and dropped after the answer (gateway/early-answer.ts): a
  // `Connection: close` here would reset a client still sending before it read the answer.
  sendHookRejection(res, answer, { code: 'TUSGATE_ERR_UPLOAD_STOPPED' });
}
