import type { IncomingMessage, ServerResponse } from 'node:http';
import { TusgateError } from '../../../errors.ts';
import { hookRefusalFor } from '../../../refusals.ts';
import { TUS_VERSION } from '../../../tus/constants.ts';
import type { RequestContext } from '../../types.ts';
import { appendBody, isRefusedBody } from '../append.ts';
import { bodyChecksum } from '../checksum.ts';
import type { NativeEnvironment } from '../environment.ts';
import { isFinished, loadUpload, withUploadLock } from '../upload-access.ts';
import { sendUploadStopped } from './hook-rejection.ts';
import { expiresHeader } from './response-headers.ts';

/** PATCH: appends at the offset the client names, which must be the upload's current offset. */
export async function handlePatch(
  env: NativeEnvironment,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  id: string,
): Promise<void> {
  const tus = ctx.tus;
  // Content-Type was checked by the pipeline (415); Upload-Offset is required here.
  const clientOffset = tus.uploadOffset;
  if (clientOffset === undefined) throw new TusgateError('TUSGATE_ERR_INVALID_OFFSET');
  const newLength = tus.uploadLength;
  const checksum = bodyChecksum(tus);
  const declared = tus.contentLength;

  await withUploadLock(env, id, async (hold) => {
    // Loaded under the lock: the offset cannot move until we release it.
    const upload = await loadUpload(env, ctx, id);
    const { info } = upload;
    if (info.IsFinal) throw new TusgateError('TUSGATE_ERR_MODIFY_FINAL');
    if (clientOffset !== upload.offset) {
      throw new TusgateError('TUSGATE_ERR_MISMATCHED_OFFSET', {
        headers: { 'Upload-Offset': String(upload.offset) },
      });
    }
    if (isFinished(info, upload.offset) && info.Offset === info.Size) {
      // Finished and handed off (the finish step records Offset last): as tusd, the body is
      // left unread and nothing runs again, so a retried last PATCH neither brings back a
      // hand-off Galaxy took nor repeats post-finish.
      res.writeHead(204, { 'Tus-Resumable': TUS_VERSION, 'Upload-Offset': String(upload.offset) });
      res.end();
      return;
    }
    let declaresLength = false;
    const sizeBefore = info.Size;
    if (newLength !== undefined) {
      if (!info.SizeIsDeferred) {
        if (newLength !== info.Size) {
          throw new TusgateError('TUSGATE_ERR_INVALID_LENGTH', {
            message: 'Upload-Length cannot change once it is set',
          });
        }
      } else {
        if (newLength < upload.offset) throw new TusgateError('TUSGATE_ERR_INVALID_LENGTH');
        if (env.maxSize !== undefined && newLength > env.maxSize) {
          throw new TusgateError('TUSGATE_ERR_SIZE_EXCEEDED');
        }
        info.Size = newLength;
        info.SizeIsDeferred = false;
        declaresLength = true;
      }
    }
    if (!info.SizeIsDeferred && declared !== undefined && upload.offset + declared > info.Size) {
      throw new TusgateError('TUSGATE_ERR_SIZE_EXCEEDED', {
        message: 'the body is longer than the rest of the upload',
      });
    }
    // Offset stays as it was: only the finish step sets it to Size (HEAD mends by it).
    if (declaresLength) await env.store.saveInfo(info);
    const result = await appendBody(env, req, ctx, upload, checksum, hold).catch(async (error) => {
      // A refused body takes its length declaration with it: the upload is as it was.
      if (declaresLength && isRefusedBody(error)) {
        await env.store.saveInfo({ ...info, Size: sizeBefore, SizeIsDeferred: true });
      }
      throw error;
    });
    if (result.clientGone) return;
    if (result.interrupted) {
      // As tusd: the newer request wins; this one learns where the upload stands.
      throw new TusgateError('TUSGATE_ERR_UPLOAD_INTERRUPTED', {
        headers: { 'Upload-Offset': String(result.offset) },
      });
    }
    if (result.stopped) {
      sendUploadStopped(res, hookRefusalFor(ctx.route.config, result.stopped));
      return;
    }
    res.writeHead(204, {
      ...ctx.hookResponseHeaders,
      'Tus-Resumable': TUS_VERSION,
      'Upload-Offset': String(result.offset),
      ...expiresHeader(env, info, result.offset),
    });
    res.end();
  });
}
