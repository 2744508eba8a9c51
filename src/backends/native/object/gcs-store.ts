import { Readable } from 'node:stream';
import { type Bucket, type File, Storage } from '@google-cloud/storage';
import type { GcsStoreConfig } from '../../../config/schema/index.ts';
import { TusgateError } from '../../../errors.ts';
import type { CleanupOptions, CleanupReport } from '../cleanup.ts';
import type { UploadInfo } from '../info.ts';
import { compileLayout, type Layout } from '../layout.ts';
import { storageUnavailable } from '../storage-faults.ts';
import { isNativeUploadId, uploadIdTimestamp } from '../upload-id.ts';
import type {
  AppendHandle,
  AppendOptions,
  NewUploadFields,
  StoreCapabilities,
  StoredUpload,
  UploadStore,
} from '../upload-store.ts';
import { expireDayPrefixes } from './day-expiry.ts';
import { PartAppend, type PartSink, type StoredParts } from './part-append.ts';

/** GCS composes at most this many objects into one. */
const composeLimit = 32;

/**
 * Uploads on Google Cloud Storage in the date-sharded layout: `<prefix><layout>/<id>` is the
 * object once complete, `<id>.info` tusd's info JSON beside it. Until then the bytes are part
 * objects `<id>.p/00001`… (each `partSize`, the last maybe shorter) and a short tail `<id>.part`
 * tagged with the part it comes before (see `PartAppend`); finishing composes the parts into the
 * object (GCS compose, 32 at a time) and deletes them. A final upload's parts are server-side
 * copies of its partials.
 */
export class GcsStore implements UploadStore, PartSink {
  readonly type = 'gcs';
  readonly capabilities: StoreCapabilities = { handOff: false, readUnfinished: false };
  readonly name: string;
  readonly prefix: string;
  readonly layout: Layout;
  readonly partSize: number;
  readonly handoffDir = undefined;
  readonly expiresAfter: number | undefined;
  readonly handoffExpiresAfter = undefined;
  readonly cleanupInterval: number;
  readonly bucket: Bucket;
  readonly #endpoint: string;
  readonly #open = new Map<string, PartAppend>();

  constructor(name: string, config: GcsStoreConfig) {
    this.name = name;
    this.prefix = config.prefix;
    this.layout = compileLayout(config.layout);
    this.partSize = config.partSize;
    this.expiresAfter = config.expiresAfter;
    this.cleanupInterval = config.cleanupInterval;
    this.#endpoint = config.endpoint ?? 'google';
    // Without keyFilename, Google's application default credentials.
    const storage = new Storage({
      ...(config.endpoint !== undefined ? { apiEndpoint: config.endpoint } : {}),
      ...(config.projectId !== undefined ? { projectId: config.projectId } : {}),
      ...(config.keyFilename !== undefined ? { keyFilename: config.keyFilename } : {}),
    });
    this.bucket = storage.bucket(config.bucket);
  }

  get location(): string {
    return `gs://${this.bucket.name}/${this.prefix} at ${this.#endpoint}`;
  }

  folderOf(id: string): string {
    if (!isNativeUploadId(id)) throw new Error(`not a native upload id: ${JSON.stringify(id)}`);
    return this.layout.folderFor(uploadIdTimestamp(id));
  }

  keyOf(id: string): string {
    return `${this.prefix}${this.folderOf(id)}/${id}`;
  }

  expiresAt(id: string): number | undefined {
    return this.expiresAfter === undefined ? undefined : uploadIdTimestamp(id) + this.expiresAfter;
  }

  newInfo(id: string, fields: NewUploadFields): UploadInfo {
    return {
      ID: id,
      Size: fields.Size,
      SizeIsDeferred: fields.SizeIsDeferred,
      Offset: 0,
      MetaData: fields.MetaData,
      IsPartial: fields.IsPartial,
      IsFinal: fields.IsFinal,
      PartialUploads: fields.PartialUploads,
      Storage: { Type: 'gcsstore', Bucket: this.bucket.name, Key: this.keyOf(id) },
      Principal: fields.Principal ?? null,
    };
  }

  /** Nothing but the info: the parts come with the bytes. */
  async create(info: UploadInfo): Promise<{ createdRoot: boolean }> {
    await this.saveInfo(info);
    return { createdRoot: false };
  }

  async load(id: string): Promise<StoredUpload | null> {
    const text = await this.#text(this.#file(`${this.keyOf(id)}.info`));
    if (text === null) return null;
    const info = JSON.parse(text) as UploadInfo;
    const size = await this.#sizeOf(this.#file(this.keyOf(id)));
    if (size !== null) return { info, offset: size };
    const stored = await this.storedParts(info);
    return { info, offset: stored === null ? 0 : stored.partsBytes + stored.incomplete };
  }

  /** The part objects of an unfinished upload; null once it is complete. */
  async storedParts(info: UploadInfo): Promise<(StoredParts & { files: File[] }) | null> {
    const key = this.keyOf(info.ID);
    if ((await this.#sizeOf(this.#file(key))) !== null) return null;
    const [files] = await this.bucket.getFiles({ prefix: `${key}.p/` });
    files.sort((a, b) => a.name.localeCompare(b.name));
    const partsBytes = files.reduce((sum, file) => sum + Number(file.metadata.size ?? 0), 0);
    const nextPart = files.length + 1;
    let incomplete = 0;
    try {
      const [metadata] = await this.#file(`${key}.part`).getMetadata();
      if (metadata.metadata?.['next-part'] === String(nextPart)) incomplete = Number(metadata.size);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return { files, partsBytes, nextPart, incomplete };
  }

  async saveInfo(info: UploadInfo): Promise<void> {
    await this.#file(`${this.keyOf(info.ID)}.info`).save(JSON.stringify(info), {
      resumable: false,
      contentType: 'application/json',
    });
  }

  async uploadPart(info: UploadInfo, partNumber: number, body: Buffer): Promise<void> {
    await this.#partFile(info.ID, partNumber).save(body, { resumable: false });
  }

  async getTail(info: UploadInfo): Promise<Uint8Array> {
    const [bytes] = await this.#file(`${this.keyOf(info.ID)}.part`).download();
    return bytes;
  }

  async putTail(info: UploadInfo, body: Buffer, nextPart: number): Promise<void> {
    await this.#file(`${this.keyOf(info.ID)}.part`).save(body, {
      resumable: false,
      metadata: { metadata: { 'next-part': String(nextPart) } },
    });
  }

  async deleteTail(info: UploadInfo): Promise<void> {
    await this.#file(`${this.keyOf(info.ID)}.part`).delete({ ignoreNotFound: true });
  }

  async openAppend(info: UploadInfo, options: AppendOptions): Promise<AppendHandle> {
    const stored = await this.storedParts(info);
    if (stored === null) throw new Error(`upload ${info.ID} is complete already`);
    const append = new PartAppend(this, info, stored, options, () => {
      if (this.#open.get(info.ID) === append) this.#open.delete(info.ID);
    });
    await append.open();
    this.#open.set(info.ID, append);
    return append;
  }

  async read(id: string, length: number): Promise<Readable> {
    const file = this.#file(this.keyOf(id));
    if ((await this.#sizeOf(file)) === null) {
      throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FINISHED');
    }
    if (length === 0) return Readable.from([]);
    return file.createReadStream({ start: 0, end: length - 1, validation: false });
  }

  /** Composes the parts into the object (32 at a time), then deletes them. */
  async finish(info: UploadInfo, handle?: AppendHandle): Promise<void> {
    if (handle instanceof PartAppend) await handle.commit();
    let stored = await this.storedParts(info);
    if (stored === null) return;
    if (stored.incomplete > 0) {
      await (await this.openAppend(info, { revocable: false })).close();
      stored = await this.storedParts(info);
      if (stored === null) return;
    }
    const key = this.keyOf(info.ID);
    const target = this.#file(key);
    if (stored.files.length === 0) {
      await target.save(Buffer.alloc(0), { resumable: false });
    } else {
      let sources = stored.files;
      let round = 0;
      while (sources.length > composeLimit) {
        const next: File[] = [];
        for (let at = 0; at < sources.length; at += composeLimit) {
          const piece = this.#file(`${key}.c/${round}-${String(at).padStart(6, '0')}`);
          await this.bucket.combine(sources.slice(at, at + composeLimit), piece);
          next.push(piece);
        }
        sources = next;
        round++;
      }
      await this.bucket.combine(sources, target);
    }
    await this.bucket.deleteFiles({ prefix: `${key}.p/` });
    await this.bucket.deleteFiles({ prefix: `${key}.c/` });
    await this.deleteTail(info);
  }

  /** Each partial becomes one part object of the final by a server-side copy. */
  async concatenate(final: UploadInfo, partialIds: readonly string[]): Promise<void> {
    for (const [index, id] of partialIds.entries()) {
      await this.#file(this.keyOf(id))
        .copy(this.#partFile(final.ID, index + 1))
        .catch((error: unknown) => {
          // Deleted (terminated, expired) since it was checked: a 404, as on a file store.
          if (!isNotFound(error)) throw error;
          throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND', {
            message: `partial upload ${id} no longer exists`,
            cause: error,
          });
        });
    }
  }

  async remove(id: string): Promise<void> {
    this.#open.get(id)?.discard();
    const key = this.keyOf(id);
    await this.#file(`${key}.info`).delete({ ignoreNotFound: true });
    // Ids have one length: `<folder>/<id>` is a prefix of this upload's objects alone.
    await this.bucket.deleteFiles({ prefix: key });
  }

  async addWaitingFinal(partialId: string, finalId: string): Promise<void> {
    const file = this.#file(`${this.keyOf(partialId)}.finals`);
    const text = (await this.#text(file)) ?? '';
    await file.save(`${text}${finalId}\n`, { resumable: false });
  }

  async waitingFinals(partialId: string): Promise<string[]> {
    const text = await this.#text(this.#file(`${this.keyOf(partialId)}.finals`));
    return text === null ? [] : [...new Set(text.split('\n').filter(Boolean))];
  }

  async handOff(): Promise<undefined> {
    return undefined;
  }

  async removeHandOff(): Promise<'absent'> {
    return 'absent';
  }

  expire(options?: CleanupOptions): Promise<CleanupReport> {
    const requests = { list: 0, delete: 0 };
    return expireDayPrefixes(
      this.name,
      this.layout,
      this.expiresAfter,
      {
        requests,
        listFolders: async (relative) => {
          const names: string[] = [];
          let query: Record<string, unknown> | null = {
            prefix: `${this.prefix}${relative}`,
            delimiter: '/',
            autoPaginate: false,
          };
          while (query) {
            requests.list++;
            const [, next, response]: [unknown, unknown, unknown] =
              await this.bucket.getFiles(query);
            for (const prefix of (response as { prefixes?: string[] }).prefixes ?? []) {
              const name = prefix.slice(this.prefix.length + relative.length, -1);
              if (name) names.push(name);
            }
            query = (next as Record<string, unknown> | null) ?? null;
          }
          return names;
        },
        removeFolder: async (relative, dryRun) => {
          let objects = 0;
          let uploads = 0;
          let query: Record<string, unknown> | null = {
            prefix: `${this.prefix}${relative}`,
            autoPaginate: false,
          };
          while (query) {
            requests.list++;
            const [files, next]: [File[], unknown, unknown] = await this.bucket.getFiles(query);
            objects += files.length;
            uploads += files.filter((file) => file.name.endsWith('.info')).length;
            if (!dryRun) {
              for (const file of files) {
                requests.delete++;
                await file.delete({ ignoreNotFound: true });
              }
            }
            query = (next as Record<string, unknown> | null) ?? null;
          }
          return { objects, uploads };
        },
      },
      options,
    );
  }

  async ensureReady(): Promise<{ createdRoot: boolean }> {
    let exists: boolean;
    try {
      [exists] = await this.bucket.exists();
    } catch (error) {
      throw new Error(`cannot reach bucket ${this.bucket.name}`, { cause: error });
    }
    if (!exists) throw new Error(`bucket ${this.bucket.name} does not exist`);
    return { createdRoot: false };
  }

  async storageFault(error: unknown): Promise<TusgateError | undefined> {
    if (error instanceof TusgateError) return undefined;
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'number' && (code >= 500 || code === 401 || code === 403 || code === 429)) {
      return storageUnavailable(error);
    }
    if (typeof code === 'string' && networkCodes.has(code)) return storageUnavailable(error);
    return undefined;
  }

  #file(name: string): File {
    return this.bucket.file(name);
  }

  #partFile(id: string, partNumber: number): File {
    return this.#file(`${this.keyOf(id)}.p/${String(partNumber).padStart(5, '0')}`);
  }

  async #sizeOf(file: File): Promise<number | null> {
    try {
      const [metadata] = await file.getMetadata();
      return Number(metadata.size ?? 0);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async #text(file: File): Promise<string | null> {
    try {
      const [bytes] = await file.download();
      return bytes.toString('utf8');
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 404;
}
