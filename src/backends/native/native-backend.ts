import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type ErrorCode, TusgateError } from '../../errors.ts';
import { refusalFor } from '../../refusals.ts';
import { sendError } from '../../tus/respond.ts';
import type { Backend, RequestContext } from '../types.ts';
import { processBodyBudget } from './body-budget.ts';
import type { NativeEnvironment } from './environment.ts';
import { handleCreate } from './handlers/create.ts';
import { handleDownload } from './handlers/download.ts';
import { handleHead } from './handlers/head.ts';
import { handleOptions } from './handlers/options.ts';
import { handlePatch } from './handlers/patch.ts';
import { handleTerminate } from './handlers/terminate.ts';
import { nativeError } from './storage-faults.ts';
import { isNativeUploadId } from './upload-id.ts';

/**
 * tus 1.0.0 served from a date-sharded store in this process: the protocol handlers in
 * `handlers/`, the bytes and info files in `store.ts`.
 */
export class NativeBackend implements Backend {
  readonly kind = 'native';
  readonly name: string;
  readonly #env: NativeEnvironment;

  constructor(env: NativeEnvironment) {
    this.name = env.backendName;
    this.#env = env;
    env.metrics.readBodyBuffered(() => processBodyBudget.held);
  }

  recognisesId(id: string): boolean {
    return isNativeUploadId(id);
  }

  async handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    ctx.backendName = this.name;
    const env = this.#env;
    const id = ctx.uploadId;
    try {
      switch (ctx.tus.method) {
        case 'OPTIONS':
          handleOptions(env, res);
          return;
        case 'POST':
          if (id !== null) throw methodNotAllowed('OPTIONS, HEAD, PATCH, DELETE, GET');
          await handleCreate(env, req, res, ctx);
          return;
        case 'HEAD':
          await handleHead(env, req, res, ctx, requireId(id));
          return;
        case 'PATCH':
          await handlePatch(env, req, res, ctx, requireId(id));
          return;
        case 'DELETE':
          await handleTerminate(env, req, res, ctx, requireId(id));
          return;
        case 'GET':
          await handleDownload(env, req, res, ctx, requireId(id));
          return;
        default:
          throw methodNotAllowed('OPTIONS, POST, HEAD, PATCH, DELETE, GET');
      }
    } catch (error) {
      const tusError = await nativeError(env.store, error);
      const fault = storageFaultKinds[tusError.code];
      if (fault) {
        // An operator's problem (a full or read-only volume), not a bug: logged and counted,
        // not sent to Sentry, where thousands of clients would each add one event.
        ctx.log.error({ err: error, uploadId: id, code: tusError.code }, 'upload store fault');
        env.metrics.backendErrors.inc({ route: env.routeName, backend: this.name, kind: fault });
      } else if (tusError.status >= 500) {
        ctx.log.error({ err: error, uploadId: id }, 'native backend failed');
        ctx.reportError(error, 'io');
        env.metrics.backendErrors.inc({ route: env.routeName, backend: this.name, kind: 'io' });
      } else {
        ctx.log.info({ code: tusError.code, uploadId: id }, tusError.message);
      }
      // Node reads and drops an unread body after the response, so the client sees the status.
      sendError(res, refusalFor(ctx.route.config, tusError), ctx.requestId);
    }
  }

  /**
   * Ready when the store root (and the hand-off folder) exist and a file can be created and removed
   * in each: `access(W_OK)` says yes on a read-only mount. A root that vanished is not recreated
   * (see `DateShardedStore.ensureRoot`).
   */
  async checkReady(): Promise<void> {
    const { store, log } = this.#env;
    try {
      if (await store.ensureRoot()) {
        log.warn({ store: store.name, root: store.root }, 'created the missing store root');
      }
    } catch (error) {
      if (!(error instanceof TusgateError)) throw error;
      throw new Error(`store root ${store.root} has vanished (unmounted or deleted?)`, {
        cause: error,
      });
    }
    await probeWritable(store.root);
    // Never created here: a missing hand-off folder is Galaxy's gone, not one to make up.
    if (store.handoffDir !== undefined) await probeWritable(store.handoffDir);
  }

  async close(): Promise<void> {}
}

const storageFaultKinds: Partial<Record<ErrorCode, string>> = {
  TUSGATE_ERR_STORAGE_FULL: 'storage_full',
  TUSGATE_ERR_STORAGE_UNAVAILABLE: 'storage_unavailable',
};

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

function requireId(id: string | null): string {
  if (id === null) throw methodNotAllowed('OPTIONS, POST');
  return id;
}

function methodNotAllowed(allow: string): TusgateError {
  return new TusgateError('TUSGATE_ERR_METHOD_NOT_ALLOWED', { headers: { Allow: allow } });
}
