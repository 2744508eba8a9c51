import type { ServerResponse } from 'node:http';
import { TUS_VERSION } from '../../../gateway/respond.ts';
import type { HookResponse } from '../../../hooks/types.ts';

/**
 * Answers a request a pre-* hook rejected with the hook's own response, as tusd does: its status
 * (400 when it gave none), its body and headers.
 */
export function sendHookRejection(res: ServerResponse, answer: HookResponse): void {
  const response = answer.HTTPResponse ?? {};
  const body = response.Body ?? 'TUSGATE_ERR_HOOK_REJECTED: rejected by hook\n';
  const status = response.StatusCode && response.StatusCode >= 400 ? response.StatusCode : 400;
  res.writeHead(status, {
    'Tus-Resumable': TUS_VERSION,
    'Content-Type': 'text/plain; charset=utf-8',
    ...response.Header,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
