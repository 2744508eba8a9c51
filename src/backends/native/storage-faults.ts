import { TusgateError } from '../../errors.ts';
import { toTusgateError } from '../../tus/respond.ts';
import type { UploadStore } from './upload-store.ts';

/** Seconds a client is asked to wait when the store is read-only or gone: an operator must act. */
export const storageRetryAfterSeconds = 30;

const fullCodes = new Set(['ENOSPC', 'EDQUOT']);
const unavailableCodes = new Set(['EROFS', 'EACCES', 'EPERM']);

export function storageUnavailable(cause?: unknown): TusgateError {
  return new TusgateError('TUSGATE_ERR_STORAGE_UNAVAILABLE', {
    cause,
    headers: { 'Retry-After': String(storageRetryAfterSeconds) },
  });
}

/** The errno code of a file-system error; for several (a failure and its failed clean-up), the first's. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof AggregateError) return errnoCode(error.errors[0]);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && !code.startsWith('TUSGATE_') ? code : undefined;
}

/**
 * What the client is told about a failed store operation: a full store is 507 (the offset stays
 * the bytes on disk, so the client resumes once there is room), a read-only or forbidden one 503
 * with Retry-After. `rootMissing` is asked only for ENOENT: a missing upload file is the handlers'
 * 404, a missing root is the store gone (unmounted, deleted). Anything else: undefined.
 */
export async function storageFault(
  error: unknown,
  rootMissing: () => Promise<boolean>,
): Promise<TusgateError | undefined> {
  const code = errnoCode(error);
  if (code === undefined) return undefined;
  if (fullCodes.has(code)) return new TusgateError('TUSGATE_ERR_STORAGE_FULL', { cause: error });
  if (unavailableCodes.has(code)) return storageUnavailable(error);
  if (code === 'ENOENT' && (await rootMissing())) return storageUnavailable(error);
  return undefined;
}

/** Any failure as the answer the client gets: file-system faults of the store become 507/503. */
export async function nativeError(store: UploadStore, error: unknown): Promise<TusgateError> {
  if (error instanceof TusgateError) return error;
  return (await store.storageFault(error)) ?? toTusgateError(error);
}
