import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { embeddedDefaultConfig } from '../config/defaults.ts';
import { loadConfigFile, parseConfigText } from '../config/load.ts';
import { type ListenOverrides, withOverrides } from '../config/overrides.ts';
import type { Config } from '../config/schema/index.ts';
import { ConfigError, StartupError } from '../errors.ts';
import { Gateway } from '../gateway/gateway.ts';
import { createLogger } from '../observability/logger.ts';
import { version } from '../version.ts';
import { logUploadEndpoints, reportCrashes, untilStopped } from './process-lifecycle.ts';
import { watchConfig } from './watch-config.ts';

export type { ListenAddress, ListenOverrides } from '../config/overrides.ts';

/** How many processes `server.workers` asks for. */
export function workerCount(workers: Config['server']['workers']): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

/**
 * Runs the gateway. The overrides (--listen/TUSGATE_LISTEN, --admin/TUSGATE_ADMIN) replace the
 * config's listen addresses, for the embedded default and a config file alike, reloads included.
 * With `server.workers` above 1 this process becomes the primary of that many workers
 * (src/cluster/), each of which runs this command again as a worker.
 */
export async function serveCommand(
  configFile: string | undefined,
  overrides: ListenOverrides = {},
): Promise<number> {
  if (cluster.isWorker) {
    const { runWorker } = await import('../cluster/worker.ts');
    return runWorker(overrides);
  }
  let config: Config;
  let text: string | null = null;
  try {
    if (configFile) {
      // The text is what workers get: the primary validated exactly these bytes.
      text = await readFile(configFile, 'utf8').catch(() => null);
      config = text === null ? await loadConfigFile(configFile) : parseConfigText(text);
    } else {
      config = embeddedDefaultConfig();
    }
    config = withOverrides(config, overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const workers = workerCount(config.server.workers);
  if (workers > 1) {
    const { runPrimary } = await import('../cluster/primary.ts');
    return runPrimary({ configFile, text, config, workers, overrides });
  }
  const log = createLogger(config.logging);
  let gateway: Gateway;
  try {
    gateway = new Gateway(config, { log });
  } catch (error) {
    if (error instanceof StartupError) {
      process.stderr.write(`tusgate: ${error.message}\n`);
      return 1;
    }
    // What the file cannot say about itself (a tokens file, a hand-off folder): one clear message.
    if (error instanceof ConfigError) {
      process.stderr.write(`${new ConfigError(error.issues, configFile).message}\n`);
      return 1;
    }
    throw error;
  }
  reportCrashes(gateway);

  const addresses = await gateway.listen();
  log.info(
    {
      version,
      config: configFile ?? '(embedded default)',
      public: addresses.publicUrl,
      admin: addresses.adminUrl,
    },
    'tusgate listening',
  );
  logUploadEndpoints(gateway, addresses.publicUrl);

  if (configFile) {
    watchConfig(configFile, log, () => {
      void gateway.reloadFromFile(configFile, (next) => withOverrides(next, overrides));
    });
  }
  // Certificates reload on SIGHUP as well as when their files change (see gateway/listeners.ts).
  if (config.server.tls || config.server.adminTls) {
    process.on('SIGHUP', () => void gateway.reloadCertificates());
  }
  return untilStopped(gateway);
}
