import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { TUS_VERSION } from '../../../tus/constants.ts';
import type { RequestContext } from '../../types.ts';
import { assembleFinal } from '../assemble.ts';
import type { NativeEnvironment } from '../environment.ts';
import { isFinished, loadUpload } from '../upload-access.ts';

/** GET: the bytes received so far, as an attachment (never rendered inline by a browser). */
export async function handleDownload(
  env: NativeEnvironment,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  id: string,
): Promise<void> {
  let { info, offset } = await loadUpload(env, ctx, id);
  if (info.IsFinal && !isFinished(info, offset)) {
    // As HEAD does: mend an assembly a dead process left undone.
    await assembleFinal(env, req, ctx, id, 0);
    ({ info, offset } = await loadUpload(env, ctx, id));
  }
  const filename = (info.MetaData.filename ?? id).replace(/[^A-Za-z0-9._-]/g, '_');
  res.writeHead(200, {
    'Tus-Resumable': TUS_VERSION,
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(offset),
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': 'no-store',
  });
  if (offset === 0) {
    res.end();
    return;
  }
  let sent = 0;
  // Ended here, not by the pipeline: a body cut short must never end as a complete response.
  const failure = await env.store.read(id, offset).then(
    (source) => {
      source.on('data', (chunk) => {
        sent += chunk.length;
        ctx.bytesSent += chunk.length;
      });
      return pipeline(source, res, { end: false }).then(
        () =>
          sent < offset
            ? new Error(`the upload's data ended after ${sent} of ${offset} bytes (cut short)`)
            : undefined,
        (error: unknown) => error,
      );
    },
    // The store could not start the read (an object store's request failed): a read failure.
    (error: unknown) => readFailure(error),
  );
  if (failure === undefined) {
    res.end();
    return;
  }
  if (!isReadFailure(failure)) {
    // The client went away: nothing wrong with the store.
    ctx.log.debug({ err: failure, uploadId: id }, 'download interrupted');
    return;
  }
  ctx.log.error({ err: failure, uploadId: id, sent, length: offset }, 'download read failed');
  ctx.reportError(failure, 'io');
  env.metrics.backendErrors.inc({ route: env.routeName, backend: env.backendName, kind: 'read' });
  // The client sees a response cut short, not a complete one.
  res.destroy(failure instanceof Error ? failure : new Error(String(failure)));
}

/** Marks an error the store threw as its own read failure, whatever its code. */
function readFailure(error: unknown): Error {
  return new Error('the store could not read the upload', { cause: error });
}

/** The data file failed (opening or reading it, or it was cut short), not the client's socket. */
function isReadFailure(error: unknown): boolean {
  const { code, syscall } = error as NodeJS.ErrnoException;
  return code === undefined || syscall === 'open' || syscall === 'read';
}
