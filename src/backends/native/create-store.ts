import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
 * What two stores share when they hold the same uploads: one lock table per identity. A file
 * store's root with symlinks resolved; an object store's bucket and prefix at its endpoint.
 */
export function storeIdentity(store: UploadStore): string {
  return store instanceof DateShardedStore ? realPathOf(store.root) : store.location;
}

/**
 * The path with symlinks resolved; for a root not made yet, its nearest existing parent's real
 * path with the rest appended. An unreadable path is taken as written.
 */
function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch (error) {
    const parent = dirname(path);
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === path) return path;
    return join(realPathOf(parent), basename(path));
  }
}
