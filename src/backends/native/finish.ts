import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { RequestContext } from '../types.ts';
import { assembleFinalsOf } from './assemble.ts';
import { hookRequest, hookUpload, type NativeEnvironment } from './environment.ts';
import type { UploadInfo } from './info.ts';

/**
 * An upload reached its size: make its bytes durable, hand them to Galaxy's flat folder (partial
 * uploads are only pieces of a file, so they stay), record the final offset and tell the hooks.
 * Each step can be repeated: a crash in between is mended by the client's next PATCH or HEAD.
 */
export async function finishUpload(
  env: NativeEnvironment,
  req: IncomingMessage,
  ctx: RequestContext,
  info: UploadInfo,
  handle?: FileHandle,
): Promise<void> {
  if (env.syncOnFinish && handle) await handle.datasync();
  if (!info.IsPartial) await env.store.handOff(info.ID);
  info.Offset = info.Size;
  await env.store.saveInfo(info);
  ctx.lifecycle.finished = true;
  ctx.log.debug({ uploadId: info.ID, size: info.Size }, 'upload finished');
  if (env.hooks.wants('pre-finish')) {
    // The upload is complete either way; the hook may only add headers to the final answer.
    const answer = await env.hooks.pre(
      'pre-finish',
      hookUpload(info, info.Size),
      hookRequest(req, ctx),
    );
    ctx.hookResponseHeaders = { ...ctx.hookResponseHeaders, ...answer.HTTPResponse?.Header };
  }
  if (env.hooks.wants('post-finish')) {
    env.hooks.post('post-finish', hookUpload(info, info.Size), hookRequest(req, ctx));
  }
  // The last partial of a final created early (concatenation-unfinished) completes the final.
  if (info.IsPartial) await assembleFinalsOf(env, req, ctx, info.ID);
}
