import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RouteConfig } from '../config/schema/index.ts';
import type { TusRequest } from '../tus/request.ts';

/**
 * The types a backend needs from the layers above it: the request context the gateway hands over
 * and the narrow view of the route it belongs to. They live here, below the gateway, so that
 * backends and hooks never import the gateway (imports point one way: tus/, errors, config →
 * hooks, observability → backends → gateway → commands).
 */

/** What a backend may know of the route a request matched. */
export interface RouteView {
  readonly name: string;
  /** Public base path, always with a trailing slash, e.g. `/files/`. */
  readonly publicBase: string;
  readonly config: RouteConfig;
  /** Set when the gateway answers CORS for the route; then the backend's own CORS headers go. */
  readonly cors: object | undefined;
}

/** What the pipeline knows about one request when it hands it to a backend. */
export interface RequestContext {
  readonly requestId: string;
  readonly route: RouteView;
  /** The request's tus headers, parsed once at the pipeline's entry; read these, never raw headers. */
  readonly tus: TusRequest;
  /** The upload id from the path, already validated; null for the route's collection URL. */
  readonly uploadId: string | null;
  /** Everything after the path, e.g. `?x=1`, or ''. */
  readonly search: string;
  /** Public origin the client used, e.g. `https://galaxy.example`; from trusted proxies only. */
  readonly publicOrigin: string;
  readonly client: ClientInfo;
  /** Authenticated principal, or null on routes without auth. */
  principal: string | null;
  readonly log: Logger;
  /** Set by the backend that served the request, for logs and metrics. */
  backendName?: string;
  /** An id the backend created (POST), for logs and hooks. */
  createdUploadId?: string;
  /**
   * A proxy backend calls this as soon as it learns the id of an upload it created; the 201 goes
   * to the client once the returned promise settles, so the upload's owner and backend are on
   * record (in Redis, for every replica) before the client can send its next request.
   */
  onUploadCreated?: (id: string) => Promise<void> | undefined;
  /** Settles once a proxied creation is on record (see onUploadCreated). */
  creationRecorded?: Promise<void>;
  /**
   * Declared length of a proxied upload: from its creation request, or from the PATCH that
   * declared a deferred length (kept in the affinity table either way).
   */
  uploadLength?: number | null;
  /** Puts a length learned after the creation on record (set when the table knows the upload). */
  recordUploadLength?: (length: number) => Promise<void>;
  /** Headers pre-create or pre-finish hooks asked to add to this request's answer. */
  hookResponseHeaders?: Record<string, string>;
  /** What happened to the upload in this request; counted when the response ends. */
  readonly lifecycle: UploadLifecycle;
  /**
   * Call right before reading the request body: a client waiting on `Expect: 100-continue` is
   * told to send it now, after auth, the owner check and the backend's own checks passed.
   */
  continue(): void;
  /** Reports an unexpected error (to Sentry, when configured), tagged with route, backend, method. */
  reportError(error: unknown, kind?: string): void;
  bytesReceived: number;
  bytesSent: number;
}

export interface UploadLifecycle {
  created: boolean;
  finished: boolean;
  terminated: boolean;
}

export interface ClientInfo {
  /** Address of the end client: the peer, or what a trusted proxy said. */
  readonly address: string;
  /** The TCP peer (nginx when behind it). */
  readonly peerAddress: string;
  readonly peerIsTrusted: boolean;
  /** X-Forwarded-For chain to send upstream (client first). */
  readonly forwardedFor: string;
  readonly proto: 'http' | 'https';
  readonly host: string;
  /** False when Host (or a trusted X-Forwarded-Host) is not a plain host[:port]: a 400. */
  readonly hostIsValid: boolean;
}

/** The one interface between the pipeline and a backend kind. */
export interface Backend {
  readonly name: string;
  readonly kind: 'proxy' | 'native';
  /** Serves the request to completion. Must never reject: errors become responses. */
  handle(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void>;
  /** True when an id of this shape could only have been made by this backend. */
  recognisesId(id: string): boolean;
  /** Throws a descriptive error when the backend cannot serve requests. */
  checkReady(): Promise<void>;
  close(): Promise<void>;
}
