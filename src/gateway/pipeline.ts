import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Backend } from '../backends/types.ts';
import { TusgateError } from '../errors.ts';
import { hookRequest, hookUploadFromRequest } from '../hooks/payload.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ErrorReporter } from '../observability/sentry.ts';
import { refusalFor } from '../refusals.ts';
import { TUS_METHODS } from '../tus/constants.ts';
import { checkTusResumable } from '../tus/headers/tus-resumable.ts';
import { effectiveMethod, isTusMethod, parseTusRequest } from '../tus/request.ts';
import { sendError, toTusgateError } from '../tus/respond.ts';
import { parseUploadPath } from '../tus/upload-url.ts';
import { AuthFailure } from './auth/types.ts';
import { continueRequest } from './continue.ts';
import { clientInfo } from './forwarded.ts';
import { requestIdFor } from './request-id.ts';
import {
  type CompiledRoute,
  type GatewayRequestContext,
  matchRoute,
  splitTarget,
} from './routing.ts';

const allowHeader = TUS_METHODS.join(', ');

/** The routing table a request is served with; replaced as a whole on reload. */
export interface RuntimeState {
  readonly routes: readonly CompiledRoute[];
  readonly trustedProxies: ReadonlySet<string>;
}

export interface PipelineDeps {
  state: () => RuntimeState;
  log: Logger;
  metrics: Metrics;
  errors: ErrorReporter;
  /** Picks the backend for a request of an existing upload or a creation. */
  selectBackend: (
    route: CompiledRoute,
    req: IncomingMessage,
    ctx: GatewayRequestContext,
  ) => Promise<Backend>;
  /**
   * Called when a proxied backend created an upload; the client sees the 201 once the returned
   * promise settles, so the affinity entry exists before the client's next request can arrive.
   */
  onCreated?: (ctx: GatewayRequestContext, backend: Backend, id: string) => Promise<void>;
}

/**
 * One request, in this order (each step's failure wins over every later one):
 *  1. request id (a trusted proxy's, else a new one); the effective method (`X-HTTP-Method-Override`) and its allow-list — 405
 *  2. Host / trusted X-Forwarded-Host well-formed — 400
 *  3. route — 404; upload id in the path — 404 (a traversal attempt is never a path)
 *  4. every tus header parsed once into `ctx.tus` (errors held back, see 7)
 *  5. CORS (preflights end here)
 *  6. Tus-Resumable on every method but OPTIONS (a GET or HEAD may leave it out) — 412
 *  7. authentication on every method but OPTIONS — 401/403; then the held-back header error — 400/415
 *  8. backend choice (ownership: another principal's upload is a 404), then the backend.
 * Every failure before the backend becomes a tus-style 4xx; nothing here buffers a body. The
 * method on the wire (`req.method`) is never changed: Node frames the response by it.
 */
export function createPipeline(deps: PipelineDeps) {
  return async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const state = deps.state();
    const client = clientInfo(req, state.trustedProxies);
    const requestId = requestIdFor(client.peerIsTrusted ? req.headers['x-request-id'] : undefined);
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Content-Type-Options', 'nosniff');

    const method = effectiveMethod(req);
    // Labels and tags name only methods tusgate serves: anything else is `other`.
    const methodLabel = isTusMethod(method) ? method : 'other';
    const { path, search } = splitTarget(req.url ?? '/');
    const log = deps.log.child({ requestId });
    let ctx: GatewayRequestContext | undefined;
    let errorCode: string | undefined;
    let authReason: string | undefined;
    let principal: string | null = null;
    let matchedRoute: string | undefined;
    let servedBy: Backend | undefined;
    let receivingData: { route: string; backend: string } | undefined;
    const reportError = (error: unknown, kind?: string) =>
      deps.errors.report(error, {
        route: ctx?.route.name ?? matchedRoute,
        backend: ctx?.backendName,
        method: methodLabel,
        requestId,
        kind,
      });

    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const routeName = ctx?.route.name ?? matchedRoute ?? 'none';
      const backend = ctx?.backendName ?? 'none';
      const canary = ctx?.route.canary;
      // A request whose client left before any answer was sent has no status of its own: 499,
      // as nginx logs it. It says nothing about the backend, so the canary does not count it.
      const status = res.headersSent ? res.statusCode : 499;
      if (canary && backend === canary.config.backend && res.headersSent) {
        canary.recordOutcome(status);
      }
      deps.metrics.observeRequest(
        { route: routeName, backend, method: methodLabel },
        status,
        seconds,
      );
      if (ctx && ctx.bytesReceived > 0) {
        deps.metrics.bytesReceived.inc({ route: routeName, backend }, ctx.bytesReceived);
      }
      if (ctx && ctx.bytesSent > 0) {
        deps.metrics.bytesSent.inc({ route: routeName, backend }, ctx.bytesSent);
      }
      if (receivingData) deps.metrics.activeUploads.dec(receivingData);
      const lifecycle = ctx?.lifecycle;
      if (lifecycle?.created) deps.metrics.uploadsCreated.inc({ route: routeName, backend });
      if (lifecycle?.finished) deps.metrics.uploadsFinished.inc({ route: routeName, backend });
      if (lifecycle?.terminated) deps.metrics.uploadsTerminated.inc({ route: routeName, backend });
      if (ctx && servedBy?.kind === 'proxy') emitObservedHooks(req, ctx, servedBy);
      log.info(
        {
          method,
          route: routeName,
          backend,
          uploadId: ctx?.uploadId ?? ctx?.createdUploadId,
          status,
          completed: res.writableFinished,
          bytesIn: ctx?.bytesReceived ?? 0,
          bytesOut: ctx?.bytesSent ?? 0,
          durationMs: Math.round(seconds * 1000),
          client: client.address,
          principal: principal ?? undefined,
          auth: authReason,
          error: errorCode,
        },
        'request',
      );
    });

    try {
      if (!isTusMethod(method)) {
        throw new TusgateError('TUSGATE_ERR_METHOD_NOT_ALLOWED', {
          headers: { Allow: allowHeader },
        });
      }
      if (!client.hostIsValid) throw new TusgateError('TUSGATE_ERR_INVALID_HOST');
      const match = matchRoute(state.routes, req, path);
      if (!match) throw new TusgateError('TUSGATE_ERR_ROUTE_NOT_FOUND');
      matchedRoute = match.route.name;
      const uploadPath = parseUploadPath(match.rest);
      if (uploadPath.kind === 'invalid') throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND');
      const uploadId = uploadPath.kind === 'upload' ? uploadPath.id : null;
      const publicOrigin = `${client.proto}://${client.host}`;
      const tus = parseTusRequest(req, method, {
        origins: [publicOrigin],
        basePath: match.route.publicBase,
      });
      if (match.route.cors?.apply(req, res, publicOrigin)) return;

      checkTusResumable(tus.version, method);

      // Every method but OPTIONS (discovery carries no credentials in browsers) is authenticated.
      const authenticator = match.route.authenticator;
      if (authenticator && method !== 'OPTIONS') {
        const routeLabel = { route: match.route.name };
        try {
          const success = await authenticator.authenticate(req, {
            uploadId,
            clientAddress: client.address,
            uri: req.url ?? '/',
            tus,
          });
          principal = success.principal;
          authReason = success.reason;
          deps.metrics.authDecisions.inc({
            ...routeLabel,
            result: 'allowed',
            reason: success.reason,
          });
        } catch (error) {
          const reason = error instanceof AuthFailure ? error.reason : 'unavailable';
          authReason = reason;
          const result = reason === 'unavailable' ? 'error' : 'denied';
          deps.metrics.authDecisions.inc({ ...routeLabel, result, reason });
          throw error instanceof AuthFailure
            ? error
            : new AuthFailure('TUSGATE_ERR_AUTH_UNAVAILABLE', 'unavailable', { cause: error });
        }
      }
      if (clientLeft(res, log, 'authentication')) return;
      if (tus.problem) throw tus.problem;

      ctx = {
        requestId,
        route: match.route,
        tus,
        uploadId,
        search,
        publicOrigin,
        client,
        principal,
        log,
        bytesReceived: 0,
        bytesSent: 0,
        lifecycle: { created: false, finished: false, terminated: false },
        continue: () => continueRequest(req, res),
        reportError,
      };
      const backend = await deps.selectBackend(match.route, req, ctx);
      if (clientLeft(res, log, 'the owner lookup')) return;
      const onCreated = deps.onCreated;
      if (onCreated) {
        const created = ctx;
        created.onUploadCreated = (id) => onCreated(created, backend, id);
      }
      if (method === 'PATCH' || (method === 'POST' && tus.hasBody)) {
        receivingData = { route: match.route.name, backend: backend.name };
        deps.metrics.activeUploads.inc(receivingData);
      }
      servedBy = backend;
      await backend.handle(req, res, ctx);
    } catch (error) {
      const tusError = toTusgateError(error);
      errorCode = tusError.code;
      if (tusError.status >= 500) {
        log.error({ err: error }, 'request failed');
        reportError(error, 'gateway');
      }
      const route = state.routes.find((candidate) => candidate.name === matchedRoute);
      sendError(res, refusalFor(route?.config, tusError), requestId);
    }
  };
}

/**
 * A client that went away while an await ran (authentication, the owner lookup) is not served:
 * the close listeners that release a body slot or cut an upstream request are attached later, and
 * would never fire for a connection already closed.
 */
function clientLeft(res: ServerResponse, log: Logger, during: string): boolean {
  if (!res.destroyed) return false;
  log.info({ during }, 'client went away before the backend was asked');
  return true;
}

/**
 * What tusgate saw a legacy backend do, for hook sinks with `observeLegacy` (the legacy server
 * runs its own hooks; these are marked `"Observed": true`).
 */
function emitObservedHooks(
  req: IncomingMessage,
  ctx: GatewayRequestContext,
  backend: Backend,
): void {
  const hooks = ctx.route.hooks;
  const { created, finished, terminated } = ctx.lifecycle;
  if (!created && !finished && !terminated) return;
  const id = ctx.uploadId ?? ctx.createdUploadId;
  if (!id) return;
  const length = ctx.uploadLength ?? null;
  const upload = hookUploadFromRequest(ctx.tus, {
    id,
    size: length,
    offset: finished && length !== null ? length : 0,
    withMetadata: created,
    storage: { Type: 'observed', Backend: backend.name },
  });
  const request = hookRequest(req, ctx);
  if (created) hooks.observed('post-create', upload, request);
  if (finished) hooks.observed('post-finish', upload, request);
  if (terminated) hooks.observed('post-terminate', upload, request);
}
