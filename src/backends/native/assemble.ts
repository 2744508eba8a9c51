import type { IncomingMessage } from 'node:http';
import { lockUnavailable, TusgateError } from '../../errors.ts';
import { LockStoreUnavailableError, type UploadLease } from '../locking/locker.ts';
import type { RequestContext } from '../types.ts';
import type { NativeEnvironment } from './environment.ts';
import { finishUpload } from './finish.ts';
import type { UploadInfo } from './info.ts';
import { isFinished, loadUpload } from './upload-access.ts';
import type { StoredUpload } from './upload-store.ts';

/**
 * Final uploads (concatenation, concatenation-unfinished). A final upload may name partial uploads
 * that are still being written: it is then created empty and assembled when the last of them
 * finishes. Each unfinished partial remembers the finals waiting for it in `<partial>.finals` (one
 * id a line, appended), so its finish step finds them without any lookup; HEAD and GET of a final
 * mend an assembly a dead process left undone.
 */

export interface PartialsState {
  /** Sum of the partials' lengths; undefined while one of them has a deferred length. */
  size: number | undefined;
  finished: boolean;
}

/** Checks the partials a new final upload names: each one a partial upload of the caller's. */
export async function inspectPartials(
  env: NativeEnvironment,
  ctx: RequestContext,
  ids: readonly string[],
): Promise<PartialsState> {
  let size: number | undefined = 0;
  let finished = true;
  for (const id of ids) {
    const { info, offset } = await loadUpload(env, ctx, id);
    if (!info.IsPartial) {
      throw new TusgateError('TUSGATE_ERR_INVALID_CONCAT', {
        message: `upload ${id} is not a partial upload`,
      });
    }
    if (!isFinished(info, offset)) finished = false;
    size = size === undefined || info.SizeIsDeferred ? undefined : size + info.Size;
  }
  return { size, finished };
}

/** Writes the partials' bytes one after the other as the final upload's bytes. */
export async function concatenate(
  env: NativeEnvironment,
  final: UploadInfo,
  ids: readonly string[],
): Promise<void> {
  await env.store.concatenate(final, ids, env.syncOnFinish);
}

/**
 * A final upload was created before its partials finished: tell each unfinished partial about it,
 * then assemble it if they all finished meanwhile (a partial whose finish step read its list
 * before this append is finished by now, so this check sees it).
 */
export async function awaitPartials(
  env: NativeEnvironment,
  req: IncomingMessage,
  ctx: RequestContext,
  final: UploadInfo,
): Promise<void> {
  for (const id of new Set(final.PartialUploads ?? [])) {
    const partial = await env.store.load(id);
    if (partial && !isFinished(partial.info, partial.offset)) {
      await env.store.addWaitingFinal(id, final.ID);
    }
  }
  await assembleFinal(env, req, ctx, final.ID, env.lockTimeout);
}

/** Called by a partial upload's finish step: assembles the finals that were waiting for it. */
export async function assembleFinalsOf(
  env: NativeEnvironment,
  req: IncomingMessage,
  ctx: RequestContext,
  partialId: string,
): Promise<void> {
  let finals: string[];
  try {
    finals = await env.store.waitingFinals(partialId);
  } catch (error) {
    ctx.log.warn({ err: error, uploadId: partialId }, 'cannot read the finals of a partial');
    return;
  }
  for (const finalId of finals) {
    try {
      await assembleFinal(env, req, ctx, finalId, env.lockTimeout);
    } catch (error) {
      // The partial itself is finished either way; a HEAD or GET of the final retries.
      ctx.log.warn({ err: error, uploadId: finalId }, 'assembling a final upload failed');
    }
  }
}

/**
 * Assembles a final upload whose partials have all finished, then finishes it like any upload
 * (hand-off, hooks). Learns the final's length as soon as every partial's length is known. Does
 * nothing when the final is assembled already, is gone, or its lock stays busy for `waitMs`.
 */
export async function assembleFinal(
  env: NativeEnvironment,
  req: IncomingMessage,
  ctx: RequestContext,
  finalId: string,
  waitMs: number,
): Promise<void> {
  // No hand-over: an assembly under way is never cut short; the asker waits for it.
  let lease: UploadLease | null;
  try {
    lease = await env.locker.acquire(finalId, { waitMs });
  } catch (error) {
    if (error instanceof LockStoreUnavailableError) throw lockUnavailable(error);
    throw error;
  }
  if (lease === null) return;
  try {
    await assembleHeld(env, req, ctx, finalId);
  } finally {
    await lease.release();
  }
}

/** `assembleFinal` for a caller that holds the final upload's lock already. */
export async function assembleHeld(
  env: NativeEnvironment,
  req: IncomingMessage,
  ctx: RequestContext,
  finalId: string,
): Promise<void> {
  const final = await env.store.load(finalId);
  if (final === null || !final.info.IsFinal) return;
  const { info } = final;
  if (isFinished(info, final.offset)) {
    // Assembled, but the process died before the finish step completed.
    if (info.Offset !== info.Size) await finishUpload(env, req, ctx, info);
    return;
  }
  const partials: StoredUpload[] = [];
  for (const id of info.PartialUploads ?? []) {
    const partial = await env.store.load(id);
    if (partial === null) return; // deleted or expired: this final can never complete
    partials.push(partial);
  }
  if (info.SizeIsDeferred && partials.every((partial) => !partial.info.SizeIsDeferred)) {
    info.Size = partials.reduce((sum, partial) => sum + partial.info.Size, 0);
    info.SizeIsDeferred = false;
    await env.store.saveInfo(info);
  }
  if (!partials.every((partial) => isFinished(partial.info, partial.offset))) return;
  if (env.maxSize !== undefined && info.Size > env.maxSize) {
    ctx.log.warn({ uploadId: finalId, size: info.Size }, 'final upload exceeds maxSize');
    return;
  }
  try {
    await concatenate(env, info, info.PartialUploads ?? []);
  } catch (error) {
    // A partial deleted meanwhile, as above: this final can never complete.
    if (error instanceof TusgateError && error.code === 'TUSGATE_ERR_UPLOAD_NOT_FOUND') return;
    throw error;
  }
  await finishUpload(env, req, ctx, info);
}
