import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import {
  appendFile,
  copyFile,
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readFile,
  rename,
  stat,
  unlink,
  utimes,
} from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StoreConfig } from '../../config/schema/index.ts';
import { TusgateError } from '../../errors.ts';
import { type CleanupOptions, type CleanupReport, cleanupStore } from './cleanup.ts';
import { readInfo, type UploadInfo, writeInfo } from './info.ts';
import { compileLayout, type Layout } from './layout.ts';
import { errnoCode, storageFault, storageUnavailable } from './storage-faults.ts';
import { isNativeUploadId, uploadIdTimestamp } from './upload-id.ts';
import type {
  AppendHandle,
  NewUploadFields,
  StoreCapabilities,
  StoredUpload,
  UploadStore,
} from './upload-store.ts';

export type { StoredUpload } from './upload-store.ts';

export interface UploadPaths {
  /** The date folder, relative to the root (e.g. `2026/11/25`). */
  folder: string;
  data: string;
  info: string;
}

/**
 * The date-sharded store: `<root>/<layout>/<id>` holds an upload's bytes, `<id>.info` its
 * tusd-format info. The folder comes from the id's UUIDv7 timestamp, so finding an upload is
 * computing a path. Only ids that pass `isNativeUploadId` ever become paths.
 */
export class DateShardedStore implements UploadStore {
  readonly type = 'date-sharded';
  readonly capabilities: StoreCapabilities = { handOff: true, readUnfinished: true };
  readonly name: string;
  readonly root: string;
  readonly layout: Layout;
  readonly handoffDir: string | undefined;
  /** Time to live of an upload in ms, or undefined for no expiry. */
  readonly expiresAfter: number | undefined;
  /** How long a finished upload's hand-off link stays (ms); defaults to `expiresAfter`. */
  readonly handoffExpiresAfter: number | undefined;
  readonly cleanupInterval: number;
  /** Date folders this process has made or found: creating an upload there needs no `mkdir`. */
  readonly #knownFolders = new Set<string>();
  /**
   * Roots that have existed while this process used them, by absolute path. Shared by every
   * store the registry builds (see StoreRegistry): a reload rebuilds the store of a changed
   * config, and must not forget that the root's absence is a vanished volume, not a fresh install.
   */
  readonly #rootsSeen: Set<string>;
  /** The root has existed while this process used it: from now on its absence is a fault. */
  get #rootSeen(): boolean {
    return this.#rootsSeen.has(this.root);
  }

  set #rootSeen(seen: boolean) {
    if (seen) this.#rootsSeen.add(this.root);
  }

  constructor(name: string, config: StoreConfig, rootsSeen: Set<string> = new Set()) {
    if (config.type !== 'date-sharded')
      throw new Error(`store ${name} is not a date-sharded store`);
    this.name = name;
    this.#rootsSeen = rootsSeen;
    this.root = resolve(config.root);
    this.layout = compileLayout(config.layout);
    this.handoffDir = config.handoffDir === undefined ? undefined : resolve(config.handoffDir);
    this.expiresAfter = config.expiresAfter;
    this.handoffExpiresAfter = config.handoffExpiresAfter ?? config.expiresAfter;
    this.cleanupInterval = config.cleanupInterval;
  }

  get location(): string {
    return this.root;
  }

  folderOf(id: string): string {
    return this.pathsFor(id).folder;
  }

  pathsFor(id: string): UploadPaths {
    if (!isNativeUploadId(id)) throw new Error(`not a native upload id: ${JSON.stringify(id)}`);
    const folder = this.layout.folderFor(uploadIdTimestamp(id));
    const data = join(this.root, folder, id);
    return { folder, data, info: `${data}.info` };
  }

  /** When the upload expires (ms), derived from its id; undefined without a TTL. */
  expiresAt(id: string): number | undefined {
    return this.expiresAfter === undefined ? undefined : uploadIdTimestamp(id) + this.expiresAfter;
  }

  /** A new upload's info, with tusd's field order (some tools diff info files). */
  newInfo(id: string, fields: NewUploadFields): UploadInfo {
    const paths = this.pathsFor(id);
    return {
      ID: id,
      Size: fields.Size,
      SizeIsDeferred: fields.SizeIsDeferred,
      Offset: 0,
      MetaData: fields.MetaData,
      IsPartial: fields.IsPartial,
      IsFinal: fields.IsFinal,
      PartialUploads: fields.PartialUploads,
      Storage: { Type: 'filestore', Path: paths.data, InfoPath: paths.info },
      Principal: fields.Principal ?? null,
    };
  }

  /**
   * Creates the empty data file, then the info: an info file always has its data file. When the
   * info cannot be written (a full disk, say) the data file is removed again, so a failed creation
   * leaves nothing behind. Resolves to whether the store's root had to be created first.
   */
  async create(info: UploadInfo): Promise<{ createdRoot: boolean }> {
    const paths = this.pathsFor(info.ID);
    const { handle, createdRoot } = await this.#createDataFile(paths);
    await handle.close();
    try {
      await writeInfo(paths.info, info);
    } catch (error) {
      try {
        await unlinkIfPresent(paths.data);
      } catch (cleanupError) {
        throw new AggregateError(
          [error, cleanupError],
          'the upload info could not be written, nor its empty data file removed',
        );
      }
      throw error;
    }
    return { createdRoot };
  }

  /** The root is not there (never made, unmounted, deleted). */
  async rootMissing(): Promise<boolean> {
    try {
      return !(await stat(this.root)).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return true;
      throw error;
    }
  }

  /**
   * Makes sure the root exists; resolves to whether it had to be created. A root missing when this
   * store is first used is created (a fresh install). One that disappears after that is a fault
   * (503) and is never recreated: recreating it would silently put uploads on whatever lies under
   * an unmounted volume, where Galaxy and the other replicas never see them.
   */
  async ensureRoot(): Promise<boolean> {
    if (!(await this.rootMissing())) {
      this.#rootSeen = true;
      return false;
    }
    if (this.#rootSeen) {
      throw storageUnavailable(new Error(`store root ${this.root} has vanished`));
    }
    await mkdir(this.root, { recursive: true });
    this.#rootSeen = true;
    return true;
  }

  /** A file-system failure of this store as the client's answer (507, 503), if it is one. */
  storageFault(error: unknown) {
    return storageFault(error, () => this.rootMissing().catch(() => false));
  }

  /**
   * Most uploads land in today's folder, which exists after the first: `mkdir` only when the
   * folder is new to this process or has gone (an operator removed it) since.
   */
  async #createDataFile(paths: UploadPaths): Promise<{ handle: FileHandle; createdRoot: boolean }> {
    const flags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY;
    if (this.#knownFolders.has(paths.folder)) {
      try {
        return { handle: await open(paths.data, flags), createdRoot: false };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        this.#knownFolders.delete(paths.folder);
      }
    }
    const createdRoot = await this.ensureRoot();
    await this.#makeFolder(paths.folder);
    // A folder a day (an hour at most): a long-running process forgets them now and then.
    if (this.#knownFolders.size >= 100) this.#knownFolders.clear();
    this.#knownFolders.add(paths.folder);
    return { handle: await open(paths.data, flags), createdRoot };
  }

  /** Level by level below the root, never the root itself (see `ensureRoot`). */
  async #makeFolder(folder: string): Promise<void> {
    let path = this.root;
    for (const level of folder.split('/')) {
      path = join(path, level);
      try {
        await mkdir(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }

  async load(id: string): Promise<StoredUpload | null> {
    const paths = this.pathsFor(id);
    const info = await readInfo(paths.info);
    if (info === null) {
      // Not an unknown upload but a store gone missing: every upload would look unknown.
      if (this.#rootSeen && (await this.rootMissing())) throw storageUnavailable();
      return null;
    }
    this.#rootSeen = true;
    try {
      const { size } = await stat(paths.data);
      return { info, offset: size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async saveInfo(info: UploadInfo): Promise<void> {
    await writeInfo(this.pathsFor(info.ID).info, info);
  }

  /** The data file itself: every write is on disk at once, and `truncate` cuts a refused body. */
  async openAppend(info: UploadInfo): Promise<AppendHandle> {
    return open(this.pathsFor(info.ID).data, 'r+');
  }

  async read(id: string, length: number): Promise<Readable> {
    if (length === 0) return Readable.from([]);
    return createReadStream(this.pathsFor(id).data, { start: 0, end: length - 1 });
  }

  /** The bytes are in place already (`syncOnFinish` syncs them through the append handle). */
  async finish(): Promise<void> {}

  async concatenate(final: UploadInfo, partialIds: readonly string[], sync: boolean) {
    const target = this.pathsFor(final.ID).data;
    let position = 0;
    for (const id of partialIds) {
      const source = this.pathsFor(id).data;
      const sink = createWriteStream(target, { flags: 'r+', start: position });
      await pipeline(createReadStream(source), sink).catch(async (error: unknown) => {
        // Deleted (terminated, expired) since it was checked: the client's request names an
        // upload that no longer exists, a 404 as when it was gone before (a vanished store is not).
        const gone =
          (error as NodeJS.ErrnoException).path === source && errnoCode(error) === 'ENOENT';
        if (gone && !(await this.rootMissing())) {
          throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND', {
            message: `partial upload ${id} no longer exists`,
            cause: error,
          });
        }
        throw error;
      });
      position += sink.bytesWritten;
    }
    if (sync) {
      const handle = await open(target, 'r');
      await handle.datasync().finally(() => handle.close());
    }
  }

  /** One id a line, appended, in `<partial>.finals` beside the partial's data. */
  async addWaitingFinal(partialId: string, finalId: string): Promise<void> {
    await appendFile(`${this.pathsFor(partialId).data}.finals`, `${finalId}\n`);
  }

  async waitingFinals(partialId: string): Promise<string[]> {
    try {
      const text = await readFile(`${this.pathsFor(partialId).data}.finals`, 'utf8');
      return [...new Set(text.split('\n').filter(Boolean))];
    } catch (error) {
      // No file: no final waits for this partial (the usual case).
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  expire(options?: CleanupOptions): Promise<CleanupReport> {
    return cleanupStore(this, options);
  }

  /**
   * The root (created if this is a fresh install, see `ensureRoot`) and the hand-off folder exist
   * and a file can be created and removed in each: `access(W_OK)` says yes on a read-only mount.
   */
  async ensureReady(): Promise<{ createdRoot: boolean }> {
    let createdRoot: boolean;
    try {
      createdRoot = await this.ensureRoot();
    } catch (error) {
      if (!(error instanceof TusgateError)) throw error;
      throw new Error(`store root ${this.root} has vanished (unmounted or deleted?)`, {
        cause: error,
      });
    }
    await probeWritable(this.root);
    // Never created here: a missing hand-off folder is Galaxy's gone, not one to make up.
    if (this.handoffDir !== undefined) await probeWritable(this.handoffDir);
    return { createdRoot };
  }

  /** Removes the info first: without it the upload is gone, whatever happens to the data next. */
  async remove(id: string): Promise<void> {
    const paths = this.pathsFor(id);
    await unlinkIfPresent(paths.info);
    await unlinkIfPresent(paths.data);
    // A partial upload's list of the finals waiting for it (native/assemble.ts).
    await unlinkIfPresent(`${paths.data}.finals`);
  }

  /**
   * Puts a finished upload's bytes into the flat hand-off folder as `<id>`: a hard link when the
   * folder is on the same file system, else a copy renamed into place, so a reader never sees a
   * partial file. Already there (a retried finish) is fine.
   */
  async handOff(id: string): Promise<string | undefined> {
    if (this.handoffDir === undefined) return undefined;
    const source = this.pathsFor(id).data;
    const target = join(this.handoffDir, id);
    try {
      await link(source, target).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        await mkdir(this.handoffDir!, { recursive: true });
        await link(source, target);
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return target;
      if (code !== 'EXDEV') throw error;
      const temporary = join(this.handoffDir, `.${id}.tmp`);
      await copyFile(source, temporary);
      // The copy carries the data's mtime: that is how `removeHandOff` knows it for ours.
      const { atime, mtime } = await stat(source);
      await utimes(temporary, atime, mtime);
      await rename(temporary, target);
    }
    return target;
  }

  /**
   * Removes `handoffDir/<id>` if it is still what `handOff` put there. One lstat of that one name
   * (never a listing of the folder); when something is there, one stat of the data to compare.
   * `data` is the upload's data file (default: where its id says); it must still exist.
   */
  async removeHandOff(
    id: string,
    options: { data?: string; dryRun?: boolean; finishedBefore?: number } = {},
  ): Promise<HandOffRemoval> {
    if (this.handoffDir === undefined) return 'absent';
    const target = join(this.handoffDir, id);
    const entry = await statIfPresent(target, false);
    if (entry === null) return 'absent';
    const data = await statIfPresent(options.data ?? this.pathsFor(id).data, true);
    if (data === null || !isOurHandOff(entry, data)) return 'foreign';
    if (options.finishedBefore !== undefined && entry.mtimeMs > options.finishedBefore) {
      return 'young';
    }
    if (!options.dryRun) await unlinkIfPresent(target);
    return 'removed';
  }
}

/** What `removeHandOff` found at `handoffDir/<id>`. */
export type HandOffRemoval =
  | 'absent' // nothing there: never finished, or Galaxy moved it away
  | 'foreign' // something that is not our link nor our copy (or the data is gone): left alone
  | 'young' // ours, but finished after `finishedBefore`: left for later
  | 'removed'; // ours, unlinked (dry run: would be)

/** File system calls `removeHandOff` made for an outcome: cleanup counts them. */
export function handOffRemovalCalls(outcome: HandOffRemoval, dryRun: boolean) {
  return {
    stat: outcome === 'absent' ? 1 : 2,
    unlink: outcome === 'removed' && !dryRun ? 1 : 0,
  };
}

async function statIfPresent(path: string, follow: boolean): Promise<Stats | null> {
  try {
    return await (follow ? stat(path) : lstat(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** A hard link of the data (same inode), or the copy `handOff` made (same size, same mtime). */
function isOurHandOff(entry: Stats, data: Stats): boolean {
  if (!entry.isFile()) return false;
  if (entry.ino === data.ino && entry.dev === data.dev) return true;
  return entry.size === data.size && Math.floor(entry.mtimeMs) === Math.floor(data.mtimeMs);
}

async function probeWritable(dir: string): Promise<void> {
  const probe = join(dir, `.tusgate-ready-${randomBytes(6).toString('hex')}`);
  try {
    await (await open(probe, 'wx')).close();
    await unlink(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`cannot create a file in ${dir} (${code})`, { cause: error });
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
