import type { IncomingMessage, ServerResponse } from 'node:http';
import { hookRefusalFor } from '../../../refusals.ts';
import { TUS_VERSION } from '../../../tus/constants.ts';
import type { RequestContext } from '../../types.ts';
import { hookRequest, hookUpload, type NativeEnvironment } from '../environment.ts';
import { isFinished, loadUpload, withUploadLock } from '../upload-access.ts';
import { sendHookRejection } from './hook-rejection.ts';

/** DELETE (termination): removes the upload's info, data and hand-off link; later requests get 404. */
export async function handleTerminate(
  env: NativeEnvironment,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  id: string,
): Promise<void> {
  await withUploadLock(env, id, async () => {
    const { info, offset } = await loadUpload(env, ctx, id);
    const upload = hookUpload(info, offset);
    if (env.hooks.wants('pre-terminate')) {
      const answer = await env.hooks.pre('pre-terminate', upload, hookRequest(req, ctx));
      if (answer.RejectTermination) {
        sendHookRejection(res, hookRefusalFor(ctx.route.config, answer));
        return;
      }
    }
    // Its hand-off link goes too (before the data: the data tells our link from someone else's).
    if (isFinished(info, offset) && !info.IsPartial) await env.store.removeHandOff(id);
    await env.store.remove(id);
    ctx.lifecycle.terminated = true;
    if (env.hooks.wants('post-terminate')) {
      env.hooks.post('post-terminate', upload, hookRequest(req, ctx));
    }
    res.writeHead(204, { 'Tus-Resumable': TUS_VERSION });
    res.end();
  });
}
