import type { Logger } from 'pino';
import type { HookRunner } from '../../hooks/types.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { UploadLocker } from '../locking/locker.ts';
import type { UploadStore } from './upload-store.ts';

/** Everything the native protocol handlers share: one per backend instance. */
export interface NativeEnvironment {
  readonly backendName: string;
  readonly routeName: string;
  readonly store: UploadStore;
  readonly locker: UploadLocker;
  readonly hooks: HookRunner;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Largest upload accepted, in bytes; undefined for no limit. */
  readonly maxSize: number | undefined;
  /** How long a request waits for another request on the same upload to hand its lock over. */
  readonly lockTimeout: number;
  /** Minimum gap between two post-receive events of one upload. */
  readonly progressInterval: number;
  /** Sync data to disk when an upload finishes, before it is handed off or reported done. */
  readonly syncOnFinish: boolean;
  readonly now: () => number;
}

export { hookRequest, hookUploadFromInfo as hookUpload } from '../../hooks/payload.ts';
