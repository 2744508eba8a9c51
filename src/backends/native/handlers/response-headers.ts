import type { NativeEnvironment } from '../environment.ts';
import type { UploadInfo } from '../info.ts';
import { httpDate } from '../protocol.ts';
import { isFinished } from '../upload-access.ts';

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
