import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type Part,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { S3StoreConfig } from '../../../config/schema/index.ts';
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

/** S3's smallest part (every part but the last). */
export const minPartSize = 5 * 1024 * 1024;

/** S3's stored parts, listed. */
interface S3Parts extends StoredParts {
  parts: Part[];
}

/**
 * Uploads on S3 in the date-sharded layout: `<prefix><layout>/<id>` is the object, `<id>.info`
 * tusd's info JSON beside it. Until the upload is complete its bytes are the parts of a multipart
 * upload (its id in the info's Storage.MultipartUpload) plus, for a tail shorter than a part, the
 * object `<id>.part`. The offset is what S3 lists, so it never runs ahead of what is stored.
 */
export class S3Store implements UploadStore, PartSink {
  readonly type = 's3';
  readonly capabilities: StoreCapabilities = { handOff: false, readUnfinished: false };
  readonly name: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly layout: Layout;
  readonly partSize: number;
  readonly handoffDir = undefined;
  readonly expiresAfter: number | undefined;
  readonly handoffExpiresAfter = undefined;
  readonly cleanupInterval: number;
  readonly client: S3Client;
  readonly #endpoint: string;
  /** Appends in progress, so a removal mid-request (a StopUpload) keeps them from writing more. */
  readonly #open = new Map<string, PartAppend>();

  constructor(name: string, config: S3StoreConfig) {
    this.name = name;
    this.bucket = config.bucket;
    this.prefix = config.prefix;
    this.layout = compileLayout(config.layout);
    this.partSize = config.partSize;
    this.expiresAfter = config.expiresAfter;
    this.cleanupInterval = config.cleanupInterval;
    this.#endpoint = config.endpoint ?? `aws:${config.region}`;
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      // Without keys in the config, the SDK's default chain (environment, files, roles).
      credentials:
        config.accessKeyId !== undefined && config.secretAccessKey !== undefined
          ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
          : undefined,
      // Parts carry Content-MD5-free bodies; S3-compatible servers differ in the newer checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix} at ${this.#endpoint}`;
  }

  folderOf(id: string): string {
    if (!isNativeUploadId(id)) throw new Error(`not a native upload id: ${JSON.stringify(id)}`);
    return this.layout.folderFor(uploadIdTimestamp(id));
  }

  /** The upload's object key; `.info`, `.part` and `.finals` sit beside it. */
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
      Storage: { Type: 's3store', Bucket: this.bucket, Key: this.keyOf(id) },
      Principal: fields.Principal ?? null,
    };
  }

  /** The multipart upload first, then the info: an info always has somewhere for its bytes. */
  async create(info: UploadInfo): Promise<{ createdRoot: boolean }> {
    const key = this.keyOf(info.ID);
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }),
    );
    info.Storage.MultipartUpload = created.UploadId ?? '';
    try {
      await this.saveInfo(info);
    } catch (error) {
      await this.#abort(key, info.Storage.MultipartUpload).catch(() => {});
      throw error;
    }
    return { createdRoot: false };
  }

  async load(id: string): Promise<StoredUpload | null> {
    const key = this.keyOf(id);
    const text = await this.#getText(`${key}.info`);
    if (text === null) return null;
    const info = JSON.parse(text) as UploadInfo;
    const stored = await this.storedParts(info);
    if (stored !== null) return { info, offset: stored.partsBytes + stored.incomplete };
    // No multipart upload any more: complete (the object) or removed.
    const size = await this.#sizeOf(key);
    return size === null ? null : { info, offset: size };
  }

  /** The stored parts of an unfinished upload; null once it is complete (or aborted). */
  async storedParts(info: UploadInfo): Promise<S3Parts | null> {
    const key = this.keyOf(info.ID);
    const uploadId = info.Storage.MultipartUpload;
    if (!uploadId) return null;
    const parts: Part[] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        );
        parts.push(...(page.Parts ?? []));
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker !== undefined);
    } catch (error) {
      if (isS3Error(error, 'NoSuchUpload')) return null;
      throw error;
    }
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const nextPart = (parts.at(-1)?.PartNumber ?? 0) + 1;
    const partsBytes = parts.reduce((sum, part) => sum + (part.Size ?? 0), 0);
    const incomplete = await this.#incompleteSize(key, nextPart);
    return { parts, partsBytes, nextPart, incomplete };
  }

  /**
   * The tail object counts only when it was written for the part number that comes next: one
   * left behind by a process that died after uploading it as a part (and before deleting it) is
   * stale and ignored, so the offset never counts those bytes twice.
   */
  async #incompleteSize(key: string, nextPart: number): Promise<number> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: `${key}.part` }),
      );
      return head.Metadata?.['next-part'] === String(nextPart) ? (head.ContentLength ?? 0) : 0;
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw error;
    }
  }

  async uploadPart(info: UploadInfo, partNumber: number, body: Buffer): Promise<void> {
    await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.keyOf(info.ID),
        UploadId: info.Storage.MultipartUpload,
        PartNumber: partNumber,
        Body: body,
        ContentLength: body.length,
      }),
    );
  }

  async getTail(info: UploadInfo): Promise<Uint8Array> {
    const object = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: `${this.keyOf(info.ID)}.part` }),
    );
    return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
  }

  async putTail(info: UploadInfo, body: Buffer, nextPart: number): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${this.keyOf(info.ID)}.part`,
        Body: body,
        Metadata: { 'next-part': String(nextPart) },
      }),
    );
  }

  async deleteTail(info: UploadInfo): Promise<void> {
    await this.#delete(`${this.keyOf(info.ID)}.part`);
  }

  async saveInfo(info: UploadInfo): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${this.keyOf(info.ID)}.info`,
        Body: JSON.stringify(info),
        ContentType: 'application/json',
      }),
    );
  }

  async openAppend(info: UploadInfo, options: AppendOptions): Promise<AppendHandle> {
    const stored = await this.storedParts(info);
    if (stored === null) throw new Error(`upload ${info.ID} has no multipart upload to append to`);
    const append = new PartAppend(this, info, stored, options, () => {
      if (this.#open.get(info.ID) === append) this.#open.delete(info.ID);
    });
    await append.open();
    this.#open.set(info.ID, append);
    return append;
  }

  async read(id: string, length: number): Promise<Readable> {
    if (length === 0) return Readable.from([]);
    try {
      const object = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(id),
          Range: `bytes=0-${length - 1}`,
        }),
      );
      return object.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FINISHED');
      throw error;
    }
  }

  /**
   * Completes the multipart upload: the parts become the object. An empty upload has no part to
   * complete with: its multipart upload is aborted and an empty object put. Done already (a
   * retried finish) is fine.
   */
  async finish(info: UploadInfo, handle?: AppendHandle): Promise<void> {
    if (handle instanceof PartAppend) await handle.commit();
    let stored = await this.storedParts(info);
    if (stored === null) return;
    if (stored.incomplete > 0) {
      // A finish without the request that brought the tail (HEAD mending, a declared length).
      await (await this.openAppend(info, { revocable: false })).close();
      stored = await this.storedParts(info);
      if (stored === null) return;
    }
    const key = this.keyOf(info.ID);
    const uploadId = info.Storage.MultipartUpload ?? '';
    if (stored.parts.length === 0) {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.alloc(0) }),
      );
      await this.#abort(key, uploadId);
    } else {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: {
            Parts: stored.parts.map((part) => ({ PartNumber: part.PartNumber, ETag: part.ETag })),
          },
        }),
      );
    }
    await this.#delete(`${key}.part`);
  }

  /**
   * Server-side part copies (`UploadPartCopy`) when every partial but the last is at least a
   * part long; otherwise the bytes are streamed through an append handle (one part of memory).
   */
  async concatenate(final: UploadInfo, partialIds: readonly string[]): Promise<void> {
    const sizes: number[] = [];
    for (const id of partialIds) {
      const size = await this.#sizeOf(this.keyOf(id));
      // Deleted (terminated, expired) since it was checked: a 404, as on a file store.
      if (size === null) throw partialGone(id);
      sizes.push(size);
    }
    const copyable = sizes.every(
      (size, index) => size > 0 && (index === sizes.length - 1 || size >= minPartSize),
    );
    const key = this.keyOf(final.ID);
    if (copyable) {
      for (const [index, id] of partialIds.entries()) {
        await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: final.Storage.MultipartUpload,
            PartNumber: index + 1,
            CopySource: encodeURI(`${this.bucket}/${this.keyOf(id)}`),
          }),
        );
      }
      return;
    }
    const handle = await this.openAppend(final, { revocable: false });
    try {
      let position = 0;
      for (const id of partialIds) {
        const source = await this.read(id, sizes[partialIds.indexOf(id)] ?? 0);
        for await (const chunk of source) {
          await handle.writev([chunk as Buffer], position);
          position += (chunk as Buffer).length;
        }
      }
    } finally {
      await handle.close();
    }
  }

  /** The info first: without it the upload is gone, whatever happens to the rest. */
  async remove(id: string): Promise<void> {
    this.#open.get(id)?.discard();
    const key = this.keyOf(id);
    const text = await this.#getText(`${key}.info`);
    await this.#delete(`${key}.info`);
    const uploadId =
      text === null ? undefined : (JSON.parse(text) as UploadInfo).Storage.MultipartUpload;
    if (uploadId) await this.#abort(key, uploadId);
    await this.client.send(
      new DeleteObjectsCommand({
        Bucket: this.bucket,
        Delete: { Objects: [{ Key: key }, { Key: `${key}.part` }, { Key: `${key}.finals` }] },
      }),
    );
  }

  /** `<partial>.finals`, one id a line (read and rewritten: the partial's writer holds its lock). */
  async addWaitingFinal(partialId: string, finalId: string): Promise<void> {
    const key = `${this.keyOf(partialId)}.finals`;
    const text = (await this.#getText(key)) ?? '';
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: `${text}${finalId}\n` }),
    );
  }

  async waitingFinals(partialId: string): Promise<string[]> {
    const text = await this.#getText(`${this.keyOf(partialId)}.finals`);
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
          let token: string | undefined;
          do {
            requests.list++;
            const page = await this.client.send(
              new ListObjectsV2Command({
                Bucket: this.bucket,
                Prefix: `${this.prefix}${relative}`,
                Delimiter: '/',
                ContinuationToken: token,
              }),
            );
            for (const common of page.CommonPrefixes ?? []) {
              const name = common.Prefix?.slice(this.prefix.length + relative.length, -1);
              if (name) names.push(name);
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
          } while (token !== undefined);
          return names;
        },
        removeFolder: (relative, dryRun) => this.#removePrefix(relative, dryRun, requests),
      },
      options,
    );
  }

  /** Lists a day prefix page by page (1000 keys) and deletes each page in one request. */
  async #removePrefix(
    relative: string,
    dryRun: boolean,
    requests: { list: number; delete: number },
  ): Promise<{ objects: number; uploads: number }> {
    const prefix = `${this.prefix}${relative}`;
    let objects = 0;
    let uploads = 0;
    let token: string | undefined;
    do {
      requests.list++;
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
      objects += keys.length;
      uploads += keys.filter((key) => key.Key?.endsWith('.info')).length;
      if (keys.length > 0 && !dryRun) {
        requests.delete++;
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
        );
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    // Unfinished uploads' parts are not objects: their multipart uploads are aborted.
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      requests.list++;
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: idMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        if (dryRun || !upload.Key || !upload.UploadId) continue;
        requests.delete++;
        await this.#abort(upload.Key, upload.UploadId);
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      idMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return { objects, uploads };
  }

  /** The bucket answers to our credentials. */
  async ensureReady(): Promise<{ createdRoot: boolean }> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const reason = error instanceof Error ? error.name : 'error';
      throw new Error(`cannot reach bucket ${this.bucket} (${reason})`, { cause: error });
    }
    return { createdRoot: false };
  }

  /**
   * The S3 server unreachable, refusing our credentials, throttling or failing: 503 with
   * Retry-After, as a file store that is gone. Anything else is the backend's to report.
   */
  async storageFault(error: unknown): Promise<TusgateError | undefined> {
    if (error instanceof TusgateError) return undefined;
    if (error instanceof S3ServiceException) {
      const status = error.$metadata.httpStatusCode ?? 0;
      if (status >= 500 || status === 403 || unavailableErrors.has(error.name)) {
        return storageUnavailable(error);
      }
      return undefined;
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code !== undefined && networkCodes.has(code)) return storageUnavailable(error);
    return undefined;
  }

  async #sizeOf(key: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async #getText(key: string): Promise<string | null> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
      );
      return (await object.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async #delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async #abort(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      if (!isS3Error(error, 'NoSuchUpload')) throw error;
    }
  }
}

const unavailableErrors = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'SlowDown',
]);
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

export function isS3Error(error: unknown, name: string): boolean {
  return error instanceof S3ServiceException && error.name === name;
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === 'NoSuchKey' ||
      error.name === 'NotFound' ||
      error.$metadata.httpStatusCode === 404)
  );
}

function partialGone(id: string): TusgateError {
  return new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND', {
    message: `partial upload ${id} no longer exists`,
  });
}
