import type { Readable } from 'node:stream';
import type { TusgateError } from '../../errors.ts';
import type { CleanupOptions, CleanupReport } from './cleanup.ts';
import type { UploadInfo } from './info.ts';
import type { Layout } from './layout.ts';

/** An upload as the store holds it. */
export interface StoredUpload {
  info: UploadInfo;
  /** Bytes the store holds: the true offset, never ahead of what is stored. */
  offset: number;
}

/** What a store can do beyond the tus core every store serves (create, append, read info). */
export interface StoreCapabilities {
  /** Finished uploads can be put into a flat POSIX folder (`handoffDir`) for Galaxy. */
  readonly handOff: boolean;
  /** The bytes of an unfinished upload can be read back (GET before the upload completes). */
  readonly readUnfinished: boolean;
}

/**
 * Where one request's body goes. `writev` at the position after the last write (the store's
 * offset when opened, then on); `truncate` only back to where this handle began (a refused body);
 * `close` makes what was written count, as far as the store can keep it (an object store keeps a
 * short tail as an incomplete part). A Node `FileHandle` is one.
 */
export interface AppendHandle {
  writev(buffers: Buffer[], position: number): Promise<{ bytesWritten: number }>;
  truncate(length: number): Promise<void>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export interface AppendOptions {
  /**
   * The body may still be refused after its last byte (a checksum, or no Content-Length so it may
   * run past the upload): nothing may become permanent before `close`, so `truncate` can take
   * all of it back.
   */
  revocable: boolean;
  /**
   * Checked before anything is stored beyond the body writer's batches (an object store's part
   * upload, its tail at `close`): throws when the request lost its lock on the upload, so a
   * holder that lost it writes nothing more. The body writer checks it before each batch itself.
   */
  fence?: () => void;
}

/** The fields of a new upload's info the handlers choose; the store fills in the rest. */
export type NewUploadFields = Omit<UploadInfo, 'ID' | 'Offset' | 'Storage'>;

/**
 * The native backend's storage: the handlers talk to this alone. Every store keeps the same
 * date-sharded layout (`<layout>/<id>` and `<id>.info`, the folder from the id's timestamp), so
 * finding an upload is computing a name and expiring a day is removing one folder or prefix.
 */
export interface UploadStore {
  readonly name: string;
  /** The config's `type`. */
  readonly type: string;
  /** Where the uploads are, for logs: a root folder, `s3://bucket/prefix`… Never a credential. */
  readonly location: string;
  readonly capabilities: StoreCapabilities;
  readonly layout: Layout;
  readonly handoffDir: string | undefined;
  /** Time to live of an upload in ms, or undefined for no expiry. */
  readonly expiresAfter: number | undefined;
  readonly handoffExpiresAfter: number | undefined;
  readonly cleanupInterval: number;

  /** The layout folder of an upload (e.g. `2026/11/25`). */
  folderOf(id: string): string;
  /** When the upload expires (ms), derived from its id; undefined without a TTL. */
  expiresAt(id: string): number | undefined;
  newInfo(id: string, fields: NewUploadFields): UploadInfo;
  /** Creates an empty upload; a failure leaves nothing. */
  create(info: UploadInfo): Promise<{ createdRoot: boolean }>;
  load(id: string): Promise<StoredUpload | null>;
  saveInfo(info: UploadInfo): Promise<void>;
  /** Opens the upload for one request's body, at its current offset. */
  openAppend(info: UploadInfo, options: AppendOptions): Promise<AppendHandle>;
  /** The first `length` bytes of the upload. */
  read(id: string, length: number): Promise<Readable>;
  /**
   * Every byte is stored: make the upload one whole object (an object store completes it). The
   * request's append handle, when there is one, is committed first.
   */
  finish(info: UploadInfo, handle?: AppendHandle): Promise<void>;
  /** Writes the finished partials' bytes, in order, as the final upload's bytes. */
  concatenate(final: UploadInfo, partialIds: readonly string[], sync: boolean): Promise<void>;
  /** Removes the upload (info first: without it the upload is gone) and anything kept for it. */
  remove(id: string): Promise<void>;
  /** Notes that a final upload waits for this unfinished partial. */
  addWaitingFinal(partialId: string, finalId: string): Promise<void>;
  /** The finals waiting for a partial (empty when none). */
  waitingFinals(partialId: string): Promise<string[]>;
  /** Puts a finished upload into `handoffDir`; undefined when the store has none. */
  handOff(id: string): Promise<string | undefined>;
  removeHandOff(id: string): Promise<unknown>;
  /** Removes the layout folders (prefixes) whose period ended before now − expiresAfter. */
  expire(options?: CleanupOptions): Promise<CleanupReport>;
  /**
   * Makes sure the store can be used; resolves to whether its root had to be created. Throws
   * when it cannot be (a vanished root, a missing bucket, a refused credential).
   */
  ensureReady(): Promise<{ createdRoot: boolean }>;
  /** A failure of this store as the client's answer (507, 503), if it is one. */
  storageFault(error: unknown): Promise<TusgateError | undefined>;
}
