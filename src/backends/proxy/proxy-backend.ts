import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import { Pool } from 'undici';
import type { ProxyBackendConfig } from '../../config/schema/index.ts';
import type { TusgateError } from '../../errors.ts';
import type { Backend, RequestContext } from '../../gateway/context.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { TUS_VERSION } from '../../tus/constants.ts';
import { checkMaxSize, combinedMaxSize } from '../../tus/max-size.ts';
import { isBodiless } from '../../tus/request.ts';
import { sendError, toTusgateError } from '../../tus/respond.ts';
import { readTusResponse } from '../../tus/response.ts';
import { serializeTusRequestHeaders } from '../../tus/serialize.ts';
import { ForwardHandler, type ForwardOutcome } from './forward-handler.ts';
import { HeadForwarder } from './head-forwarder.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import { UrlMapper } from './url-mapping.ts';

export interface ProxyBackendOptions {
  name: string;
  routeName: string;
  publicBase: string;
  config: ProxyBackendConfig;
  metrics: Metrics;
}

/** Forwards tus requests to a legacy tus server (tusd, rustus, @tus/server) over a keep-alive pool. */
export class ProxyBackend implements Backend {
  readonly kind = 'proxy' as const;
  readonly name: string;
  readonly mapper: UrlMapper;
  private readonly pool: Pool;
  private readonly headForwarder: HeadForwarder;
  private readonly config: ProxyBackendConfig;
  private readonly metrics: Metrics;
  private readonly routeName: string;

  constructor(options: ProxyBackendOptions) {
    this.name = options.name;
    this.config = options.config;
    this.metrics = options.metrics;
    this.routeName = options.routeName;
    this.mapper = new UrlMapper(options.config.url, options.publicBase);
    this.pool = new Pool(options.config.url.origin, {
      connections: options.config.connections,
      pipelining: 1,
      connect: { timeout: options.config.connectTimeout },
      // The forward handler's watchdog owns idleness; undici's own timers would cut long PATCHes.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
      strictContentLength: true,
    });
    this.headForwarder = new HeadForwarder(options.config.url, {
      connections: options.config.connections,
      idleTimeoutMs: options.config.idleTimeout,
      connectTimeoutMs: options.config.connectTimeout,
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
      sendError(res, toTusgateError(error), ctx.requestId);
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

    const body = withBody ? req : null;
    // OPTIONS is asked of the collection: its answer must not depend on the id (see placement).
    const id = method === 'OPTIONS' ? '' : (ctx.uploadId ?? '');
    const path = `${this.mapper.backendBasePath}${id}${ctx.search}`;
    const labels = { route: this.routeName, backend: this.name };

    const rewriteHeaders = (status: number, upstream: IncomingHttpHeaders) => {
      observeLifecycle(status, upstream, ctx);
      return this.rewriteResponseHeaders(status, upstream, ctx);
    };
    const onError = (error: TusgateError) => {
      ctx.log.warn({ err: error.cause, backend: this.name }, 'backend request failed');
      sendError(res, error, ctx.requestId);
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
    return new Promise<void>((resolve) => {
      const handler = new ForwardHandler({
        req,
        res,
        body,
        idleTimeoutMs: this.config.idleTimeout,
        rewriteHeaders,
        beforeResponse: () => ctx.creationRecorded,
        onError,
        onRequestBytes: (count) => {
          ctx.bytesReceived += count;
        },
        onResponseBytes: (count) => {
          ctx.bytesSent += count;
        },
        done: (outcome) => {
          record(outcome);
          resolve();
        },
      });
      this.pool.dispatch({ origin: this.config.url.origin, path, method, headers, body }, handler);
    });
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
        if (status === 201) {
          ctx.createdUploadId = id;
          ctx.creationRecorded = ctx.onUploadCreated?.(id);
        }
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

  async checkReady(): Promise<void> {
    const response = await this.pool.request({
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
    await this.pool.close();
  }
}

/**
 * What a legacy server did to an upload, read from its answer: it does not tell us otherwise.
 * "Finished" needs the upload's length: from this request (creation, deferred length) or from the
 * creation request, recorded in the affinity table.
 */
function observeLifecycle(
  status: number,
  upstream: IncomingHttpHeaders,
  ctx: RequestContext,
): void {
  const { method, uploadLength, concat } = ctx.tus;
  if (method === 'DELETE' && status === 204) {
    ctx.lifecycle.terminated = true;
    return;
  }
  const isCreation = method === 'POST' && status === 201;
  if (!isCreation && !(method === 'PATCH' && status === 204)) return;
  if (uploadLength !== undefined) ctx.uploadLength = uploadLength;
  if (isCreation) ctx.lifecycle.created = true;
  const offset = readTusResponse(upstream).uploadOffset ?? (isCreation ? 0 : undefined);
  if (concat.kind === 'final' && isCreation) ctx.lifecycle.finished = true;
  else if (offset !== undefined && ctx.uploadLength != null && offset === ctx.uploadLength) {
    ctx.lifecycle.finished = true;
  }
}
