import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parseUploadMetadata } from '../backends/native/metadata.ts';
import { TusgateError } from '../errors.ts';
import { hookRequest } from '../hooks/payload.ts';
import type { HookUpload } from '../hooks/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ErrorReporter } from '../observability/sentry.ts';
import { AuthFailure, headerValue } from './auth/types.ts';
import type { Backend, RequestContext } from './context.ts';
import { clientInfo } from './forwarded.ts';
import { refusalFor } from './refusals.ts';
import { requestIdFor } from './request-id.ts';
import { sendError, TUS_VERSION, toTusgateError } from './respond.ts';
import { type CompiledRoute, matchRoute, splitTarget } from './routing.ts';
import { parseUploadPath } from './upload-path.ts';

const allowedMethods = new Set(['OPTIONS', 'POST', 'HEAD', 'PATCH', 'DELETE', 'GET']);
const allowHeader = [...allowedMethods].join(', ');

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
    ctx: RequestContext,
  ) => Promise<Backend>;
  /**
   * Called when a proxied backend created an upload; the client sees the 201 once the returned
   * promise settles, so the affinity entry exists before the client's next request can arrive.
   */
  onCreated?: (ctx: RequestContext, backend: Backend, id: string) => Promise<void>;
}

/**
 * One request, in order: request id, method override and allow-list, route, upload id check,
 * CORS, tus version check, authentication, backend choice (with ownership), and the backend. Every failure before the backend becomes
 * a tus-style 4xx; nothing here buffers a body.
 */
export function createPipeline(deps: PipelineDeps) {
  return async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const state = deps.state();
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Content-Type-Options', 'nosniff');

    const override = req.headers['x-http-method-override'];
    if (req.method === 'POST' && typeof override === 'string' && override !== '') {
      req.method = override.toUpperCase();
    }
    const method = req.method ?? 'GET';
    // Labels and tags name only methods tusgate serves: anything else is `other`.
    const methodLabel = allowedMethods.has(method) ? method : 'other';
    const { path, search } = splitTarget(req.url ?? '/');
    const client = clientInfo(req, state.trustedProxies);
    const log = deps.log.child({ requestId });
    let ctx: RequestContext | undefined;
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
      if (!allowedMethods.has(method)) {
        throw new TusgateError('TUSGATE_ERR_METHOD_NOT_ALLOWED', {
          headers: { Allow: allowHeader },
        });
      }
      const match = matchRoute(state.routes, req, path);
      if (!match) throw new TusgateError('TUSGATE_ERR_ROUTE_NOT_FOUND');
      matchedRoute = match.route.name;
      const uploadPath = parseUploadPath(match.rest);
      if (uploadPath.kind === 'invalid') throw new TusgateError('TUSGATE_ERR_UPLOAD_NOT_FOUND');
      const publicOrigin = `${client.proto}://${client.host}`;
      if (match.route.cors?.apply(req, res, publicOrigin)) return;

      // GET and HEAD are exempt, as in tusd: a browser visiting an upload URL sends no tus header.
      // Requests in the IETF resumable-upload draft carry no Tus-Resumable either; backends judge them.
      const isTusV1 = req.headers['upload-draft-interop-version'] === undefined;
      if (
        isTusV1 &&
        method !== 'OPTIONS' &&
        method !== 'GET' &&
        method !== 'HEAD' &&
        req.headers['tus-resumable'] !== TUS_VERSION
      ) {
        throw new TusgateError('TUSGATE_ERR_UNSUPPORTED_VERSION');
      }

      // Every method but OPTIONS (discovery carries no credentials in browsers) is authenticated.
      const authenticator = match.route.authenticator;
      if (authenticator && method !== 'OPTIONS') {
        const routeLabel = { route: match.route.name };
        try {
          const success = await authenticator.authenticate(req, {
            uploadId: uploadPath.kind === 'upload' ? uploadPath.id : null,
            clientAddress: client.address,
            uri: req.url ?? '/',
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

      ctx = {
        requestId,
        route: match.route,
        uploadId: uploadPath.kind === 'upload' ? uploadPath.id : null,
        search,
        publicOrigin,
        client,
        principal,
        log,
        bytesReceived: 0,
        bytesSent: 0,
        lifecycle: { created: false, finished: false, terminated: false },
        reportError,
      };
      const backend = await deps.selectBackend(match.route, req, ctx);
      const onCreated = deps.onCreated;
      if (onCreated) {
        const created = ctx;
        created.onUploadCreated = (id) => onCreated(created, backend, id);
      }
      if (method === 'PATCH' || (method === 'POST' && carriesBody(req))) {
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
 * What tusgate saw a legacy backend do, for hook sinks with `observeLegacy` (the legacy server
 * runs its own hooks; these are marked `"Observed": true`).
 */
function emitObservedHooks(req: IncomingMessage, ctx: RequestContext, backend: Backend): void {
  const hooks = ctx.route.hooks;
  const { created, finished, terminated } = ctx.lifecycle;
  if (!created && !finished && !terminated) return;
  const id = ctx.uploadId ?? ctx.createdUploadId;
  if (!id) return;
  const length = ctx.uploadLength ?? null;
  const concat = headerValue(req, 'upload-concat') ?? '';
  const upload: HookUpload = {
    ID: id,
    Size: length ?? 0,
    SizeIsDeferred: length === null,
    Offset: finished && length !== null ? length : 0,
    MetaData: created ? (parseUploadMetadata(headerValue(req, 'upload-metadata')) ?? {}) : {},
    IsPartial: concat === 'partial',
    IsFinal: concat.startsWith('final;'),
    PartialUploads: null,
    Storage: { Type: 'observed', Backend: backend.name },
  };
  const request = hookRequest(req, ctx);
  if (created) hooks.observed('post-create', upload, request);
  if (finished) hooks.observed('post-finish', upload, request);
  if (terminated) hooks.observed('post-terminate', upload, request);
}

function carriesBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
