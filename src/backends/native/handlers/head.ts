import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../../../gateway/context.ts';
import { TUS_VERSION } from '../../../gateway/respond.ts';
import { formatFinalConcat } from '../concat.ts';
import type { NativeEnvironment } from '../environment.ts';
import { formatUploadMetadata } from '../metadata.ts';
import { loadUpload } from '../upload-access.ts';
import { expiresHeader } from './response-headers.ts';

export async function handleHead(
  env: NativeEnvironment,
  res: ServerResponse,
  ctx: RequestContext,
  id: string,
): Promise<void> {
  const { info, offset } = await loadUpload(env, ctx, id);
  const headers: Record<string, string> = {
    'Tus-Resumable': TUS_VERSION,
    'Cache-Control': 'no-store',
    'Upload-Offset': String(offset),
    ...expiresHeader(env, info, offset),
  };
  if (info.SizeIsDeferred) headers['Upload-Defer-Length'] = '1';
  else headers['Upload-Length'] = String(info.Size);
  const metadata = formatUploadMetadata(info.MetaData);
  if (metadata !== '') headers['Upload-Metadata'] = metadata;
  if (info.IsPartial) headers['Upload-Concat'] = 'partial';
  if (info.IsFinal && info.PartialUploads) {
    headers['Upload-Concat'] = formatFinalConcat(info.PartialUploads, ctx.route.publicBase);
  }
  res.writeHead(200, headers);
  res.end();
}
