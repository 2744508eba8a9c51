import type { IncomingMessage, ServerResponse } from 'node:http';
import { TUS_VERSION } from '../../../tus/constants.ts';
import { formatUploadMetadata } from '../../../tus/headers/upload-metadata.ts';
import type { RequestContext } from '../../types.ts';
import { assembleHeld } from '../assemble.ts';
import type { NativeEnvironment } from '../environment.ts';
import { finishUpload } from '../finish.ts';
import type { UploadInfo } from '../info.ts';
import { isFinished, loadUpload, withUploadLock } from '../upload-access.ts';
import { concatHeader, expiresHeader } from './response-headers.ts';

export async function handleHead(
  env: NativeEnvironment,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  id: string,
): Promise<void> {
  // As tusd v2, HEAD takes the upload's lock: a client resuming after a dropped connection asks
  // its stale PATCH to let go, and reads an offset that no longer moves.
  await withUploadLock(env, id, async () => {
    let { info, offset } = await loadUpload(env, ctx, id);
    if (info.IsFinal && !isFinished(info, offset)) {
      // A final upload waiting for its partials: assemble it if they all finished but the
      // process that finished the last one died first.
      await assembleHeld(env, req, ctx, id);
      ({ info, offset } = await loadUpload(env, ctx, id));
    }
    if (isFinished(info, offset) && !finishCompleted(info)) {
      // All bytes arrived but the finish step did not complete (a crash, a failed hand-off):
      // mend it now, since this HEAD may be the last request the client sends.
      await finishUpload(env, req, ctx, info);
      ({ info, offset } = await loadUpload(env, ctx, id));
    }
    sendHead(env, res, ctx, info, offset);
  });
}

function sendHead(
  env: NativeEnvironment,
  res: ServerResponse,
  ctx: RequestContext,
  info: UploadInfo,
  offset: number,
): void {
  const headers: Record<string, string> = {
    'Tus-Resumable': TUS_VERSION,
    'Cache-Control': 'no-store',
    ...expiresHeader(env, info, offset),
  };
  if (info.IsFinal && !isFinished(info, offset)) {
    // tus concatenation: no Upload-Offset before the final is assembled; Upload-Length only once
    // every partial's length is known.
    if (!info.SizeIsDeferred) headers['Upload-Length'] = String(info.Size);
  } else {
    headers['Upload-Offset'] = String(offset);
    if (info.SizeIsDeferred) headers['Upload-Defer-Length'] = '1';
    else headers['Upload-Length'] = String(info.Size);
  }
  const metadata = formatUploadMetadata(info.MetaData);
  if (metadata !== '') headers['Upload-Metadata'] = metadata;
  Object.assign(headers, concatHeader(info, ctx));
  res.writeHead(200, headers);
  res.end();
}

/**
 * The finish step records the final offset last, after the hand-off. (Not the hand-off file
 * itself: Galaxy moves it away once it has taken the upload.)
 */
function finishCompleted(info: UploadInfo): boolean {
  return info.Offset === info.Size;
}
