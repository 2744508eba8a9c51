import { formatUploadConcat } from '../../../tus/headers/upload-concat.ts';
import { formatUploadUrl } from '../../../tus/upload-url.ts';
import type { RequestContext } from '../../types.ts';
import type { NativeEnvironment } from '../environment.ts';
import type { UploadInfo } from '../info.ts';
import { isFinished } from '../upload-access.ts';

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/**
 * `Upload-Concat` of a concatenated upload, as tusd writes it: `partial`, or `final;` and the
 * partial uploads' absolute URLs.
 */
export function concatHeader(info: UploadInfo, ctx: RequestContext): Record<string, string> {
  const concat = info.IsPartial
    ? ({ kind: 'partial' } as const)
    : info.IsFinal && info.PartialUploads
      ? ({ kind: 'final', ids: info.PartialUploads } as const)
      : ({ kind: 'none' } as const);
  const value = formatUploadConcat(concat, (id) =>
    formatUploadUrl(id, ctx.publicOrigin, ctx.route.publicBase),
  );
  return value === undefined ? {} : { 'Upload-Concat': value };
}

/** `Upload-Expires` for an upload that can still expire: unfinished, on a store with a TTL. */
export function expiresHeader(
  env: NativeEnvironment,
  info: UploadInfo,
  offset: number,
): Record<string, string> {
  const expiresAt = env.store.expiresAt(info.ID);
  if (expiresAt === undefined || isFinished(info, offset)) return {};
  return { 'Upload-Expires': httpDate(expiresAt) };
}
