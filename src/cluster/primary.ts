import cluster, { type Worker } from 'node:cluster';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { PrimaryLockTable } from '../backends/locking/primary-lock-table.ts';
import { authenticatorIssues } from '../commands/check-config.ts';
import { watchConfig } from '../commands/watch-config.ts';
import { inspectConfigText } from '../config/load.ts';
import { type ListenOverrides, withOverrides } from '../config/overrides.ts';
import type { Config } from '../config/schema/index.ts';
import type { ConfigIssue } from '../errors.ts';
import { createAdminHandler, type Readiness } from '../observability/admin.ts';
import { createLogger } from '../observability/logger.ts';
import { version } from '../version.ts';
import { restartDelay } from './backoff.ts';
import { isMessage, type PrimaryMessage, type WorkerCall, type WorkerMessage } from './messages.ts';

export interface PrimaryOptions {
  configFile: string | undefined;
  /** The config file's text as validated (null: the embedded default). */
  text: string | null;
  config: Config;
  workers: number;
  overrides: ListenOverrides;
}

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** One place a worker runs; a worker that dies is replaced in its slot (slot 0 cleans up). */
interface Slot {
  readonly index: number;
  worker?: Worker;
  listening: boolean;
  /** When its workers died unasked, for the restart backoff. */
  crashes: number[];
  restartTimer?: NodeJS.Timeout;
}

/** How long the primary waits for a worker's answer (readiness, metrics, reload). */
const callTimeoutMs = 5_000;

/**
 * The primary of `server.workers`: forks the workers (they share the public listener through
 * node:cluster), serves the admin listener for all of them (/metrics sums them with prom-client's
 * cluster aggregation, /readyz is ready when every worker is), keeps their upload locks, reads
 * and validates the config once for all (startup and every reload), replaces a worker that dies
 * (with a backoff against crash loops), and on SIGTERM/SIGINT stops them all gracefully.
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { configFile, workers: count, overrides } = options;
  let config = options.config;
  let text = options.text;
  const log = createLogger(config.logging).child({ role: 'primary', pid: process.pid });

  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({
    index,
    listening: false,
    crashes: [],
  }));
  const locks = new PrimaryLockTable((id, message) => {
    const worker = cluster.workers?.[id];
    if (!worker?.isConnected()) return false;
    worker.send(message);
    return true;
  });
  const calls = new Map<
    number,
    {
      worker: number;
      resolve: (value: unknown) => void;
      reject: (error: Error) => void;
      timer: NodeJS.Timeout;
    }
  >();
  let nextCall = 1;
  let stopping = false;
  let started = false;

  const registry = new Registry();
  const running: Gauge = new Gauge({
    name: 'tusgate_workers_running',
    help: 'Worker processes listening (server.workers).',
    registers: [registry],
    collect: (): void => running.set(slots.filter((slot) => slot.listening).length),
  });
  const restarts = new Counter({
    name: 'tusgate_worker_restarts_total',
    help: 'Workers that died without being asked and were replaced.',
    registers: [registry],
  });

  const sendTo = (worker: Worker, message: PrimaryMessage): boolean => {
    if (!worker.isConnected()) return false;
    worker.send(message);
    return true;
  };
  const call = (worker: Worker, request: WorkerCall): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextCall++;
      const timer = setTimeout(() => {
        calls.delete(id);
        reject(new Error(`worker ${worker.process.pid} did not answer ${request.method}`));
      }, callTimeoutMs);
      calls.set(id, { worker: worker.id, resolve, reject, timer });
      if (!sendTo(worker, { tusgate: 'call', call: id, ...request })) {
        clearTimeout(timer);
        calls.delete(id);
        reject(new Error(`worker ${worker.process.pid} is gone`));
      }
    });
  const listeningWorkers = () =>
    slots.flatMap((slot) => (slot.listening && slot.worker ? [slot.worker] : []));

  let startupFailed: ((error: Error) => void) | undefined;
  let allListening: (() => void) | undefined;

  const fork = (slot: Slot) => {
    const worker = cluster.fork();
    slot.worker = worker;
    slot.listening = false;
    worker.on('message', (message: unknown) => {
      if (locks.handle(worker.id, message)) return;
      if (!isMessage<WorkerMessage>(message)) return;
      switch (message.tusgate) {
        case 'hello':
          sendTo(worker, { tusgate: 'start', slot: slot.index, text, file: configFile ?? null });
          return;
        case 'listening':
          slot.listening = true;
          log.info({ worker: slot.index, workerPid: worker.process.pid }, 'worker listening');
          if (slots.every((each) => each.listening)) allListening?.();
          return;
        case 'call-result': {
          const pending = calls.get(message.call);
          if (!pending) return;
          calls.delete(message.call);
          clearTimeout(pending.timer);
          if (message.error !== undefined) pending.reject(new Error(message.error));
          else pending.resolve(message.result);
          return;
        }
      }
    });
    worker.on('exit', (code, signal) => {
      locks.forgetWorker(worker.id);
      // A scrape or readiness check waiting on this worker gets its answer now, not at the timeout.
      for (const [id, pending] of calls) {
        if (pending.worker !== worker.id) continue;
        calls.delete(id);
        clearTimeout(pending.timer);
        pending.reject(new Error(`worker ${worker.process.pid} exited`));
      }
      if (slot.worker === worker) {
        slot.worker = undefined;
        slot.listening = false;
      }
      if (stopping) return;
      if (!started) {
        startupFailed?.(
          new Error(`worker ${slot.index} exited (${signal ?? code}) while starting`),
        );
        return;
      }
      const now = Date.now();
      slot.crashes = [...slot.crashes.filter((at) => now - at < 60_000), now];
      const delayMs = restartDelay(slot.crashes.length);
      restarts.inc();
      log.error(
        { worker: slot.index, workerPid: worker.process.pid, code, signal, restartInMs: delayMs },
        'worker died; replacing it',
      );
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (!stopping) fork(slot);
      }, delayMs);
    });
  };

  const stopWorkers = async (deadlineMs: number) => {
    stopping = true;
    for (const slot of slots) clearTimeout(slot.restartTimer);
    const alive = slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));
    const exited = alive.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) resolve();
          else worker.once('exit', () => resolve());
        }),
    );
    for (const worker of alive) if (!worker.isDead()) worker.process.kill('SIGTERM');
    // The workers cut their requests at the deadline themselves; this is for one that hangs.
    const backstop = setTimeout(() => {
      for (const worker of alive) if (!worker.isDead()) worker.process.kill('SIGKILL');
    }, deadlineMs + 10_000);
    await Promise.all(exited);
    clearTimeout(backstop);
  };

  // Start: every worker listening, or none.
  try {
    await new Promise<void>((resolve, reject) => {
      allListening = resolve;
      startupFailed = reject;
      for (const slot of slots) fork(slot);
    });
  } catch (error) {
    log.fatal({ err: error }, 'workers could not start');
    await stopWorkers(0);
    return 1;
  }
  started = true;

  const admin = createAdminHandler({
    metrics: {
      registry: {
        contentType: registry.contentType,
        metrics: async () => {
          const perWorker = await Promise.allSettled(
            listeningWorkers().map((worker) => call(worker, { method: 'metrics' })),
          );
          const all = perWorker.flatMap((result) =>
            result.status === 'fulfilled' ? [result.value as MetricsJson] : [],
          );
          all.push(await registry.getMetricsAsJSON());
          return AggregatorRegistry.aggregate(all).metrics();
        },
      },
    },
    adminToken: () => config.server.adminToken,
    readiness: () => [
      {
        name: 'workers',
        check: async () => {
          const listening = listeningWorkers().length;
          if (listening < count) throw new Error(`${listening} of ${count} workers listening`);
        },
      },
      ...listeningWorkers().map((worker, index) => ({
        name: `worker ${index} (pid ${worker.process.pid})`,
        check: async () => {
          const readiness = (await call(worker, { method: 'readiness' })) as Readiness;
          if (readiness.ready) return;
          const failing = readiness.checks.filter((check) => !check.ok);
          throw new Error(failing.map((check) => `${check.name}: ${check.error}`).join('; '));
        },
      })),
    ],
    routes: {
      list: async () => {
        const [first] = listeningWorkers();
        if (!first) throw new Error('no worker is listening');
        return (await call(first, { method: 'routes' })) as unknown[];
      },
      reset: async (route) => {
        const results = await Promise.all(
          listeningWorkers().map((worker) => call(worker, { method: 'reset-canary', route })),
        );
        if (results.includes(true)) return true;
        return results.includes(false) ? false : undefined;
      },
    },
  });
  const adminServer = createServer((req, res) => {
    admin(req, res).catch((error: unknown) => {
      log.error({ err: error, path: req.url?.split('?')[0] }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end('{"error":"internal error"}');
    });
  });
  try {
    await listen(adminServer, config.server.admin);
  } catch (error) {
    log.fatal({ err: error }, 'admin listener could not start');
    await stopWorkers(0);
    return 1;
  }
  const { listen: publicAddress } = config.server;
  log.info(
    {
      version,
      config: configFile ?? '(embedded default)',
      workers: count,
      public: `http://${hostForUrl(publicAddress.host)}:${publicAddress.port}`,
      admin: urlOf(adminServer.address() as AddressInfo),
    },
    'tusgate listening',
  );

  /** Reads and validates the file once; every worker gets the same text, or none does. */
  const reload = async (file: string) => {
    let next: string;
    let issues: ConfigIssue[];
    let candidate: Config | undefined;
    try {
      next = await readFile(file, 'utf8');
      const report = inspectConfigText(next);
      issues = [...report.issues, ...(await authenticatorIssues(report.document))];
      candidate = report.config;
    } catch (error) {
      next = '';
      issues = [{ path: '', message: `cannot read config file (${(error as Error).message})` }];
    }
    if (issues.length > 0 || candidate === undefined) {
      log.error(
        { file, issues },
        'configuration reload refused; the previous configuration stays in effect',
      );
      for (const worker of listeningWorkers()) {
        sendTo(worker, { tusgate: 'reload-refused', file, issues });
      }
      return;
    }
    text = next;
    config = withOverrides(candidate, overrides);
    const results = await Promise.allSettled(
      listeningWorkers().map((worker) => call(worker, { method: 'reload', text: next, file })),
    );
    const refused = results.filter(
      (result) => result.status === 'rejected' || result.value !== true,
    ).length;
    if (refused > 0) log.error({ file, refused }, 'some workers refused the new configuration');
    else log.info({ file, workers: results.length }, 'configuration reloaded in every worker');
  };
  const stopWatching = configFile
    ? watchConfig(configFile, log, () => void reload(configFile))
    : () => {};

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal, workers: listeningWorkers().length }, 'signal received; stopping workers');
      stopWatching();
      void stopWorkers(config.server.shutdownTimeout).then(() => {
        adminServer.close();
        adminServer.closeAllConnections();
        log.info('stopped');
        resolve(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

function listen(server: Server, address: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function urlOf(address: AddressInfo): string {
  return `http://${hostForUrl(address.address)}:${address.port}`;
}
