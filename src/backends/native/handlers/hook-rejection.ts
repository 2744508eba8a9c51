import type { ServerResponse } from 'node:http';
import { TUS_VERSION } from '../../../gateway/respond.ts';
import type { HookResponse } from '../../../hooks/types.ts';

/**
 * Answers a request a pre-* hook rejected with the hook's own response, as tusd does: its status
 * (400 when it gave none), its body and headers.
 */
export function sendHookRejection(
  res: ServerResponse,
  answer: HookResponse,
  options: { defaultBody?: string; closeConnection?: boolean } = {},
): void {
  const response = answer.HTTPResponse ?? {};
  const body =
    response.Body ?? options.defaultBody ?? 'TUSGATE_ERR_HOOK_REJECTED: rejected by hook\n';
  const status = response.StatusCode && response.StatusCode >= 400 ? response.StatusCode : 400;
  res.writeHead(status, {
    'Tus-Resumable': TUS_VERSION,
    'Content-Type': 'text/plain; charset=utf-8',
    ...response.Header,
    'Content-Length': Buffer.byteLength(body),
    // The rest of a stopped request's body is never read.
    ...(options.closeConnection ? { Connection: 'close' } : {}),
  });
  res.end(body);
}

/** A post-receive hook's StopUpload: tusd's 400 with the hook's own status, body and headers. */
export function sendUploadStopped(res: ServerResponse, answer: HookResponse): void {
  sendHookRejection(res, answer, {
    defaultBody: 'TUSGATE_ERR_UPLOAD_STOPPED: upload stopped by hook\n',
    closeConnection: true,
  });
}
