import { TusgateError } from '../../errors.ts';
import type { RequestContext } from '../types.ts';
import type { NativeEnvironment } from './environment.ts';
import type { UploadInfo } from './info.ts';
import type { StoredUpload } from './store.ts';
import { isNativeUploadId } from './upload-id.ts';

export function isFinished(info: UploadInfo, offset: number): boolean {
  return !info.SizeIsDeferred && offset >= info.Size;
}

/** Expired: past its TTL and not finished. A finished upload is served until cleanup removes it. */
export function isExpired(env: NativeEnvironment, id: string): boolean {
  const expiresAt = env.store.expiresAt(id);
  return expiresAt !== undefined && expiresAt <= env.now();
}

/**
 * Loads the upload a request names. Unknown ids are 404, as are uploads of another principal (an
 * owner check must not reveal that the upload exists). Expired uploads are 410, whether cleanup
 * has removed them yet or not.
 */
export async function loadUpload(
  env: NativeEnvironment,
  ctx: RequestContext,
  id: string,
): Promise<StoredUpload> {
  if (!isNativeUploadId(id)) throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND');
  const upload = await env.store.load(id);
  const expired = isExpired(env, id);
  if (upload === null) {
    throw new TusgateError(expired ? 'TUSGATE_ERR_UPLOAD_GONE' : 'TUSGATE_ERR_UPLOAD_NOT_FOUND');
  }
  const owner = upload.info.Principal ?? null;
  if (owner !== null && owner !== ctx.principal) {
    throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND');
  }
  if (expired && !isFinished(upload.info, upload.offset)) {
    throw new TusgateError('TUSGATE_ERR_UPLOAD_GONE');
  }
  return upload;
}

/** Holds the upload's writer lock for `work`, or answers 423 when it stays busy. */
export async function withUploadLock<T>(
  env: NativeEnvironment,
  id: string,
  work: () => Promise<T>,
): Promise<T> {
  const release = await env.locker.acquire(id, env.lockTimeout);
  if (release === null) throw new TusgateError('TUSGATE_ERR_UPLOAD_LOCKED');
  try {
    return await work();
  } finally {
    release();
  }
}
