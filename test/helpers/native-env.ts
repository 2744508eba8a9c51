import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { MemoryLocker } from '../../src/backends/locking/memory-locker.ts';
import type { NativeEnvironment } from '../../src/backends/native/environment.ts';
import { NativeBackend } from '../../src/backends/native/native-backend.ts';
import { DateShardedStore } from '../../src/backends/native/store.ts';
import type { RequestContext } from '../../src/backends/types.ts';
import { validateConfig } from '../../src/config/load.ts';
import { compileRoute } from '../../src/gateway/routing.ts';
import type {
  HookEventType,
  HookHttpRequest,
  HookResponse,
  HookRunner,
  HookUpload,
} from '../../src/hooks/types.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { OFFSET_OCTET_STREAM, TUS_VERSION } from '../../src/tus/constants.ts';
import { effectiveMethod, isTusMethod, parseTusRequest } from '../../src/tus/request.ts';
import { sendError } from '../../src/tus/respond.ts';
import { tempDir } from './files.ts';

/**
 * The native backend in the test process, without a server: a date-sharded store on a fresh
 * temporary folder, the in-process locker, a recording hook runner, a clock the test moves, and
 * in-memory request/response doubles. Requests go through `NativeBackend.handle` (the handlers
 * and the error answers) with `ctx.tus` parsed by the pipeline's own parser.
 */

export const publicOrigin = 'http://gateway.test';
export const publicBase = '/files/';
/** The clock starts here: 2026-11-25 12:00 UTC. */
export const startTime = Date.UTC(2026, 10, 25, 12);

export interface NativeEnvOptions {
  maxSize?: string | number;
  /** Store TTL (config syntax, e.g. '1h'); default 1h. */
  expiresAfter?: string;
  lockTimeout?: number;
  progressInterval?: number;
  refusals?: 'tus' | 'galaxy';
}

export interface RecordedHookEvent {
  type: HookEventType;
  upload: HookUpload;
  request: HookHttpRequest;
}

/**
 * Records every event. A pre-* hook answers what `answers` holds for its type (e.g. a pre-create
 * rejection); post-receive answers `stopOnReceive` (a StopUpload) when set.
 */
export class RecordingHooks implements HookRunner {
  readonly events: RecordedHookEvent[] = [];
  readonly answers: Partial<Record<HookEventType, HookResponse>> = {};
  stopOnReceive: HookResponse | undefined;

  wants(): boolean {
    return true;
  }

  async pre(type: HookEventType, upload: HookUpload, request: HookHttpRequest) {
    this.events.push({ type, upload, request });
    return this.answers[type] ?? {};
  }

  post(
    type: HookEventType,
    upload: HookUpload,
    request: HookHttpRequest,
    onAnswer?: (answer: HookResponse) => void,
  ): void {
    this.events.push({ type, upload, request });
    const stop = this.stopOnReceive;
    // A sink answers later, never inside the call that queued the event.
    if (type === 'post-receive' && stop && onAnswer) setImmediate(() => onAnswer(stop));
  }

  observed(): void {}
  async close(): Promise<void> {}

  of(type: HookEventType): RecordedHookEvent[] {
    return this.events.filter((event) => event.type === type);
  }
}

/** How a request body ends once its pieces are delivered. */
export type BodyEnd = 'end' | 'leave' | 'hang';

/**
 * A request as the backend reads it: a Readable delivering `pieces` one `read()` at a time, then
 * ending, leaving (destroyed with ECONNRESET, as Node's request does when its client goes), or
 * staying open for the test to drive with `send`, `finish` and `leave`.
 */
export class TestRequest extends Readable {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly headersDistinct: Record<string, string[]>;
  /** Trailers, as Node has them once the body ended (names lower-case). */
  readonly trailersDistinct: Record<string, string[]>;
  readonly #pieces: Buffer[];
  readonly #end: BodyEnd;
  readonly #delivered = Promise.withResolvers<void>();

  constructor(method: string, url: string, headers: Record<string, string>, body: TestBody) {
    super();
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.headersDistinct = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, [value]]),
    );
    this.trailersDistinct = Object.fromEntries(
      Object.entries(body.trailers ?? {}).map(([name, value]) => [name.toLowerCase(), [value]]),
    );
    this.#pieces = body.pieces.map((piece) => Buffer.from(piece));
    this.#end = body.end;
  }

  /** Settles once every piece was taken by the reader. */
  get delivered(): Promise<void> {
    return this.#delivered.promise;
  }

  override _read(): void {
    const next = this.#pieces.shift();
    if (next !== undefined) {
      this.push(next);
      return;
    }
    this.#delivered.resolve();
    if (this.#end === 'end') this.push(null);
    else if (this.#end === 'leave') setImmediate(() => this.leave());
  }

  send(piece: string | Buffer): void {
    this.push(Buffer.from(piece));
  }

  finish(): void {
    this.push(null);
  }

  leave(): void {
    this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
  }
}

interface TestBody {
  pieces: Array<string | Buffer>;
  end: BodyEnd;
  trailers?: Record<string, string>;
}

/** Records what a handler does to a ServerResponse: the head, the body, the end or a destroy. */
export class TestResponse extends Writable {
  readonly req: TestRequest;
  statusCode = 200;
  headersSent = false;
  /** Response headers, names lower-cased. */
  readonly headers: Record<string, string> = {};
  readonly #chunks: Buffer[] = [];

  constructor(req: TestRequest) {
    super();
    this.req = req;
  }

  writeHead(status: number, headers: Record<string, string | number> = {}): this {
    if (this.headersSent) throw new Error('writeHead after the head was sent');
    this.statusCode = status;
    for (const [name, value] of Object.entries(headers)) {
      this.headers[name.toLowerCase()] = String(value);
    }
    this.headersSent = true;
    return this;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.headersSent = true;
    this.#chunks.push(chunk);
    callback();
  }

  override _final(callback: () => void): void {
    // `end()` without `writeHead` sends the head (200), as Node's response does.
    this.headersSent = true;
    callback();
  }

  get body(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

export interface RequestOptions {
  method: string;
  /** Upload id; omitted for the collection URL. */
  id?: string;
  /** Request headers (names any case); Tus-Resumable is added. */
  headers?: Record<string, string | number>;
  /** Body pieces; sent as application/offset+octet-stream with their total as Content-Length. */
  body?: Array<string | Buffer>;
  /** Default 'end'. */
  end?: BodyEnd;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
  /** Trailers after a chunked body (announce them with a `Trailer` header). */
  trailers?: Record<string, string>;
  /** Authenticated principal; default null (no auth on the route). */
  principal?: string | null;
}

export interface Exchange {
  req: TestRequest;
  res: TestResponse;
  ctx: RequestContext;
  /** Settles when the backend is done with the request. */
  done: Promise<TestResponse>;
}

export interface NativeTestEnv {
  env: NativeEnvironment;
  store: DateShardedStore;
  hooks: RecordingHooks;
  clock: { now: number; advance(ms: number): void };
  /** Starts a request; the test drives its body and awaits `done`. */
  start(options: RequestOptions): Exchange;
  /** Sends a request and resolves to its response once the backend is done. */
  send(options: RequestOptions): Promise<TestResponse>;
  /** POSTs a creation and returns the new upload's id (throws unless the answer is 201). */
  create(headers: Record<string, string | number>, body?: Array<string | Buffer>): Promise<string>;
  dataPath(id: string): string;
  infoPath(id: string): string;
  handOffPath(id: string): string;
}

/** A fresh native environment on its own temporary store, removed when the test ends. */
export async function nativeTestEnv(
  t: TestContext,
  options: NativeEnvOptions = {},
): Promise<NativeTestEnv> {
  const dir = await tempDir('tusgate-native-unit-');
  t.after(() => dir.remove());
  const config = validateConfig({
    server: { listen: '127.0.0.1:0' },
    stores: {
      main: {
        type: 'date-sharded',
        root: join(dir.path, 'store'),
        handoffDir: join(dir.path, 'handoff'),
        expiresAfter: options.expiresAfter ?? '1h',
      },
    },
    routes: [
      {
        name: 'uploads',
        match: { pathPrefix: publicBase },
        ...(options.maxSize === undefined ? {} : { maxSize: options.maxSize }),
        refusals: options.refusals ?? 'tus',
        backends: { native: { type: 'native', store: 'main' } },
      },
    ],
  });
  const routeConfig = config.routes[0]!;
  const store = new DateShardedStore('main', config.stores.main!);
  const hooks = new RecordingHooks();
  const clock = {
    now: startTime,
    advance(ms: number) {
      clock.now += ms;
    },
  };
  const env: NativeEnvironment = {
    backendName: 'native',
    routeName: routeConfig.name,
    store,
    locker: new MemoryLocker(),
    hooks,
    metrics: new Metrics({ defaultMetrics: false }),
    log: pino({ level: 'silent' }),
    maxSize: routeConfig.maxSize,
    lockTimeout: options.lockTimeout ?? 50,
    progressInterval: options.progressInterval ?? 0,
    syncOnFinish: false,
    now: () => clock.now,
  };
  const backend = new NativeBackend(env);
  const route = compileRoute(routeConfig, new Map([['native', backend]]), { hooks });

  const start = (request: RequestOptions): Exchange => {
    const pieces = request.body ?? [];
    const headers: Record<string, string> = { host: 'gateway.test', 'tus-resumable': TUS_VERSION };
    if (request.body !== undefined) {
      headers['content-type'] = OFFSET_OCTET_STREAM;
      if (request.chunked) headers['transfer-encoding'] = 'chunked';
      else {
        const length = pieces.reduce((sum, piece) => sum + Buffer.byteLength(piece), 0);
        headers['content-length'] = String(length);
      }
    }
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      headers[name.toLowerCase()] = String(value);
    }
    const url = `${publicBase}${request.id ?? ''}`;
    const req = new TestRequest(request.method, url, headers, {
      pieces,
      end: request.end ?? 'end',
      trailers: request.trailers,
    });
    const res = new TestResponse(req);
    const incoming = req as unknown as IncomingMessage;
    const response = res as unknown as ServerResponse;
    const method = effectiveMethod(incoming);
    if (!isTusMethod(method)) throw new Error(`not a tus method: ${method}`);
    const tus = parseTusRequest(incoming, method, {
      origins: [publicOrigin],
      basePath: publicBase,
    });
    const ctx: RequestContext = {
      requestId: 'test-request',
      route,
      tus,
      uploadId: request.id ?? null,
      search: '',
      publicOrigin,
      client: {
        address: '192.0.2.1',
        peerAddress: '192.0.2.1',
        peerIsTrusted: false,
        forwardedFor: '192.0.2.1',
        proto: 'http',
        host: 'gateway.test',
        hostIsValid: true,
      },
      principal: request.principal ?? null,
      log: env.log,
      bytesReceived: 0,
      bytesSent: 0,
      lifecycle: { created: false, finished: false, terminated: false },
      continue: () => {},
      reportError: () => {},
    };
    // As the pipeline: a malformed header is answered before any backend sees the request.
    const done = tus.problem
      ? Promise.resolve(sendError(response, tus.problem))
      : backend.handle(incoming, response, ctx);
    return { req, res, ctx, done: done.then(() => res) };
  };

  return {
    env,
    store,
    hooks,
    clock,
    start,
    send: (request) => start(request).done,
    create: async (headers, body) => {
      const res = await start({ method: 'POST', headers, ...(body ? { body } : {}) }).done;
      if (res.statusCode !== 201) throw new Error(`creation: ${res.statusCode} ${res.body}`);
      return locationId(res);
    },
    dataPath: (id) => store.pathsFor(id).data,
    infoPath: (id) => store.pathsFor(id).info,
    handOffPath: (id) => join(store.handoffDir!, id),
  };
}

/** The upload id at the end of a response's Location. */
export function locationId(res: TestResponse): string {
  const location = res.headers.location;
  if (location === undefined)
    throw new Error(`no Location (status ${res.statusCode}: ${res.body})`);
  return location.slice(location.lastIndexOf('/') + 1);
}
