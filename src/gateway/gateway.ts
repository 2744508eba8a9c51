import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { createBackend } from '../backends/index.ts';
import { createLocker } from '../backends/locking/create-locker.ts';
import type { UploadLocker } from '../backends/locking/locker.ts';
import { readCleanupRecord } from '../backends/native/cleanup-record.ts';
import { cleanupRecordDir } from '../backends/native/create-store.ts';
import {
  type StoreLookup,
  StoreRegistry,
  type StoreSet,
} from '../backends/native/store-registry.ts';
import type { Backend } from '../backends/types.ts';
import { loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/schema/index.ts';
import { configCredentialHeaders, credentialHeadersOf } from '../config/secret-names.ts';
import { configSecrets } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { RouteHookRunner } from '../hooks/runner.ts';
import { type HookRunner, noHooks } from '../hooks/types.ts';
import {
  type AdminRoutes,
  checkReadiness,
  createAdminHandler,
  type Readiness,
  type ReadinessCheck,
} from '../observability/admin.ts';
import { type ExternalCleanup, Metrics } from '../observability/metrics.ts';
import { createErrorReporter, type ErrorReporter } from '../observability/sentry.ts';
import { clientErrorCode, rawErrorResponse } from '../tus/respond.ts';
import { createAffinityStore } from './affinity/create-affinity-store.ts';
import type { FailClosedAffinityStore } from './affinity/fail-closed.ts';
import { unownedUploadsOf } from './affinity/unowned-uploads.ts';
import { createAuthenticator } from './auth/index.ts';
import type { Authenticator } from './auth/types.ts';
import { CanaryController } from './canary/canary.ts';
import { holdContinue } from './continue.ts';
import { createCorsPolicy, routeRequestHeaders } from './cors.ts';
import { drainAfterAnswer } from './early-answer.ts';
import { Listener } from './listeners.ts';
import { createPipeline, type RuntimeState } from './pipeline.ts';
import { selectBackend } from './placement.ts';
import { type CompiledRoute, compileRoute } from './routing.ts';

export interface GatewayOptions {
  log: Logger;
  metrics?: Metrics;
  /** Defaults to a Sentry client when the config (or SENTRY_DSN) names a DSN. */
  errors?: ErrorReporter;
  /**
   * As a worker of `server.workers` (src/cluster/): the primary serves the admin listener
   * (`adminListener: false`), one worker runs the stores' cleanups, and with memory locking the
   * upload locks are the primary's (`locker`). Defaults: one process doing all of it, with the
   * configured locker (`locking`).
   */
  adminListener?: boolean;
  cleanup?: boolean;
  locker?: UploadLocker;
}

export interface ListeningAddresses {
  public: AddressInfo;
  /** Absent in a worker of `server.workers` (the primary serves it). */
  admin: AddressInfo | undefined;
  /** e.g. http://127.0.0.1:1080 (https:// with server.tls) */
  publicUrl: string;
  adminUrl: string | undefined;
}

/** One generation of config: its routes and backends. Reloads replace it as a whole. */
interface Runtime extends RuntimeState {
  readonly backends: readonly { route: string; backend: Backend }[];
  readonly authenticators: readonly Authenticator[];
  readonly hookRunners: readonly HookRunner[];
  /** Requests started on this generation and not yet finished. */
  active: number;
  /** Replaced by a reload: its backends close once its last request ends. */
  retired: boolean;
}

/** One tusgate instance: the public tus listener, the admin listener and the backends behind them. */
export class Gateway {
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly errors: ErrorReporter;
  private config: Config;
  private runtime: Runtime;
  private readonly publicListener: Listener;
  private readonly adminListener: Listener;
  private activeRequests = 0;
  private closing: Promise<void> | undefined;
  private readonly stores: StoreRegistry;
  /** Fixed at start (`locking`): one writer per upload, here and, with Redis, on every replica. */
  private readonly locker: UploadLocker;
  /** Opened when a route first needs it (a proxy backend); see `affinity`. */
  private affinityStore: FailClosedAffinityStore | undefined;
  /** Fixed at start: a reload cannot move the table. */
  private readonly affinityConfig: Config['affinity'];
  private healthTimer: NodeJS.Timeout | undefined;
  private canaries = new Map<string, CanaryController>();
  /** Hook runners by route, kept across reloads that leave a route's hooks unchanged. */
  private hookRunnersByRoute = new Map<string, { key: string; runner: RouteHookRunner }>();
  /** False in a worker of `server.workers`: the primary serves the admin listener. */
  private readonly servesAdmin: boolean;
  private readonly runsCleanup: boolean;
  /** The admin API's view of the routes (the primary asks a worker for it). */
  readonly adminRoutes: AdminRoutes;

  constructor(config: Config, options: GatewayOptions) {
    this.config = config;
    this.servesAdmin = options.adminListener ?? true;
    this.runsCleanup = options.cleanup ?? true;
    this.log = options.log;
    this.metrics = options.metrics ?? new Metrics();
    this.errors =
      options.errors ??
      createErrorReporter(config.sentry, this.log, {
        secrets: () => configSecrets(this.config),
        secretNames: () => configCredentialHeaders(this.config),
      });
    this.locker =
      options.locker ?? createLocker(config.locking, { log: this.log, metrics: this.metrics });
    this.stores = new StoreRegistry(config.stores, this.locker, this.log, (store, outcome) => {
      if (outcome instanceof Error) {
        this.metrics.observeCleanup(store, { ok: false });
        this.errors.report(outcome, { kind: 'cleanup' });
        return;
      }
      this.metrics.observeCleanup(store, {
        ok: true,
        removedFiles: outcome.removedFiles,
        removedUploads: outcome.removedUploads,
        removedHandoffLinks: outcome.removedHandoffLinks.length,
        seconds: outcome.durationMs / 1000,
      });
    });
    // Runs of `tusgate cleanup` (cron) are counted too: the CLI leaves its last run in the root.
    // Only the process that runs cleanups reads them, or /metrics (summed over workers) counts
    // each run once per worker.
    if (this.runsCleanup) this.metrics.readExternalCleanups(() => this.externalCleanups());
    // A store or ids file that cannot be opened stops the start, not the first upload.
    this.affinityConfig = config.affinity;
    this.openOwnershipSources(config);
    this.runtime = this.buildRuntime(config, buildAuthenticators(config));

    const gateway = this;
    const placement = {
      // Native-only configs never open the table.
      get affinity() {
        return gateway.affinity();
      },
    };
    const pipeline = createPipeline({
      state: () => this.runtime,
      log: this.log,
      metrics: this.metrics,
      errors: this.errors,
      selectBackend: (route, req, ctx) => selectBackend(route, req, ctx, placement),
      // Rejects (503) when the owner is not on record: the proxy then terminates the upload.
      onCreated: (ctx, backend, id) =>
        this.affinity().set(id, {
          backend: backend.name,
          principal: ctx.principal,
          length: ctx.uploadLength ?? null,
        }),
    });
    const server = config.server;
    this.publicListener = Listener.create(
      {
        name: 'public',
        tls: server.tls,
        http2: server.http2,
        h2c: server.h2c,
        http1: {
          // A PATCH may stream for hours: no overall request deadline (Node's default is 300 s).
          // Slow-header attacks are bounded by headersTimeout, dead sockets by the idle timeout.
          requestTimeout: 0,
          headersTimeout: server.headersTimeout,
          keepAliveTimeout: server.keepAliveTimeout,
          maxHeaderSize: server.maxHeaderSize,
          insecureHTTPParser: false,
        },
        log: this.log,
      },
      (req, res) => {
        const runtime = this.runtime;
        runtime.active++;
        this.activeRequests++;
        this.metrics.activeRequests.inc();
        res.once('close', () => {
          runtime.active--;
          this.activeRequests--;
          this.metrics.activeRequests.dec();
          if (runtime.retired && runtime.active === 0) void this.closeRuntime(runtime);
        });
        res.once('finish', () => drainAfterAnswer(req));
        pipeline(req, res).catch((error: unknown) => {
          // The pipeline answers its own errors; this is the last guard against a crash.
          this.log.error({ err: error }, 'request handling failed');
          if (!res.headersSent) res.writeHead(500);
          res.end();
        });
      },
    );
    const publicServer = this.publicListener.server;
    for (const requestServer of this.publicListener.requestServers) {
      // `Expect: 100-continue` is answered after auth and the owner check (gateway/continue.ts).
      requestServer.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
        holdContinue(req, res);
        requestServer.emit('request', req, res);
      });
      // A silent HTTP/1.1 socket or HTTP/2 session is closed (both have destroy()).
      (
        requestServer as unknown as { setTimeout: (ms: number, cb: (s: Socket) => void) => void }
      ).setTimeout(server.idleTimeout, (socket) => socket.destroy());
    }
    publicServer.on('connection', (socket: Socket) => {
      this.metrics.openConnections.inc();
      socket.once('close', () => this.metrics.openConnections.dec());
    });
    publicServer.on('clientError', (error: Error, socket: Duplex) => {
      this.log.debug({ err: error }, 'client error');
      if (socket.writable && !socket.destroyed) {
        socket.end(rawErrorResponse(clientErrorCode((error as { code?: string }).code)));
      } else {
        socket.destroy();
      }
    });

    this.adminRoutes = {
      list: () =>
        this.runtime.routes.map((route) => ({
          name: route.name,
          pathPrefix: route.publicBase,
          backends: [...route.backends.keys()],
          create: route.createBackend.name,
          canary: route.canary?.snapshot() ?? null,
        })),
      reset: (name) => {
        const route = this.runtime.routes.find((candidate) => candidate.name === name);
        if (!route) return undefined;
        if (!route.canary) return false;
        route.canary.reset();
        return true;
      },
    };
    const admin = createAdminHandler({
      metrics: this.metrics,
      adminToken: () => this.config.server.adminToken,
      routes: this.adminRoutes,
      readiness: () => this.readinessChecks(),
      onReadiness: (name, up) => this.onReadiness(name, up),
    });
    this.adminListener = Listener.create(
      { name: 'admin', tls: server.adminTls, tlsKey: 'server.adminTls', log: this.log },
      (req, res) => {
        admin(req, res).catch((error: unknown) => {
          this.log.error({ err: error, path: req.url?.split('?')[0] }, 'admin request failed');
          if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end('{"error":"internal error"}');
        });
      },
    );
  }

  /** What /readyz reports for this process (a primary of workers asks each worker). */
  checkReadiness(): Promise<Readiness> {
    return checkReadiness(this.readinessChecks(), (name, up) => this.onReadiness(name, up));
  }

  private onReadiness(name: string, up: boolean): void {
    if (name === ownershipCheckName || name === lockCheckName) return;
    const [route, backend] = name.split('/');
    this.metrics.backendUp.set({ route: route ?? '', backend: backend ?? '' }, up ? 1 : 0);
  }

  get currentConfig(): Config {
    return this.config;
  }

  /**
   * Serves new requests with a new config. Requests already running finish on the config they
   * started with; the old backends close after them. Stores, locks and canary state whose config
   * did not change carry over. Listen addresses cannot change without a restart.
   *
   * Transactional: the whole new generation (stores and their lock tables, authenticators,
   * backends, hook runners, canaries) is built before anything of the running one changes. A
   * config that cannot be built (a bad tokens file or key, a backend that cannot be made) is
   * refused with a log line and a metric, every store, lock table and cleanup timer as it was;
   * the answer is false then. `file` names the config's source in the log.
   */
  reload(config: Config, file?: string): boolean {
    let stores: StoreSet;
    let next: Runtime;
    try {
      // As at start: an ids file or an owner table that cannot be opened refuses the config.
      this.openOwnershipSources(config);
      stores = this.stores.prepare(config.stores);
      const authenticators = buildAuthenticators(config);
      next = this.buildRuntime(config, authenticators, stores);
    } catch (error) {
      this.refuseReload(error, file);
      return false;
    }
    // Nothing below throws: the new generation goes in force as a whole.
    const needRestart = restartOnlyChanges(this.config, config);
    if (needRestart.length > 0) {
      this.log.warn({ keys: needRestart }, 'these changes take effect after a restart');
    }
    this.stores.commit(stores);
    const previous = this.runtime;
    this.runtime = next;
    this.config = config;
    previous.retired = true;
    if (previous.active === 0) void this.closeRuntime(previous);
    this.metrics.configReloads.inc({ result: 'success' });
    this.log.info({ routes: config.routes.map((route) => route.name) }, 'configuration reloaded');
    return true;
  }

  /**
   * Reloads from a file. A file that does not validate, or whose tokens file or keys cannot be
   * read, is refused with a log line and a metric; the running config stays.
   */
  async reloadFromFile(file: string, adjust = (config: Config) => config): Promise<boolean> {
    let config: Config;
    try {
      config = adjust(await loadConfigFile(file));
    } catch (error) {
      this.refuseReload(error, file);
      return false;
    }
    return this.reload(config, file);
  }

  /** Opens the owner table when a route proxies, and reads every route's pre-tusgate ids file. */
  private openOwnershipSources(config: Config): void {
    if (hasProxyBackend(config)) this.affinity();
    config.routes.forEach((route, index) => {
      unownedUploadsOf(route.unownedUploads, `routes[${index}].unownedUploads`);
    });
  }

  /** Counts and logs a refused reload (also one the primary of workers refused for all). */
  refuseReload(error: unknown, file: string | undefined): void {
    this.metrics.configReloads.inc({ result: 'failure' });
    const issues = error instanceof ConfigError ? error.issues : undefined;
    this.log.error(
      { file, issues, err: issues ? undefined : error },
      'configuration reload refused; the previous configuration stays in effect',
    );
  }

  private async closeRuntime(runtime: Runtime): Promise<void> {
    const results = await Promise.allSettled([
      ...runtime.backends.map(({ backend }) => backend.close()),
      ...runtime.authenticators.map(async (authenticator) => authenticator.close?.()),
      // Runners the current config still uses stay; the others' queued events get a last chance.
      ...runtime.hookRunners
        .filter((runner) => runtime === this.runtime || !this.runtime.hookRunners.includes(runner))
        .map((runner) => runner.close()),
    ]);
    for (const result of results) {
      if (result.status === 'rejected') {
        this.log.warn({ err: result.reason }, 'closing a replaced backend failed');
      }
    }
  }

  /**
   * Reads the TLS certificates again (SIGHUP; file changes are noticed by themselves). Open
   * connections and the uploads on them keep the certificate they started with.
   */
  async reloadCertificates(): Promise<void> {
    await Promise.all([
      this.publicListener.reloadCertificates(),
      this.adminListener.reloadCertificates(),
    ]);
  }

  async listen(): Promise<ListeningAddresses> {
    const { listen, admin } = this.config.server;
    const publicAddress = await this.publicListener.listen(listen.host, listen.port);
    const adminAddress = this.servesAdmin
      ? await this.adminListener.listen(admin.host, admin.port)
      : undefined;
    if (this.runsCleanup) this.stores.startCleanups();
    // Keeps tusgate_backend_up current for alerts even when nobody polls /readyz.
    this.healthTimer = setInterval(() => void this.probeBackends(), 15_000);
    this.healthTimer.unref();
    return {
      public: publicAddress,
      admin: adminAddress,
      publicUrl: urlOf(this.publicListener.scheme, publicAddress),
      adminUrl: adminAddress && urlOf(this.adminListener.scheme, adminAddress),
    };
  }

  /**
   * Stops accepting connections, lets running requests finish until the deadline, then cuts the
   * rest. Interrupted uploads lose nothing: tus clients resume from the offset the backend kept.
   */
  close(deadlineMs = this.config.server.shutdownTimeout): Promise<void> {
    this.closing ??= this.shutdown(deadlineMs);
    return this.closing;
  }

  private async shutdown(deadlineMs: number): Promise<void> {
    this.log.info({ activeRequests: this.activeRequests, deadlineMs }, 'shutting down');
    this.stores.close();
    const publicClosed = this.publicListener.stopAccepting();
    const adminClosed = this.servesAdmin ? this.adminListener.stopAccepting() : Promise.resolve();
    this.adminListener.closeAll();
    const deadline = Date.now() + deadlineMs;
    while (this.activeRequests > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      this.publicListener.closeIdle();
    }
    if (this.activeRequests > 0) {
      this.log.warn(
        { activeRequests: this.activeRequests },
        'shutdown deadline passed, cutting requests',
      );
    }
    this.publicListener.closeAll();
    await Promise.all([publicClosed, adminClosed]);
    await this.closeRuntime(this.runtime);
    await this.affinityStore?.close();
    await this.locker.close();
    clearInterval(this.healthTimer);
    if (!(await this.errors.flush(2000))) this.log.warn('Sentry events still queued at exit');
    await this.errors.close(500);
    this.log.info('stopped');
  }

  /** The last run of `tusgate cleanup` on each store in force that expires uploads. */
  private *externalCleanups(): Iterable<ExternalCleanup> {
    for (const { store } of this.stores.current.entries.values()) {
      if (store.expiresAfter === undefined) continue;
      const dir = cleanupRecordDir(store);
      const record = dir === undefined ? undefined : readCleanupRecord(dir);
      if (record) yield { store: store.name, ...record };
    }
  }

  /**
   * Builds a config generation without changing the running one: `this.canaries` and the hook
   * runners' index are replaced only once everything was built. `stores` defaults to the stores
   * in force (the first generation, built with them).
   */
  private buildRuntime(
    config: Config,
    authenticators: (Authenticator | null)[],
    stores: StoreLookup = this.stores.current,
  ): Runtime {
    const all: { route: string; backend: Backend }[] = [];
    const canaries = new Map<string, CanaryController>();
    const hookRunners = new Map<string, { key: string; runner: RouteHookRunner }>();
    const newRunners: RouteHookRunner[] = [];
    const build = () =>
      config.routes.map((routeConfig, index) => {
        const authenticator = authenticators[index] ?? null;
        let hooks: HookRunner = noHooks;
        if (routeConfig.hooks.length > 0) {
          // Unchanged hooks keep their runner, so events queued for a receiver that is down
          // survive a reload.
          const key = JSON.stringify([routeConfig.hooks, config.hookJournal]);
          const previous = this.hookRunnersByRoute.get(routeConfig.name);
          const runner =
            previous?.key === key
              ? previous.runner
              : new RouteHookRunner(routeConfig.name, routeConfig.hooks, {
                  log: this.log,
                  metrics: this.metrics,
                  journalDir: config.hookJournal,
                  credentialHeaders: credentialHeadersOf(routeConfig.auth),
                });
          if (runner !== previous?.runner) newRunners.push(runner);
          runner.keepOffJournal(credentialHeadersOf(routeConfig.auth));
          hookRunners.set(routeConfig.name, { key, runner });
          hooks = runner;
        }
        const backends = new Map<string, Backend>();
        for (const [name, backendConfig] of Object.entries(routeConfig.backends)) {
          const backend = createBackend(routeConfig, name, backendConfig, {
            config,
            metrics: this.metrics,
            log: this.log,
            stores,
            hooks,
          });
          backends.set(name, backend);
          all.push({ route: routeConfig.name, backend });
        }
        let canary: CanaryController | undefined;
        if (routeConfig.canary) {
          const previous = this.canaries.get(routeConfig.name);
          canary =
            previous && previous.key === JSON.stringify(routeConfig.canary)
              ? previous
              : new CanaryController(routeConfig.name, routeConfig.canary, {
                  log: this.log,
                  metrics: this.metrics,
                  errors: this.errors,
                });
          canaries.set(routeConfig.name, canary);
        }
        return compileRoute(routeConfig, backends, {
          canary,
          authenticator,
          hooks,
          cors:
            routeConfig.cors &&
            createCorsPolicy(routeConfig.cors, routeRequestHeaders(routeConfig)),
        });
      });
    let routes: CompiledRoute[];
    try {
      routes = build();
    } catch (error) {
      // Nothing half-built stays open: the running config carries on as it was.
      void Promise.allSettled([
        ...all.map(({ backend }) => backend.close()),
        ...newRunners.map((runner) => runner.close(0)),
        ...authenticators.map(async (authenticator) => authenticator?.close?.()),
      ]);
      throw error;
    }
    // A route whose canary is gone stops reporting its weights.
    for (const route of this.canaries.keys()) {
      if (!canaries.has(route)) this.metrics.forgetCanary(route);
    }
    this.canaries = canaries;
    this.hookRunnersByRoute = hookRunners;
    return {
      routes,
      authenticators: authenticators.filter((item) => item !== null),
      hookRunners: [...hookRunners.values()].map(({ runner }) => runner),
      trustedProxies: new Set(config.server.trustedProxies),
      backends: all,
      active: 0,
      retired: false,
    };
  }

  private async probeBackends(): Promise<void> {
    await Promise.all(
      this.runtime.backends.map(async ({ route, backend }) => {
        const up = await backend.checkReady().then(
          () => true,
          () => false,
        );
        this.metrics.backendUp.set({ route, backend: backend.name }, up ? 1 : 0);
      }),
    );
  }

  /** The owner/affinity table, opened on first use. */
  private affinity(): FailClosedAffinityStore {
    this.affinityStore ??= createAffinityStore(this.affinityConfig, {
      log: this.log,
      registry: this.metrics.registry,
    });
    return this.affinityStore;
  }

  private readinessChecks(): ReadinessCheck[] {
    const checks: ReadinessCheck[] = this.runtime.backends.map(({ route, backend }) => ({
      name: `${route}/${backend.name}`,
      check: () => backend.checkReady(),
    }));
    if (this.runtime.backends.some(({ backend }) => backend.kind === 'proxy')) {
      checks.push({ name: ownershipCheckName, check: () => this.affinity().checkReady() });
    }
    if (this.locker.kind !== 'memory') {
      checks.push({ name: lockCheckName, check: () => this.locker.checkReady() });
    }
    return checks;
  }
}

/** The /readyz check of the owner/affinity table. */
const ownershipCheckName = 'ownership-store';
/** The /readyz check of a shared lock store. */
const lockCheckName = 'lock-store';

function hasProxyBackend(config: Config): boolean {
  return config.routes.some((route) =>
    Object.values(route.backends).some((backend) => backend.type !== 'native'),
  );
}

function urlOf(scheme: string, address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

function buildAuthenticators(config: Config): (Authenticator | null)[] {
  return config.routes.map((route, index) =>
    createAuthenticator(route.auth, `routes[${index}].auth`),
  );
}

/** Settings fixed when the process started: listeners, their timeouts, logging, Sentry, affinity, locking. */
function restartOnlyChanges(current: Config, next: Config): string[] {
  const fixed: [string, (config: Config) => unknown][] = [
    ['server.listen', (config) => config.server.listen],
    ['server.admin', (config) => config.server.admin],
    ['server.headersTimeout', (config) => config.server.headersTimeout],
    ['server.idleTimeout', (config) => config.server.idleTimeout],
    ['server.keepAliveTimeout', (config) => config.server.keepAliveTimeout],
    ['server.maxHeaderSize', (config) => config.server.maxHeaderSize],
    ['server.workers', (config) => config.server.workers],
    ['server.tls', (config) => config.server.tls],
    ['server.http2', (config) => config.server.http2],
    ['server.h2c', (config) => config.server.h2c],
    ['server.adminTls', (config) => config.server.adminTls],
    ['logging', (config) => config.logging],
    ['sentry', (config) => config.sentry],
    ['affinity', (config) => config.affinity],
    ['locking', (config) => config.locking],
  ];
  return fixed
    .filter(([, read]) => JSON.stringify(read(current)) !== JSON.stringify(read(next)))
    .map(([key]) => key);
}
