import type { StoreConfig } from '../../config/schema/index.ts';
import { GcsStore } from './object/gcs-store.ts';
import { S3Store } from './object/s3-store.ts';
import { DateShardedStore } from './store.ts';
import type { UploadStore } from './upload-store.ts';

/**
 * The store a config names. `rootsSeen` is shared by every file store the registry builds (see
 * `DateShardedStore`).
 */
export function createStore(
  name: string,
  config: StoreConfig,
  rootsSeen: Set<string> = new Set(),
): UploadStore {
  switch (config.type) {
    case 'date-sharded':
      return new DateShardedStore(name, config, rootsSeen);
    case 's3':
      return new S3Store(name, config);
    case 'gcs':
      return new GcsStore(name, config);
  }
}

/**
 * The local folder where `tusgate cleanup` leaves its record of a run for the server's /metrics
 * (cleanup-record.ts): a file store's root. An object store has none: its runs are not recorded.
 */
export function cleanupRecordDir(store: UploadStore): string | undefined {
  return store instanceof DateShardedStore ? store.root : undefined;
}
