import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { embeddedDefaultConfig } from '../config/defaults.ts';
import { loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/schema/index.ts';
import { ConfigError, StartupError } from '../errors.ts';
import { Gateway } from '../gateway/gateway.ts';
import { createLogger } from '../observability/logger.ts';
import { version } from '../version.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Listen addresses from the command line or the environment, over the config's. */
export interface ListenOverrides {
  listen?: ListenAddress;
  admin?: ListenAddress;
}

/**
 * Runs the gateway. The overrides (--listen/TUSGATE_LISTEN, --admin/TUSGATE_ADMIN) replace the
 * config's listen addresses, for the embedded default and a config file alike, reloads included.
 */
export async function serveCommand(
  configFile: string | undefined,
  overrides: ListenOverrides = {},
): Promise<number> {
  let config: Config;
  try {
    config = configFile ? await loadConfigFile(configFile) : embeddedDefaultConfig();
    config = withOverrides(config, overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
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
  // A crash is the most unexpected error of all: report it, give Sentry a moment, then exit.
  const crash = (what: string) => (error: unknown) => {
    log.fatal({ err: error }, what);
    gateway.errors.report(error, { kind: 'crash' });
    void gateway.errors.flush(2000).finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled rejection'));

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
  for (const route of config.routes) {
    log.info(
      { route: route.name, uploadUrl: `${addresses.publicUrl}${route.match.pathPrefix}` },
      'upload endpoint',
    );
  }

  if (configFile) watchConfig(configFile, gateway, log, (next) => withOverrides(next, overrides));

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'signal received');
      gateway.close().then(
        () => resolve(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

function withOverrides(config: Config, overrides: ListenOverrides): Config {
  const server = { ...config.server };
  if (overrides.listen) server.listen = overrides.listen;
  if (overrides.admin) server.admin = overrides.admin;
  return { ...config, server };
}

/** SIGHUP and changes of the file reload the config; a burst of file events reloads once. */
function watchConfig(
  file: string,
  gateway: Gateway,
  log: Logger,
  adjust: (config: Config) => Config,
): void {
  let timer: NodeJS.Timeout | undefined;
  const reload = (reason: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      log.info({ reason, file }, 'reloading configuration');
      void gateway.reloadFromFile(file, adjust);
    }, 200);
  };
  process.on('SIGHUP', () => reload('SIGHUP'));
  try {
    // Watch the folder: editors replace files by rename, which ends a watch on the file itself.
    const name = basename(file);
    const watcher = watch(dirname(resolve(file)), (_event, changed) => {
      if (changed === name) reload('file changed');
    });
    watcher.unref();
  } catch (error) {
    log.warn({ err: error, file }, 'cannot watch the config file; reload with SIGHUP');
  }
}
