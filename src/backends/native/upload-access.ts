import { lockUnavailable, TusgateError } from '../../errors.ts';
import { LeaseLostError, LockStoreUnavailableError, type UploadLease } from '../locking/locker.ts';
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

/** What a request holding an upload's lock works with. */
export interface UploadHold {
  readonly lease: UploadLease;
  /**
   * Aborts when another request asks for the upload (its reason an `UploadInterrupted`) or the
   * lease is lost (a `LeaseLostError`): stop reading the body, keep what is on disk.
   */
  readonly stop: AbortSignal;
}

/** The reason a holder's `stop` signal gives when another request asked for the upload. */
export class UploadInterrupted extends Error {
  constructor() {
    super('another request asked for this upload');
    this.name = 'UploadInterrupted';
  }
}

/**
 * Holds the upload's lock for `work`. A request for a held upload asks its holder to let go
 * (tusd v2's hand-over) and waits up to `lockTimeout` for it: 423 when it stays busy, 503 when
 * the lock store cannot be reached.
 */
export async function withUploadLock<T>(
  env: NativeEnvironment,
  id: string,
  work: (hold: UploadHold) => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  let lease: UploadLease | null;
  try {
    lease = await env.locker.acquire(id, {
      waitMs: env.lockTimeout,
      onReleaseRequested: () => stop.abort(new UploadInterrupted()),
    });
  } catch (error) {
    if (error instanceof LockStoreUnavailableError) throw lockUnavailable(error);
    throw error;
  }
  if (lease === null) throw new TusgateError('TUSGATE_ERR_UPLOAD_LOCKED');
  const held = lease;
  const onLost = () => stop.abort(held.lost.reason);
  held.lost.addEventListener('abort', onLost, { once: true });
  try {
    return await work({ lease: held, stop: stop.signal });
  } finally {
    held.lost.removeEventListener('abort', onLost);
    await held.release();
  }
}

/** Throws (503) when the holder may no longer write: its lease was lost. */
export function assertHeld(hold: UploadHold): void {
  if (!hold.lease.isValid()) throw lockUnavailable(new LeaseLostError(hold.lease.id));
}
