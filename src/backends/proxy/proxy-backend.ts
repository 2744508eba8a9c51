import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import { Pool } from 'undici';
import type { ProxyBackendConfig } from '../../config/schema/index.ts';
import { ownershipUnavailable, TusgateError } from '../../errors.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { refusalFor } from '../../refusals.ts';
import { TUS_VERSION } from '../../tus/constants.ts';
import { checkMaxSize, combinedMaxSize } from '../../tus/max-size.ts';
import { isBodiless, type TusRequest } from '../../tus/request.ts';
import { sendError, toTusgateError } from '../../tus/respond.ts';
import { readTusResponse } from '../../tus/response.ts';
import { serializeTusRequestHeaders } from '../../tus/serialize.ts';
import { isValidUploadId } from '../../tus/upload-url.ts';
import type { Backend, RequestContext } from '../types.ts';
import { BodyLimiter } from './body-limiter.ts';
import { ForwardHandler, type ForwardOutcome } from './forward-handler.ts';
import { HeadForwarder } from './head-forwarder.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import { LearnedLengths } from './learned-lengths.ts';
import { upstreamBody } from './request-body.ts';
import { UrlMapper } from './url-mapping.ts';

export interface ProxyBackendOptions {
  name: string;
  routeName: string;
  publicBase: string;
  config: ProxyBackendConfig;
  metrics: Metrics;
}

/**
 * Forwards tus requests to a legacy tus server (tusd, rustus, @tus/server) over keep-alive pools.
 * undici's Pool queues a request until one of its connections is free, and an upload body holds
 * its connection for as long as the client takes to send it; so upload bodies get a pool of their
 * own, and every other request one that slow uploads cannot fill (HEAD: its own agent; GET
 * downloads, which a slow reader holds as long, a third pool). Bodies beyond the body pool's
 * size, or beyond one client address's share of it, are refused rather than queued; so are
 * downloads beyond one address's share of the download pool (the rest queue for a connection).
 */
export class ProxyBackend implements Backend {
  readonly kind = 'proxy' as const;
  readonly name: string;
  readonly mapper: UrlMapper;
  private readonly bodyPool: Pool;
  private readonly controlPool: Pool;
  private readonly downloadPool: Pool;
  private readonly bodies: BodyLimiter;
  private readonly downloads: BodyLimiter;
  private readonly headForwarder: HeadForwarder;
  private readonly learnedLengths = new LearnedLengths();
  private readonly config: ProxyBackendConfig;
  private readonly metrics: Metrics;
  private readonly routeName: string;

  constructor(options: ProxyBackendOptions) {
    this.name = options.name;
    this.config = options.config;
    this.metrics = options.metrics;
    this.routeName = options.routeName;
    this.mapper = new UrlMapper(options.config.url, options.publicBase);
    const { connections, controlConnections, limits } = options.config;
    this.bodyPool = this.createPool(connections);
    this.controlPool = this.createPool(controlConnections);
    this.downloadPool = this.createPool(controlConnections);
    this.bodies = new BodyLimiter({ total: connections, perClient: limits.bodiesPerClient });
    // Only the share per address: downloads beyond the pool's size wait for a connection.
    this.downloads = new BodyLimiter({
      total: Number.POSITIVE_INFINITY,
      perClient: limits.downloadsPerClient,
    });
    this.headForwarder = new HeadForwarder(options.config.url, {
      connections: controlConnections,
      idleTimeoutMs: options.config.idleTimeout,
      connectTimeoutMs: options.config.connectTimeout,
    });
  }

  private createPool(connections: number): Pool {
    return new Pool(this.config.url.origin, {
      connections,
      pipelining: 1,
      connect: { timeout: this.config.connectTimeout },
      // The forward handler's timers own idleness; undici's own timers would cut long PATCHes.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
      strictContentLength: true,
    });
  }

  recognisesId(): boolean {
    return true;
  }

  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    ctx.backendName = this.name;
    const tus = ctx.tus;
    const method = tus.method;
    try {
      checkMaxSize(tus, ctx.route.config.maxSize);
    } catch (error) {
      sendError(res, refusalFor(ctx.route.config, toTusgateError(error)), ctx.requestId);
      return Promise.resolve();
    }
    const withBody = !isBodiless(method) && tus.hasBody;
    const headers = upstreamRequestHeaders(req.headers, {
      gatewayCors: ctx.route.cors !== undefined,
      withBody,
    });
    Object.assign(
      headers,
      serializeTusRequestHeaders(tus, (id) => this.mapper.backendPath(id)),
    );
    headers['x-forwarded-for'] = ctx.client.forwardedFor;
    headers['x-forwarded-proto'] = ctx.client.proto;
    headers['x-forwarded-host'] = ctx.client.host;
    headers['x-request-id'] = ctx.requestId;

    // OPTIONS is asked of the collection: its answer must not depend on the id (see placement).
    const id = method === 'OPTIONS' ? '' : (ctx.uploadId ?? '');
    const path = `${this.mapper.backendBasePath}${id}${ctx.search}`;
    const labels = { route: this.routeName, backend: this.name };

    let createdAtBackend: string | undefined;
    const rewriteHeaders = (status: number, upstream: IncomingHttpHeaders) => {
      observeLifecycle(status, upstream, ctx, this.learnedLengths);
      const headers = this.rewriteResponseHeaders(status, upstream, ctx);
      if (method === 'POST' && status === 201) {
        createdAtBackend = this.recordCreation(upstream.location, ctx);
      }
      return headers;
    };
    // The owner could not be recorded: the upload must not outlive this answer.
    const refuse = async (reason: unknown) => {
      ctx.lifecycle.created = false;
      ctx.lifecycle.finished = false;
      ctx.log.error(
        { err: reason, backend: this.name, uploadId: ctx.createdUploadId },
        'upload owner not recorded: creation refused',
      );
      ctx.reportError(reason, 'ownership');
      await this.terminateCreated(createdAtBackend, ctx);
      if (!res.destroyed) sendError(res, ownershipUnavailable(reason), ctx.requestId);
    };
    const onError = (error: TusgateError) => {
      if (error.status < 500) ctx.log.info({ code: error.code }, error.message);
      else ctx.log.warn({ err: error.cause, backend: this.name }, 'backend request failed');
      sendError(res, refusalFor(ctx.route.config, error), ctx.requestId);
    };
    const record = (outcome: ForwardOutcome) => {
      if (outcome.kind === 'backend-error') {
        this.metrics.backendErrors.inc({ ...labels, kind: outcome.errorKind });
        ctx.reportError(outcome.error.cause ?? outcome.error, outcome.errorKind);
      }
    };

    if (method === 'HEAD') {
      return this.headForwarder
        .forward({ path, headers, res, rewriteHeaders, onError })
        .then(record);
    }
    let releaseSlot: (() => void) | undefined;
    if (method === 'GET') {
      const admission = this.downloads.admit(ctx.client.address);
      if (!admission.admitted) {
        this.refuseDownload(res, ctx);
        return Promise.resolve();
      }
      releaseSlot = admission.release;
      res.once('close', releaseSlot);
    } else if (withBody) {
      // Before the body is piped anywhere: a refused body is left for the gateway to drain.
      const admission = this.bodies.admit(ctx.client.address);
      if (!admission.admitted) {
        this.refuseBody(res, ctx, admission.reason);
        return Promise.resolve();
      }
      releaseSlot = admission.release;
      res.once('close', releaseSlot);
    }
    // Admitted, owner checked: a client waiting on Expect may send its body now (the backend
    // never sees Expect: Node answers the interim response here, not upstream).
    if (withBody) ctx.continue();
    const body = withBody
      ? upstreamBody(req, undeclaredBodyLimit(tus, ctx.route.config.maxSize))
      : null;
    const pool =
      body !== null ? this.bodyPool : method === 'GET' ? this.downloadPool : this.controlPool;
    return new Promise<void>((resolve) => {
      const handler = new ForwardHandler({
        req,
        res,
        body,
        idleTimeoutMs: this.config.idleTimeout,
        bodyIdleTimeoutMs: this.config.bodyIdleTimeout,
        rewriteHeaders,
        beforeResponse: () => ctx.creationRecorded,
        refuse,
        onError,
        onClientStalled: (error) => {
          ctx.log.info({ backend: this.name }, 'upload body stalled; ended it');
          this.metrics.proxyBodiesStalled.inc(labels);
          sendError(res, error, ctx.requestId);
        },
        onRequestBytes: (count) => {
          ctx.bytesReceived += count;
        },
        onResponseBytes: (count) => {
          ctx.bytesSent += count;
        },
        done: (outcome) => {
          releaseSlot?.();
          record(outcome);
          resolve();
        },
      });
      pool.dispatch({ origin: this.config.url.origin, path, method, headers, body }, handler);
    });
  }

  /**
   * Refused before the body is read: after the answer the gateway reads and drops the rest for a
   * few seconds (gateway/early-answer.ts), so the client reads the 429/503 rather than a reset.
   */
  private refuseBody(
    res: ServerResponse,
    ctx: RequestContext,
    reason: 'client_limit' | 'backend_busy',
  ): void {
    this.metrics.proxyBodiesRefused.inc({ route: this.routeName, backend: this.name, reason });
    ctx.log.info({ backend: this.name, reason }, 'upload body refused');
    const code = reason === 'client_limit' ? 'TUSGATE_ERR_TOO_MANY_UPLOADS' : 'TUSGATE_ERR_BUSY';
    const retryAfter = String(Math.ceil(this.config.limits.retryAfter / 1000));
    sendError(
      res,
      new TusgateError(code, { headers: { 'Retry-After': retryAfter } }),
      ctx.requestId,
    );
  }

  private refuseDownload(res: ServerResponse, ctx: RequestContext): void {
    this.metrics.proxyDownloadsRefused.inc({ route: this.routeName, backend: this.name });
    ctx.log.info({ backend: this.name, reason: 'client_limit' }, 'download refused');
    const retryAfter = String(Math.ceil(this.config.limits.retryAfter / 1000));
    sendError(
      res,
      new TusgateError('TUSGATE_ERR_TOO_MANY_DOWNLOADS', {
        headers: { 'Retry-After': retryAfter },
      }),
      ctx.requestId,
    );
  }

  private rewriteResponseHeaders(
    status: number,
    upstream: IncomingHttpHeaders,
    ctx: RequestContext,
  ): OutgoingHttpHeaders {
    const headers = clientResponseHeaders(upstream, ctx.route.cors !== undefined);
    const location = upstream.location;
    if (typeof location === 'string') {
      const id = this.mapper.idFromBackendUrl(location, ctx.publicOrigin);
      if (id !== undefined) {
        headers.location = this.mapper.publicUrl(id, ctx.publicOrigin);
        if (status === 201) ctx.createdUploadId = id;
      } else {
        // Never passed on as sent: it would name the backend, or something the client reads
        // differently from the gateway.
        delete headers.location;
        ctx.log.warn({ backend: this.name }, 'backend sent a Location that is not an upload URL');
      }
    }
    const answer = readTusResponse(upstream);
    const concat = answer.concat;
    if (concat !== undefined) {
      const mapped = this.mapper.concatToPublic(concat, ctx.publicOrigin);
      if (mapped !== undefined) headers['upload-concat'] = mapped;
      else {
        delete headers['upload-concat'];
        ctx.log.warn({ backend: this.name }, 'backend sent an Upload-Concat that does not parse');
      }
    }
    if (ctx.tus.method === 'OPTIONS') {
      const maxSize = combinedMaxSize(answer.maxSize, ctx.route.config.maxSize);
      if (maxSize === undefined) delete headers['tus-max-size'];
      else headers['tus-max-size'] = maxSize;
    }
    // An answer to a HEAD has no body; sent for a POST overridden to HEAD, it must say so.
    if (ctx.tus.method === 'HEAD' && ctx.tus.wireMethod !== 'HEAD') headers['content-length'] = '0';
    headers['x-request-id'] = ctx.requestId;
    return headers;
  }

  /**
   * Puts a new upload's owner on record before its 201 leaves (see RequestContext.onUploadCreated).
   * A creation whose id cannot be told from its Location is refused like a failed record. Returns
   * the id the backend made, to terminate it if the record fails.
   */
  private recordCreation(
    upstreamLocation: string | undefined,
    ctx: RequestContext,
  ): string | undefined {
    const id = ctx.createdUploadId;
    const onUploadCreated = ctx.onUploadCreated;
    if (!onUploadCreated) return id;
    if (id === undefined) {
      ctx.creationRecorded = Promise.reject(
        new Error('the backend answered 201 with no Location under its base path'),
      );
      return lastSegment(upstreamLocation);
    }
    ctx.creationRecorded = (async () => onUploadCreated(id))();
    return id;
  }

  /** Deletes an upload this request created at the backend; failures are logged. */
  private async terminateCreated(id: string | undefined, ctx: RequestContext): Promise<void> {
    const log = ctx.log.child({ backend: this.name, uploadId: id });
    if (id === undefined || !isValidUploadId(id)) {
      log.error('cannot terminate the upload the backend created: its id is unknown');
      return;
    }
    try {
      const response = await this.controlPool.request({
        path: `${this.mapper.backendBasePath}${id}`,
        method: 'DELETE',
        headers: { 'tus-resumable': '1.0.0', 'x-request-id': ctx.requestId },
        headersTimeout: this.config.idleTimeout,
        bodyTimeout: this.config.idleTimeout,
      });
      await response.body.dump();
      if (response.statusCode !== 204 && response.statusCode !== 404) {
        log.error({ status: response.statusCode }, 'terminating an unowned upload failed');
      } else {
        log.info('terminated an upload whose owner could not be recorded');
      }
    } catch (error) {
      log.error({ err: error }, 'terminating an unowned upload failed');
    }
  }

  async checkReady(): Promise<void> {
    const response = await this.controlPool.request({
      path: this.mapper.backendBasePath,
      method: 'OPTIONS',
      headers: { 'tus-resumable': TUS_VERSION },
      headersTimeout: 2_000,
      bodyTimeout: 2_000,
    });
    await response.body.dump();
    if (response.statusCode >= 500) {
      throw new Error(`OPTIONS ${this.config.url.href} answered ${response.statusCode}`);
    }
  }

  async close(): Promise<void> {
    this.headForwarder.close();
    await Promise.all([this.bodyPool.close(), this.controlPool.close(), this.downloadPool.close()]);
  }
}

/**
 * What a legacy server did to an upload, read from its answer: it does not tell us otherwise.
 * "Finished" needs the upload's length: from this request (creation, deferred length), from the
 * affinity table (the creation, or the PATCH that declared a deferred length), or, for an upload
 * the table does not know, from the backend's last HEAD answer.
 */
function observeLifecycle(
  status: number,
  upstream: IncomingHttpHeaders,
  ctx: RequestContext,
  learned: LearnedLengths,
): void {
  const { method, uploadLength, concat } = ctx.tus;
  if (method === 'DELETE' && status === 204) {
    ctx.lifecycle.terminated = true;
    return;
  }
  if (method === 'HEAD' && status === 200) {
    learnLength(ctx, readTusResponse(upstream).uploadLength, learned);
    return;
  }
  const isCreation = method === 'POST' && status === 201;
  if (!isCreation && !(method === 'PATCH' && status === 204)) return;
  if (isCreation) {
    if (uploadLength !== undefined) ctx.uploadLength = uploadLength;
    ctx.lifecycle.created = true;
  } else {
    learnLength(ctx, uploadLength, learned);
    if (ctx.uploadLength == null && ctx.uploadId !== null) {
      ctx.uploadLength = learned.get(ctx.uploadId);
    }
  }
  const offset = readTusResponse(upstream).uploadOffset ?? (isCreation ? 0 : undefined);
  if (concat.kind === 'final' && isCreation) ctx.lifecycle.finished = true;
  else if (offset !== undefined && ctx.uploadLength != null && offset === ctx.uploadLength) {
    ctx.lifecycle.finished = true;
    if (ctx.uploadId !== null) learned.delete(ctx.uploadId);
  }
}

/** A length the owner table did not have: kept on record when it can be, else in memory. */
function learnLength(ctx: RequestContext, length: number | undefined, learned: LearnedLengths) {
  const id = ctx.uploadId;
  if (length === undefined || id === null || ctx.uploadLength != null) return;
  ctx.uploadLength = length;
  const record = ctx.recordUploadLength;
  if (record === undefined) {
    learned.set(id, length);
    return;
  }
  // Only for metrics and observed hooks: a failed record is logged, the request goes on.
  record(length).catch((error: unknown) =>
    ctx.log.warn({ err: error, uploadId: id }, 'upload length not recorded'),
  );
}

function lastSegment(location: string | undefined): string | undefined {
  if (location === undefined) return undefined;
  try {
    const path = new URL(location, 'http://backend.invalid').pathname;
    return path.slice(path.lastIndexOf('/') + 1) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * How much of a body with no declared length may pass on a route with `maxSize` (a declared one
 * was judged before the backend was asked).
 */
function undeclaredBodyLimit(tus: TusRequest, maxSize: number | undefined): number | undefined {
  if (maxSize === undefined || tus.contentLength !== undefined) return undefined;
  return Math.max(0, maxSize - (tus.method === 'PATCH' ? (tus.uploadOffset ?? 0) : 0));
}
