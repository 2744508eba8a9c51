import { access, constants, mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TusgateError } from '../../errors.ts';
import type { Backend, RequestContext } from '../../gateway/context.ts';
import { refusalFor } from '../../gateway/refusals.ts';
import { sendError, toTusgateError } from '../../tus/respond.ts';
import type { NativeEnvironment } from './environment.ts';
import { handleCreate } from './handlers/create.ts';
import { handleDownload } from './handlers/download.ts';
import { handleHead } from './handlers/head.ts';
import { handleOptions } from './handlers/options.ts';
import { handlePatch } from './handlers/patch.ts';
import { handleTerminate } from './handlers/terminate.ts';
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
          await handleDownload(env, res, ctx, requireId(id));
          return;
        default:
          throw methodNotAllowed('OPTIONS, POST, HEAD, PATCH, DELETE, GET');
      }
    } catch (error) {
      const tusError = toTusgateError(error);
      if (tusError.status >= 500) {
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

  /** Ready when the store root (and the hand-off folder) exist and are writable. */
  async checkReady(): Promise<void> {
    const { store } = this.#env;
    for (const dir of [store.root, store.handoffDir]) {
      if (dir === undefined) continue;
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK);
    }
  }

  async close(): Promise<void> {}
}

function requireId(id: string | null): string {
  if (id === null) throw methodNotAllowed('OPTIONS, POST');
  return id;
}

function methodNotAllowed(allow: string): TusgateError {
  return new TusgateError('TUSGATE_ERR_METHOD_NOT_ALLOWED', { headers: { Allow: allow } });
}
