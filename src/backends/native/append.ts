import type { IncomingMessage } from 'node:http';
import { isTusgateError, TusgateError } from '../../errors.ts';
import type { HookResponse } from '../../hooks/types.ts';
import type { RequestContext } from '../types.ts';
import { writeBody } from './body-writer.ts';
import { type BodyChecksum, refuseUnannouncedTrailer } from './checksum.ts';
import { hookRequest, hookUpload, type NativeEnvironment } from './environment.ts';
import { finishUpload } from './finish.ts';
import { assertHeld, isFinished, type UploadHold, UploadInterrupted } from './upload-access.ts';
import type { AppendHandle, StoredUpload } from './upload-store.ts';

export interface AppendResult {
  offset: number;
  finished: boolean;
  /** The client went away mid-body: no response can be sent. */
  clientGone: boolean;
  /** Another request asked for the upload: reading stopped, the bytes received are kept. */
  interrupted: boolean;
  /** A post-receive hook said StopUpload: the upload was terminated; answer with this. */
  stopped?: HookResponse;
}

/**
 * Appends the request body at the upload's current offset (the caller holds its lock and checked
 * the offset). The data file only grows by bytes that arrived, so its size stays the true offset
 * whatever happens. A refused body (longer than the upload, or failing its checksum) is cut off
 * again before anyone sees it and never finishes the upload: the client was told it failed, so
 * Galaxy must not get it.
 */
export async function appendBody(
  env: NativeEnvironment,
  req: IncomingMessage,
  ctx: RequestContext,
  upload: StoredUpload,
  checksum: BodyChecksum | undefined,
  hold: UploadHold,
): Promise<AppendResult> {
  const { info } = upload;
  const start = upload.offset;
  const ceiling = info.SizeIsDeferred ? (env.maxSize ?? Number.MAX_SAFE_INTEGER) : info.Size;
  // Revocable: the body may be refused after its last byte (a checksum; no length to check first).
  const revocable = checksum !== undefined || ctx.tus.contentLength === undefined;
  // The lease is checked before each write batch and before each part an object store uploads.
  const fence = () => assertHeld(hold);
  const handle = await env.store.openAppend(info, { revocable, fence });
  let lastProgress = env.now();
  const wantsProgress = env.hooks.wants('post-receive');
  const stop = new AbortController();
  let stopAnswer: HookResponse | undefined;
  const onProgressAnswer = (answer: HookResponse) => {
    if (!answer.StopUpload || stop.signal.aborted) return;
    stopAnswer = answer;
    stop.abort(new Error('upload stopped by a post-receive hook'));
  };
  const rollBack = () => cutBack(env, ctx, handle, info.ID, start);
  try {
    // Every check passed: a client waiting on Expect may send its body now.
    ctx.continue();
    const result = await writeBody(req, handle, {
      position: start,
      limit: ceiling - start,
      signal: AbortSignal.any([stop.signal, hold.stop]),
      fence,
      releaseWritten: true,
      onChunk: (chunk) => {
        ctx.bytesReceived += chunk.length;
        checksum?.update(chunk);
        if (wantsProgress && env.now() - lastProgress >= env.progressInterval) {
          lastProgress = env.now();
          const offset = start + ctx.bytesReceived;
          env.hooks.post(
            'post-receive',
            hookUpload(info, offset),
            hookRequest(req, ctx),
            onProgressAnswer,
          );
        }
      },
    }).catch(async (error: unknown) => {
      // The lease was lost: not one more write, not even a cut back (another holder may be
      // writing by now).
      if (isTusgateError(error) && error.code === 'TUSGATE_ERR_LOCK_UNAVAILABLE') throw error;
      // The store failed mid-body (a full disk, say). What reached the disk stays and counts
      // toward the offset, as with tusd, unless a checksum was to vouch for it.
      if (checksum) await rollBack();
      throw error;
    });
    // Everything below writes (a cut back, the info, a removal): only while the lease holds.
    assertHeld(hold);
    const offset = start + result.written;
    if (stopAnswer) {
      // As tusd: the upload ends here, and the client is told why.
      await env.store.remove(info.ID);
      ctx.lifecycle.terminated = true;
      ctx.log.info({ uploadId: info.ID, offset }, 'upload stopped by a post-receive hook');
      return {
        offset,
        finished: false,
        clientGone: false,
        interrupted: false,
        stopped: stopAnswer,
      };
    }
    if (result.overflowed) {
      await rollBack();
      throw new TusgateError('TUSGATE_ERR_SIZE_EXCEEDED', {
        message: 'the body is longer than the upload',
      });
    }
    if (checksum && result.readError) {
      await rollBack();
      const interrupted = result.readError instanceof UploadInterrupted;
      return { offset: start, finished: false, clientGone: !interrupted, interrupted };
    }
    if (!result.readError) {
      // The whole body and its trailers are in: a header's or a trailer's checksum is verified
      // the same way, and a refused body is cut off again before anything finishes.
      try {
        if (checksum) checksum.verify(req);
        else refuseUnannouncedTrailer(req);
      } catch (error) {
        await rollBack();
        throw error;
      }
    }
    // Every byte is on disk: finish now, even if the client left after the last one, or the
    // upload would look complete to its client and never reach the hand-off.
    const finished = isFinished(info, offset);
    if (finished) await finishUpload(env, req, ctx, info, handle);
    if (result.readError instanceof UploadInterrupted && !finished) {
      ctx.log.info({ uploadId: info.ID, offset }, 'handed the upload over to a newer request');
      return { offset, finished, clientGone: false, interrupted: true };
    }
    if (result.readError) {
      ctx.log.info({ uploadId: info.ID, offset }, 'client went away during the body');
      return { offset, finished, clientGone: true, interrupted: false };
    }
    return { offset, finished, clientGone: false, interrupted: false };
  } finally {
    await handle.close();
  }
}

/** Body errors after which the upload is left exactly as it was before the request. */
export function isRefusedBody(error: unknown): boolean {
  return (
    error instanceof TusgateError &&
    (error.code === 'TUSGATE_ERR_SIZE_EXCEEDED' ||
      error.code === 'TUSGATE_ERR_CHECKSUM_MISMATCH' ||
      error.code === 'TUSGATE_ERR_INVALID_CHECKSUM' ||
      error.code === 'TUSGATE_ERR_UNSUPPORTED_CHECKSUM')
  );
}

/**
 * Cuts the data file back to where the request began. If that fails the offset may count bytes
 * the client was told were refused: logged at error level, reported, and the request fails.
 */
async function cutBack(
  env: NativeEnvironment,
  ctx: RequestContext,
  handle: AppendHandle,
  uploadId: string,
  offset: number,
): Promise<void> {
  try {
    await handle.truncate(offset);
  } catch (error) {
    ctx.log.error(
      { err: error, uploadId, offset },
      'could not cut a refused body off the upload: its offset may be wrong',
    );
    const fault = await env.store.storageFault(error);
    if (fault === undefined) throw error; // the backend reports unexpected failures itself
    // Store faults are not reported by the backend, but this one may have left a wrong offset.
    ctx.reportError(error, 'io');
    throw fault;
  }
}
