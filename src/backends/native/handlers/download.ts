import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { TUS_VERSION } from '../../../tus/constants.ts';
import type { RequestContext } from '../../types.ts';
import { assembleFinal } from '../assemble.ts';
import type { NativeEnvironment } from '../environment.ts';
import { isFinished, loadUpload } from '../upload-access.ts';

/** GET: the bytes received so far, as an attachment (never rendered inline by a browser). */
export async function handleDownload(
  env: NativeEnvironment,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  id: string,
): Promise<void> {
  let { info, offset } = await loadUpload(env, ctx, id);
  if (info.IsFinal && !isFinished(info, offset)) {
    // As HEAD does: mend an assembly a dead process left undone.
    await assembleFinal(env, req, ctx, id, 0);
    ({ info, offset } = await loadUpload(env, ctx, id));
  }
  const filename = (info.MetaData.filename ?? id).replace(/[^A-Za-z0-9._-]/g, '_');
  res.writeHead(200, {
    'Tus-Resumable': TUS_VERSION,
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(offset),
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': 'no-store',
  });
  if (offset === 0) {
    res.end();
    return;
  }
  const source = await env.store.read(id, offset);
  source.on('data', (chunk) => {
    ctx.bytesSent += chunk.length;
  });
  await pipeline(source, res).catch((error: unknown) => {
    ctx.log.debug({ err: error, uploadId: id }, 'download interrupted');
  });
}
