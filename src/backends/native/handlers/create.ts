import type { IncomingMessage, ServerResponse } from 'node:http';
import { TusgateError } from '../../../errors.ts';
import { hookRefusalFor } from '../../../refusals.ts';
import { TUS_VERSION } from '../../../tus/constants.ts';
import { emptyMetadata, toMetadata } from '../../../tus/headers/upload-metadata.ts';
import type { RequestContext } from '../../types.ts';
import { appendBody } from '../append.ts';
import { awaitPartials, concatenate, inspectPartials } from '../assemble.ts';
import { bodyChecksum } from '../checksum.ts';
import { requireNativePartials } from '../concat.ts';
import { hookRequest, hookUpload, type NativeEnvironment } from '../environment.ts';
import { finishUpload } from '../finish.ts';
import type { UploadInfo } from '../info.ts';
import { nativeError } from '../storage-faults.ts';
import { isFinished, withUploadLock } from '../upload-access.ts';
import { hookIdProblem, newUploadId } from '../upload-id.ts';
import { sendHookRejection, sendUploadStopped } from './hook-rejection.ts';
import { concatHeader, expiresHeader } from './response-headers.ts';

/** POST: creation, creation-defer-length, creation-with-upload and concatenation (final). */
export async function handleCreate(
  env: NativeEnvironment,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
): Promise<void> {
  const tus = ctx.tus;
  const concat = tus.concat;
  const metadata = tus.metadata ?? emptyMetadata();
  const length = tus.uploadLength;
  let deferred = tus.deferLength;
  // The pipeline refused a body of any other type (415); an empty one is no upload data.
  const withBody = tus.offsetBody && tus.hasBody;
  const checksum = withBody ? bodyChecksum(tus) : undefined;

  let size = 0;
  let partialIds: string[] | null = null;
  let partialsFinished = false;
  if (concat.kind === 'final') {
    if (length !== undefined || deferred) {
      throw new TusgateError('TUSGATE_ERR_INVALID_LENGTH', {
        message: 'a final upload takes its length from its partial uploads',
      });
    }
    partialIds = requireNativePartials(concat.ids);
    // concatenation-unfinished: partials still being written make a final that waits for them.
    const partials = await inspectPartials(env, ctx, partialIds);
    partialsFinished = partials.finished;
    size = partials.size ?? 0;
    deferred = partials.size === undefined;
  } else if (length !== undefined) {
    if (deferred) {
      throw new TusgateError('TUSGATE_ERR_INVALID_LENGTH', {
        message: 'send either Upload-Length or Upload-Defer-Length, not both',
      });
    }
    size = length;
  } else if (!deferred) {
    throw new TusgateError('TUSGATE_ERR_INVALID_LENGTH', {
      message: 'Upload-Length or Upload-Defer-Length: 1 is required',
    });
  }
  if (env.maxSize !== undefined && size > env.maxSize) {
    throw new TusgateError('TUSGATE_ERR_SIZE_EXCEEDED');
  }
  const declared = tus.contentLength;
  if (withBody && !deferred && declared !== undefined && declared > size) {
    throw new TusgateError('TUSGATE_ERR_SIZE_EXCEEDED', {
      message: 'the body is longer than the upload',
    });
  }

  let id = newUploadId(env.now());
  let idFromHook = false;
  let info: UploadInfo = env.store.newInfo(id, {
    Size: size,
    SizeIsDeferred: deferred,
    MetaData: metadata,
    IsPartial: concat.kind === 'partial',
    IsFinal: concat.kind === 'final',
    PartialUploads: partialIds,
    Principal: ctx.principal,
  });

  if (env.hooks.wants('pre-create')) {
    const answer = await env.hooks.pre('pre-create', hookUpload(info, 0), hookRequest(req, ctx));
    if (answer.RejectUpload) {
      sendHookRejection(res, hookRefusalFor(ctx.route.config, answer));
      return;
    }
    ctx.hookResponseHeaders = { ...answer.HTTPResponse?.Header };
    const change = answer.ChangeFileInfo;
    if (change?.ID !== undefined && change.ID !== id) {
      const problem = hookIdProblem(change.ID, env.now());
      if (problem !== undefined) throw unusableHookId(ctx, change.ID, problem);
      id = change.ID;
      idFromHook = true;
    }
    info = env.store.newInfo(id, {
      Size: info.Size,
      SizeIsDeferred: info.SizeIsDeferred,
      MetaData: change?.MetaData ? toMetadata(change.MetaData) : info.MetaData,
      IsPartial: info.IsPartial,
      IsFinal: info.IsFinal,
      PartialUploads: info.PartialUploads,
      Principal: info.Principal,
    });
  }

  const { createdRoot } = await env.store.create(info).catch((error: unknown) => {
    // Created exclusively: a hook's id naming an upload that exists leaves that upload alone.
    if (idFromHook && (error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw unusableHookId(ctx, id, 'another upload has this id');
    }
    throw error;
  });
  if (createdRoot) {
    ctx.log.warn(
      { store: env.store.name, root: env.store.location },
      'created the missing store root',
    );
  }
  ctx.createdUploadId = id;
  ctx.lifecycle.created = true;
  if (env.hooks.wants('post-create')) {
    env.hooks.post('post-create', hookUpload(info, 0), hookRequest(req, ctx));
  }

  let offset = 0;
  if (concat.kind === 'final' && !partialsFinished) {
    await awaitPartials(env, req, ctx, info);
  } else if (concat.kind === 'final') {
    try {
      await concatenate(env, info, partialIds!);
    } catch (error) {
      // A final upload with short data could never complete: it must not outlive the failure.
      await env.store.remove(id).catch((removeError: unknown) => {
        ctx.log.error(
          { err: removeError, uploadId: id },
          'a final upload whose concatenation failed could not be removed',
        );
        ctx.reportError(removeError, 'io');
      });
      throw error;
    }
    offset = size;
    await finishUpload(env, req, ctx, info);
  } else if (withBody) {
    // Interrupted by a newer request (the client resuming already): 201 with what arrived.
    const result = await withUploadLock(env, id, (hold) =>
      appendBody(env, req, ctx, { info, offset: 0 }, checksum, hold),
    ).catch(async (error: unknown) => {
      // The upload exists (empty after a refused body, as tusd leaves it, or with what reached
      // the disk): its address lets the client resume it, as tusd means to.
      const tusError = await nativeError(env.store, error);
      throw new TusgateError(tusError.code, {
        message: tusError.message,
        cause: tusError.cause ?? error,
        headers: { ...tusError.headers, Location: uploadUrl(ctx, id) },
      });
    });
    if (result.clientGone) return;
    if (result.stopped) {
      sendUploadStopped(res, hookRefusalFor(ctx.route.config, result.stopped));
      return;
    }
    offset = result.offset;
  } else if (isFinished(info, 0)) {
    await finishUpload(env, req, ctx, info);
  }

  const headers: Record<string, string> = {
    ...ctx.hookResponseHeaders,
    'Tus-Resumable': TUS_VERSION,
    Location: uploadUrl(ctx, id),
    'Content-Length': '0',
    ...expiresHeader(env, info, offset),
  };
  if (withBody || (concat.kind === 'final' && partialsFinished)) {
    headers['Upload-Offset'] = String(offset);
  }
  Object.assign(headers, concatHeader(info, ctx));
  res.writeHead(201, headers);
  res.end();
}

/** A pre-create hook chose an id no new upload can have: its error, and the creation refused. */
function unusableHookId(ctx: RequestContext, hookId: string, problem: string): TusgateError {
  ctx.log.error(
    { hookId, problem },
    'pre-create hook chose an unusable upload id; creation refused',
  );
  return new TusgateError('TUSGATE_ERR_HOOK_INVALID_ID');
}

function uploadUrl(ctx: RequestContext, id: string): string {
  return `${ctx.publicOrigin}${ctx.route.publicBase}${id}`;
}
