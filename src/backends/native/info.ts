import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';

/**
 * Temporary info files must not collide between writes of this process (a counter) nor between
 * processes sharing the store, maybe on other hosts (a random prefix drawn once).
 */
const processPrefix = randomBytes(8).toString('hex');
let temporaryCount = 0;

function temporarySuffix(): string {
  temporaryCount = (temporaryCount + 1) % Number.MAX_SAFE_INTEGER;
  return `${processPrefix}${temporaryCount.toString(36)}`;
}

/**
 * An upload's `.info` file, in tusd's FileInfo JSON format so tools that read tusd's info files
 * keep working. `Offset` here is informational: the true offset is the data file's size, which can
 * never run ahead of the bytes on disk. tusgate's own fields come after tusd's; Go's JSON decoder
 * ignores them.
 */
export interface UploadInfo {
  ID: string;
  Size: number;
  SizeIsDeferred: boolean;
  Offset: number;
  MetaData: Record<string, string>;
  IsPartial: boolean;
  IsFinal: boolean;
  PartialUploads: string[] | null;
  /** Where the bytes are: tusd's `filestore` (Path, InfoPath) or `s3store` (Bucket, Key) fields. */
  Storage: UploadStorage;
  /** Who created the upload (auth principal), or null on routes without auth. */
  Principal?: string | null;
}

/**
 * tusd's Storage fields: `filestore` has Path and InfoPath, `s3store` Bucket and Key (and
 * tusgate's MultipartUpload: the S3 multipart upload the bytes go to until it is complete).
 */
export type UploadStorage = { Type: 'filestore' | 's3store' | 'gcsstore' } & Record<string, string>;

export async function readInfo(path: string): Promise<UploadInfo | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return JSON.parse(text) as UploadInfo;
}

/**
 * Atomic replace: write a temporary file and rename it over the old one, so a reader (or a
 * restarted process) sees the old info or the new, never half of one.
 */
export async function writeInfo(path: string, info: UploadInfo): Promise<void> {
  const temporary = `${path}.${temporarySuffix()}.tmp`;
  const handle = await open(temporary, 'wx', 0o644);
  try {
    await handle.writeFile(JSON.stringify(info));
    // On disk before the rename: after a power cut the info is the old one or the new one, never
    // an empty file.
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}
