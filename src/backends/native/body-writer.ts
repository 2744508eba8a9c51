import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** While a write is in flight, at most this much more is received before the socket pauses. */
const batchBytes = 256 * 1024;

export interface BodyWriteResult {
  /** Bytes of the body now on disk (at most `limit`). */
  written: number;
  /** The body had more bytes than `limit`; the excess was read and dropped. */
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
}

/**
 * Appends a request body to a file at `position`, with backpressure and bounded memory: what
 * arrives while a write is in flight is written next, in one `writev`; the socket is paused when
 * that batch is full. Nothing waits in memory for more to arrive (slow clients cost no memory). Chunks are
 * taken from 'data' events as the socket delivers them (an async iterator's `read()` would copy
 * them into one buffer first). A client that disconnects keeps what it sent; a write failure
 * rejects.
 */
export function writeBody(
  source: Readable,
  handle: FileHandle,
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

    const settle = () => {
      options.signal?.removeEventListener('abort', onAbort);
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
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
      const buffers = pending;
      const size = pendingSize;
      const at = position;
      pending = [];
      pendingSize = 0;
      position += size;
      writing = true;
      writeAll(handle, buffers, at).then(
        () => {
          written += size;
          writing = false;
          if (!ended && source.isPaused()) source.resume();
          pump();
        },
        (error: unknown) => {
          writeError = error;
          writing = false;
          source.destroy();
          ended = true;
          pump();
        },
      );
    };

    const onData = (received: Buffer) => {
      let chunk = received;
      if (remaining === 0) {
        if (chunk.length > 0) overflowed = true;
        return;
      }
      if (chunk.length > remaining) {
        chunk = chunk.subarray(0, remaining);
        overflowed = true;
      }
      remaining -= chunk.length;
      options.onChunk?.(chunk);
      pending.push(chunk);
      pendingSize += chunk.length;
      if (!writing) pump();
      else if (pendingSize >= batchBytes) source.pause();
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
  });
}

async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  const { bytesWritten } = await handle.writev(buffers, position);
  if (bytesWritten < total) {
    const rest = Buffer.concat(buffers).subarray(bytesWritten);
    await writeAll(handle, [rest], position + bytesWritten);
  }
}
