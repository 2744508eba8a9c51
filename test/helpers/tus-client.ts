import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough, Transform } from 'node:stream';
import * as tus from 'tus-js-client';

export interface UploadOptions {
  endpoint: string;
  chunkSize?: number;
  metadata?: Record<string, string>;
  headers?: Record<string, string>;
  uploadUrl?: string;
  parallelUploads?: number;
  retryDelays?: number[] | null;
  /** Abort the upload once this many bytes were acknowledged; resolves with the URL so far. */
  abortAfterBytes?: number;
  uploadLengthDeferred?: boolean;
  onProgress?: (bytesSent: number, bytesTotal: number) => void;
  onShouldRetry?: (error: Error) => boolean;
  /** Reads the file at this rate (a slow client), through a plain stream source. */
  bytesPerSecond?: number;
  /** Sees every Upload-Offset the server answered (HEAD after a failure shows the resume point). */
  onAfterResponseOffset?: (offset: number) => void;
  /** CA certificates to trust for an https:// endpoint. */
  ca?: Buffer;
}

export interface UploadResult {
  url: string;
  /** Every Location/upload URL the client was handed during the upload. */
  seenUrls: string[];
  aborted: boolean;
}

/** Uploads a file with the real tus-js-client (Node HTTP stack). */
export async function tusUpload(path: string, options: UploadOptions): Promise<UploadResult> {
  const size = (await stat(path)).size;
  const seenUrls: string[] = [];
  return new Promise<UploadResult>((resolve, reject) => {
    let aborted = false;
    // tus-js-client 4.3's file source announces a whole chunk's length for the short last chunk
    // of a deferred-length upload; a plain stream source reports its real length.
    const source = options.bytesPerSecond
      ? createReadStream(path).pipe(throttle(options.bytesPerSecond))
      : options.uploadLengthDeferred
        ? createReadStream(path).pipe(new PassThrough())
        : createReadStream(path);
    const upload = new tus.Upload(source, {
      endpoint: options.endpoint,
      uploadUrl: options.uploadUrl ?? null,
      chunkSize: options.chunkSize ?? 5 * 1024 * 1024,
      uploadSize:
        options.uploadLengthDeferred || (options.parallelUploads ?? 1) > 1 ? undefined : size,
      uploadLengthDeferred: options.uploadLengthDeferred ?? false,
      metadata: options.metadata ?? { filename: 'test.bin' },
      headers: options.headers ?? {},
      parallelUploads: options.parallelUploads ?? 1,
      retryDelays:
        options.retryDelays === undefined ? [100, 300, 600, 1000, 2000] : options.retryDelays,
      storeFingerprintForResuming: false,
      ...(options.ca ? { httpStack: new tus.DefaultHttpStack({ ca: options.ca }) } : {}),
      onAfterResponse: (_req, res) => {
        const location = res.getHeader('Location');
        if (location) seenUrls.push(location);
        const offset = res.getHeader('Upload-Offset');
        if (offset !== undefined && offset !== '') options.onAfterResponseOffset?.(Number(offset));
      },
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.onShouldRetry
        ? {
            onShouldRetry: (error: Error) =>
              (options.onShouldRetry as (e: Error) => boolean)(error),
          }
        : {}),
      onChunkComplete: (_chunk, accepted) => {
        if (
          options.abortAfterBytes !== undefined &&
          accepted >= options.abortAfterBytes &&
          !aborted
        ) {
          aborted = true;
          void upload
            .abort(false)
            .then(() => resolve({ url: upload.url ?? '', seenUrls, aborted }));
        }
      },
      onSuccess: () => resolve({ url: upload.url ?? '', seenUrls, aborted }),
      onError: reject,
    });
    upload.start();
  });
}

/** Uploads an in-memory buffer (small files, including empty ones). */
export function tusUploadBuffer(data: Buffer, options: UploadOptions): Promise<UploadResult> {
  const seenUrls: string[] = [];
  return new Promise<UploadResult>((resolve, reject) => {
    const upload = new tus.Upload(data, {
      endpoint: options.endpoint,
      chunkSize: options.chunkSize ?? Number.POSITIVE_INFINITY,
      metadata: options.metadata ?? { filename: 'small.bin' },
      headers: options.headers ?? {},
      parallelUploads: options.parallelUploads ?? 1,
      retryDelays: options.retryDelays === undefined ? [100, 300] : options.retryDelays,
      storeFingerprintForResuming: false,
      onAfterResponse: (_req, res) => {
        const location = res.getHeader('Location');
        if (location) seenUrls.push(location);
      },
      onSuccess: () => resolve({ url: upload.url ?? '', seenUrls, aborted: false }),
      onError: reject,
    });
    upload.start();
  });
}

/** Passes bytes on at about `bytesPerSecond`. */
function throttle(bytesPerSecond: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      setTimeout(() => done(null, chunk), (chunk.length / bytesPerSecond) * 1000);
    },
  });
}
