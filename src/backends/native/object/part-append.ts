import { randomBytes } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UploadInfo } from '../info.ts';
import type { AppendHandle, AppendOptions } from '../upload-store.ts';

/** Where an object store keeps an unfinished upload's parts and its short tail. */
export interface PartSink {
  /** Every part but the last is this long; also the memory one upload holds. */
  readonly partSize: number;
  uploadPart(info: UploadInfo, partNumber: number, body: Buffer): Promise<void>;
  /** The tail object's bytes (`<id>.part`). */
  getTail(info: UploadInfo): Promise<Uint8Array>;
  /** Stores the tail, tagged with the part number it comes before. */
  putTail(info: UploadInfo, body: Buffer, nextPart: number): Promise<void>;
  deleteTail(info: UploadInfo): Promise<void>;
}

/** The parts an unfinished upload has stored, and its incomplete tail kept as `<id>.part`. */
export interface StoredParts {
  partsBytes: number;
  nextPart: number;
  /** Size of `<id>.part` if it belongs after the stored parts (its tag is `nextPart`). */
  incomplete: number;
}

/** Bytes read back from a revocable body's spool file at a time. */
const spoolReadBytes = 1024 * 1024;

/**
 * One request's body into an object store's upload (S3 multipart parts, or part objects). Bytes are copied into one part-sized buffer (the body
 * writer frees its chunks as soon as `writev` resolves); a full part is uploaded before more is
 * taken (the body writer waits, so the socket pauses): an upload holds one part of memory
 * (`partSize`) besides the body writer's batch. A tail shorter than a part is put as `<id>.part` at `close`, with the part
 * number it comes before; the next request starts from it and deletes it only after the part it
 * went into is stored, so acknowledged bytes are never lost and never counted twice.
 *
 * A revocable body (it may yet be refused) goes to an unlinked temporary file instead, and into
 * parts only at `commit`: `truncate` takes all of it back.
 */
export class PartAppend implements AppendHandle {
  readonly #store: PartSink;
  readonly #info: UploadInfo;
  readonly #options: AppendOptions;
  readonly #onDone: () => void;
  /** The offset this handle started at. */
  readonly start: number;
  #nextPart: number;
  #partsBytes: number;
  /** The tail already stored as `<id>.part` when this handle opened. */
  readonly #incomplete: number;
  /** The part being gathered, allocated at the first byte. */
  #part: Buffer | undefined;
  #held = 0;
  /** Of the held bytes, those that `<id>.part` already stores. */
  #heldStored = 0;
  #partsThisRequest = 0;
  #spool: FileHandle | undefined;
  #spooled = 0;
  #committed = false;
  #discarded = false;

  constructor(
    store: PartSink,
    info: UploadInfo,
    stored: StoredParts,
    options: AppendOptions,
    onDone: () => void,
  ) {
    this.#store = store;
    this.#info = info;
    this.#options = options;
    this.#onDone = onDone;
    this.#nextPart = stored.nextPart;
    this.#partsBytes = stored.partsBytes;
    this.#incomplete = stored.incomplete;
    this.start = stored.partsBytes + stored.incomplete;
  }

  async open(): Promise<void> {
    if (this.#incomplete > 0) {
      const tail = await this.#store.getTail(this.#info);
      this.#partBuffer().set(tail, 0);
      this.#held = this.#heldStored = tail.length;
    }
    if (this.#options.revocable) {
      // Unlinked at once: the bytes live as long as the handle, and a crash leaves no file.
      const path = join(tmpdir(), `tusgate-part-${randomBytes(8).toString('hex')}`);
      this.#spool = await open(path, 'wx+', 0o600);
      await unlink(path);
    }
  }

  async writev(buffers: Buffer[], _position: number): Promise<{ bytesWritten: number }> {
    const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    if (this.#discarded) return { bytesWritten: total };
    if (this.#spool) {
      const { bytesWritten } = await this.#spool.writev(buffers, this.#spooled);
      this.#spooled += bytesWritten;
      return { bytesWritten };
    }
    await this.#take(buffers);
    return { bytesWritten: total };
  }

  /** Takes back this request's bytes (a refused body): only back to where it started. */
  async truncate(length: number): Promise<void> {
    if (length !== this.start)
      throw new Error('an object store upload is only cut back to where a request began');
    if (this.#spool) {
      this.#spooled = 0;
      return;
    }
    if (this.#partsThisRequest > 0) {
      throw new Error('parts already stored cannot be taken back');
    }
    this.#held = this.#heldStored;
  }

  /** Every acknowledged part is durable in the object store already. */
  async datasync(): Promise<void> {}

  /** The store removed the upload meanwhile: nothing more is written. */
  discard(): void {
    this.#discarded = true;
  }

  /** Stores what this request brought: its parts, and its tail as the last part or `<id>.part`. */
  async commit(): Promise<void> {
    if (this.#committed || this.#discarded) return;
    this.#committed = true;
    if (this.#spool) {
      const buffer = Buffer.allocUnsafe(spoolReadBytes);
      for (let at = 0; at < this.#spooled; ) {
        const { bytesRead } = await this.#spool.read(buffer, 0, spoolReadBytes, at);
        if (bytesRead === 0) break;
        await this.#take([Buffer.from(buffer.subarray(0, bytesRead))]);
        at += bytesRead;
      }
    }
    if (this.#held === 0) return;
    if (this.#reachesEnd()) {
      await this.#uploadPart();
    } else if (this.#held > this.#heldStored) {
      this.#options.fence?.();
      await this.#store.putTail(
        this.#info,
        this.#partBuffer().subarray(0, this.#held),
        this.#nextPart,
      );
    }
  }

  async close(): Promise<void> {
    try {
      await this.commit();
    } finally {
      await this.#spool?.close();
      this.#spool = undefined;
      this.#onDone();
    }
  }

  #reachesEnd(): boolean {
    return !this.#info.SizeIsDeferred && this.#partsBytes + this.#held >= this.#info.Size;
  }

  #partBuffer(): Buffer {
    this.#part ??= Buffer.allocUnsafe(this.#store.partSize);
    return this.#part;
  }

  /** Copies the bytes in, uploading each part as it fills; the last part may be short. */
  async #take(buffers: Buffer[]): Promise<void> {
    const part = this.#partBuffer();
    for (const buffer of buffers) {
      let from = 0;
      while (from < buffer.length) {
        const length = Math.min(buffer.length - from, part.length - this.#held);
        buffer.copy(part, this.#held, from, from + length);
        this.#held += length;
        from += length;
        if (this.#held === part.length) await this.#uploadPart();
      }
    }
    if (this.#held > 0 && this.#reachesEnd()) await this.#uploadPart();
  }

  async #uploadPart(): Promise<void> {
    this.#options.fence?.();
    const body = this.#partBuffer().subarray(0, this.#held);
    await this.#store.uploadPart(this.#info, this.#nextPart, body);
    const tailWasStored = this.#heldStored > 0;
    this.#nextPart++;
    this.#partsBytes += body.length;
    this.#held = 0;
    this.#heldStored = 0;
    this.#partsThisRequest++;
    if (tailWasStored) {
      // Now in a part: the tail object is stale (its part number is taken) and goes.
      await this.#store.deleteTail(this.#info);
    }
  }
}
