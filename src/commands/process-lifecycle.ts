import type { Gateway } from '../gateway/gateway.ts';

/** A crash is the most unexpected error of all: report it, give Sentry a moment, then exit. */
export function reportCrashes(gateway: Gateway): void {
  const crash = (what: string) => (error: unknown) => {
    gateway.log.fatal({ err: error }, what);
    gateway.errors.report(error, { kind: 'crash' });
    void gateway.errors.flush(2000).finally(() => process.exit(1));
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled rejection'));
}

export function logUploadEndpoints(gateway: Gateway, publicUrl: string): void {
  for (const route of gateway.currentConfig.routes) {
    gateway.log.info(
      { route: route.name, uploadUrl: `${publicUrl}${route.match.pathPrefix}` },
      'upload endpoint',
    );
  }
}

/** SIGTERM or SIGINT closes the gateway gracefully; resolves with the exit code. */
export function untilStopped(gateway: Gateway): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      gateway.log.info({ signal }, 'signal received');
      gateway.close().then(
        () => resolve(0),
        (error: unknown) => {
          gateway.log.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
