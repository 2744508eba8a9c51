import type { UploadLocker } from '../locking/locker.ts';
import { cleanupLockId } from '../locking/locker.ts';
import type { CleanupOptions, CleanupReport } from './cleanup.ts';
import { isNativeUploadId } from './upload-id.ts';
import type { UploadStore } from './upload-store.ts';

/**
 * One cleanup of a store, coordinated through the locker: it holds the store's cleanup lease
 * (with Redis locking, one run at a time across every replica), keeps the folders (an object
 * store's day prefixes) of uploads whose lock anyone holds, and stops before its next removal if the lease is lost. Resolves to
 * null when another run holds the lease. A lock store that cannot be reached fails the run
 * (nothing is removed).
 *
 * An upload locked after the held ids were listed cannot be written either: every upload in a
 * folder cleanup removes is past its expiry already, and a request that takes its lock then
 * finds it expired (410) before it writes.
 */
export async function cleanupUnderLock(
  store: UploadStore,
  locker: UploadLocker,
  options: Omit<CleanupOptions, 'busyFolders'> = {},
): Promise<CleanupReport | null> {
  const lease = await locker.acquire(cleanupLockId(store.name), { waitMs: 0 });
  if (lease === null) return null;
  try {
    const held = await locker.heldIds();
    const busyFolders = new Set(held.filter(isNativeUploadId).map((id) => store.folderOf(id)));
    const signals = [lease.lost, ...(options.signal ? [options.signal] : [])];
    return await store.expire({ ...options, busyFolders, signal: AbortSignal.any(signals) });
  } finally {
    await lease.release();
  }
}
