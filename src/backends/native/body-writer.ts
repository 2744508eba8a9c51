import type { Readable } from 'node:stream';
import { type BodyBudget, processBodyBudget } from './body-budget.ts';
import type { AppendHandle } from './upload-store.ts';

/**
 * While a write is in flight, at most this much more is received before the socket pauses. With
 * 256 KiB a fast client was paused and resumed every few writes; 1 MiB keeps the socket and the
 * disk busy at once (1 GiB uploads ~1.6× faster), at most 2 MiB per upload in flight.
 */
const batchBytes = 1024 * 1024;
/** Once the process's body budget is spent, the batch is written when it reaches this size. */
const smallBatchBytes = 64 * 1024;

export interface BodyWriteResult {
  /** Bytes of the body now on disk (at most `limit`). */
  written: number;
  /**
   * The body had more bytes than `limit`: writing stopped at the first byte too many (the bytes
   * up to `limit` are on disk; the caller decides whether they stay) and the rest is drained.
   */
  overflowed: boolean;
  /** Set when the client went away or the stream failed; what arrived before is on disk. */
  readError?: Error;
}

export interface BodyWriteOptions {
  position: number;
  /** At most this many bytes are written. */
  limit: number;
  /** Sees every written chunk, in order (checksums, progress). */
  onChunk?: (chunk: Buffer) => void;
  /** Stops reading (a hook's StopUpload): what was received is written, the rest is left unread. */
  signal?: AbortSignal;
  /**
   * The chunks belong to this writer alone (a request body nothing else reads): free each one's
   * memory as soon as it is on disk instead of leaving it to the garbage collector.
   */
  releaseWritten?: boolean;
  /**
   * Checked before every write batch; throws when this writer may no longer write (it lost its
   * lock): the batch and the rest are dropped and the promise rejects with that error.
   */
  fence?: () => void;
  /** The memory budget this writer shares with others (default: the process's). */
  budget?: BodyBudget;
}

/**
 * Appends a request body to a file at `position`, with backpressure and bounded memory: what
 * arrives while a write is in flight is written next, in one `writev`; the socket is paused when
 * that batch is full. Nothing waits in memory for more to arrive (slow clients cost no memory). Chunks are
 * taken from 'data' events as the socket delivers them (an async iterator's `read()` would copy
 * them into one buffer first). A client that disconnects keeps what it sent; a write failure
 * rejects. After an overflow or a write failure the rest of the body is read and dropped rather
 * than the connection cut, so the client gets to read the answer.
 */
export function writeBody(
  source: Readable,
  handle: Pick<AppendHandle, 'writev'>,
  options: BodyWriteOptions,
): Promise<BodyWriteResult> {
  return new Promise((resolve, reject) => {
    let position = options.position;
    let remaining = options.limit;
    let written = 0;
    let overflowed = false;
    let readError: Error | undefined;
    let writeError: unknown;
    let ended = false;
    let writing = false;
    let pending: Buffer[] = [];
    let pendingSize = 0;
    const budget = options.budget ?? processBodyBudget;

    const settle = () => {
      budget.give(pendingSize);
      pending = [];
      pendingSize = 0;
      options.signal?.removeEventListener('abort', onAbort);
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      if (writeError !== undefined || overflowed) drain(source);
      if (writeError !== undefined) reject(writeError);
      else resolve({ written, overflowed, readError });
    };

    const pump = () => {
      if (writing) return;
      if (writeError !== undefined || (ended && pendingSize === 0)) {
        settle();
        return;
      }
      if (pendingSize === 0) return;
      try {
        options.fence?.();
      } catch (error) {
        writeError = error;
        ended = true;
        settle();
        return;
      }
      const buffers = pending;
      const size = pendingSize;
      const at = position;
      pending = [];
      pendingSize = 0;
      position += size;
      writing = true;
      writeAll(handle, buffers, at).then(
        () => {
          budget.give(size);
          if (options.releaseWritten) releaseChunks(buffers);
          written += size;
          writing = false;
          if (!ended && source.isPaused()) source.resume();
          pump();
        },
        (error: unknown) => {
          budget.give(size);
          writeError = error;
          writing = false;
          ended = true;
          pump();
        },
      );
    };

    const onData = (received: Buffer) => {
      if (ended) return;
      let chunk = received;
      if (chunk.length > remaining) {
        // The body is longer than allowed: nothing after this chunk can change the outcome.
        chunk = chunk.subarray(0, remaining);
        overflowed = true;
        ended = true;
      }
      remaining -= chunk.length;
      if (chunk.length === 0) {
        pump();
        return;
      }
      options.onChunk?.(chunk);
      pending.push(chunk);
      pendingSize += chunk.length;
      budget.take(chunk.length);
      if (!writing) pump();
      else if (pendingSize >= batchBytes || (pendingSize >= smallBatchBytes && budget.exhausted)) {
        source.pause();
      }
    };
    const onEnd = () => {
      ended = true;
      pump();
    };
    const onError = (error: Error) => {
      readError ??= error;
    };
    const onClose = () => {
      if (ended) return;
      readError ??= new Error('the client closed the connection before the body ended');
      ended = true;
      pump();
    };

    const onAbort = () => {
      if (ended) return;
      readError ??= options.signal?.reason ?? new Error('stopped');
      ended = true;
      source.pause();
      pump();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    source.on('data', onData);
    source.once('end', onEnd);
    source.on('error', onError);
    source.once('close', onClose);
    // The client may have gone (or the body ended) while the request waited for a lock or a
    // hook: those events will not come again.
    if (source.readableEnded) onEnd();
    else if (source.destroyed) onClose();
    // Stopped before the first byte (a hand-over asked for while the upload was being loaded).
    else if (options.signal?.aborted) onAbort();
  });
}

/**
 * Reads the rest of a body nobody wants, so the client can finish sending and read the answer
 * (cutting the connection would leave most clients with a reset instead of a status).
 */
function drain(source: Readable): void {
  source.on('error', () => {});
  source.resume();
}

/**
 * Node's HTTP parser hands every body chunk over in an ArrayBuffer of its own, outside the JS
 * heap. Left to the garbage collector, that memory makes V8 start a full mark-compact for every
 * 64 MB of it (about 25 per GiB uploaded, most of the CPU a large upload costs beyond the copy
 * itself). Detaching the buffer frees it at once. A chunk that is only a view into a larger
 * ArrayBuffer (a pooled buffer, say) is left alone: something else may use the rest.
 */
function releaseChunks(chunks: Buffer[]): void {
  for (const chunk of chunks) {
    const memory = chunk.buffer;
    if (
      !(memory instanceof ArrayBuffer) ||
      chunk.byteOffset !== 0 ||
      chunk.byteLength !== memory.byteLength
    ) {
      continue;
    }
    try {
      memory.transfer(0);
    } catch {
      // Not detachable: the garbage collector frees it as before.
    }
  }
}

async function writeAll(
  handle: Pick<AppendHandle, 'writev'>,
  buffers: Buffer[],
  position: number,
): Promise<void> {
  const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  const { bytesWritten } = await handle.writev(buffers, position);
  if (bytesWritten < total) {
    const rest = Buffer.concat(buffers).subarray(bytesWritten);
    await writeAll(handle, [rest], position + bytesWritten);
  }
}
