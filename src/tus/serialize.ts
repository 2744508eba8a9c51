import { TUS_VERSION } from './constants.ts';
import { formatUploadChecksum } from './headers/upload-checksum.ts';
import { formatUploadConcat } from './headers/upload-concat.ts';
import { formatUploadLength } from './headers/upload-length.ts';
import { formatUploadMetadata } from './headers/upload-metadata.ts';
import { formatUploadOffset } from './headers/upload-offset.ts';
import type { TusRequest } from './request.ts';

/**
 * The tus request headers of a parsed request, written anew (lower-case names) for a backend:
 * what the gateway checked is exactly what the backend reads. `urlOf` writes an upload id as the
 * backend expects it in Upload-Concat.
 */
export function serializeTusRequestHeaders(
  tus: TusRequest,
  urlOf: (id: string) => string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (tus.version === TUS_VERSION) headers['tus-resumable'] = TUS_VERSION;
  if (tus.uploadLength !== undefined)
    headers['upload-length'] = formatUploadLength(tus.uploadLength);
  if (tus.uploadOffset !== undefined)
    headers['upload-offset'] = formatUploadOffset(tus.uploadOffset);
  if (tus.deferLength) headers['upload-defer-length'] = '1';
  if (tus.metadata !== undefined) {
    const metadata = formatUploadMetadata(tus.metadata);
    if (metadata !== '') headers['upload-metadata'] = metadata;
  }
  if (tus.checksum !== undefined) headers['upload-checksum'] = formatUploadChecksum(tus.checksum);
  const concat = formatUploadConcat(tus.concat, urlOf);
  if (concat !== undefined) headers['upload-concat'] = concat;
  return headers;
}
