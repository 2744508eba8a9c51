import { InstrumentedLocker } from '../backends/locking/instrumented-locker.ts';
import { PrimaryLockClient, PrimaryLocker } from '../backends/locking/primary-locker.ts';
import { logUploadEndpoints, reportCrashes, untilStopped } from '../commands/process-lifecycle.ts';
import { embeddedDefaultConfig } from '../config/defaults.ts';
import { parseConfigText } from '../config/load.ts';
import { type ListenOverrides, withOverrides } from '../config/overrides.ts';
import type { Config } from '../config/schema/index.ts';
import { ConfigError, StartupError } from '../errors.ts';
import { Gateway } from '../gateway/gateway.ts';
import { createLogger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { isMessage, type PrimaryMessage, type WorkerCall, type WorkerMessage } from './messages.ts';

/**
 * One worker of `server.workers`: a gateway on the shared public listener, with the config the
 * primary validated, the primary's upload locks, no admin listener (the primary's /metrics asks
 * each worker), and the stores' cleanups only in slot 0. Signals: SIGTERM/SIGINT close it as
 * they close a single process; SIGHUP is the primary's to handle.
 */
export async function runWorker(overrides: ListenOverrides): Promise<number> {
  // The primary reloads every worker; a SIGHUP sent to the whole process group must not kill one.
  process.on('SIGHUP', () => {});
  const start = await new Promise<Extract<PrimaryMessage, { tusgate: 'start' }>>((resolve) => {
    const listener = (message: unknown) => {
      if (!isMessage<PrimaryMessage>(message) || message.tusgate !== 'start') return;
      process.off('message', listener);
      resolve(message);
    };
    process.on('message', listener);
    send({ tusgate: 'hello' });
  });
  const read = (text: string | null, file: string | null): Config =>
    withOverrides(
      text === null
        ? embeddedDefaultConfig()
        : parseConfigText(text, process.env, file ?? undefined),
      overrides,
    );
  const config = read(start.text, start.file);
  const log = createLogger(config.logging).child({ worker: start.slot, pid: process.pid });
  const metrics = new Metrics();
  // With memory locking the primary keeps every worker's locks; Redis serves workers as it
  // serves hosts (the gateway builds that locker from `locking`).
  const locker =
    config.locking.type === 'memory'
      ? new InstrumentedLocker(new PrimaryLocker(new PrimaryLockClient()), metrics)
      : undefined;
  let gateway: Gateway;
  try {
    gateway = new Gateway(config, {
      log,
      metrics,
      adminListener: false,
      cleanup: start.slot === 0,
      ...(locker && { locker }),
    });
  } catch (error) {
    if (error instanceof StartupError) {
      process.stderr.write(`tusgate: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  reportCrashes(gateway);

  const answer = async (call: WorkerCall): Promise<unknown> => {
    switch (call.method) {
      case 'readiness':
        return gateway.checkReadiness();
      case 'metrics':
        return gateway.metrics.registry.getMetricsAsJSON();
      case 'routes':
        return gateway.adminRoutes.list();
      case 'reset-canary':
        return gateway.adminRoutes.reset(call.route);
      case 'reload': {
        let next: Config;
        try {
          next = read(call.text, call.file);
        } catch (error) {
          gateway.refuseReload(error, call.file);
          return false;
        }
        // The primary's SIGHUP reaches workers as this call: certificates reload with the config.
        void gateway.reloadCertificates();
        return gateway.reload(next, call.file);
      }
    }
  };
  process.on('message', (message: unknown) => {
    if (!isMessage<PrimaryMessage>(message)) return;
    if (message.tusgate === 'call') {
      answer(message).then(
        (result) => send({ tusgate: 'call-result', call: message.call, result }),
        (error: unknown) =>
          send({ tusgate: 'call-result', call: message.call, error: (error as Error).message }),
      );
    } else if (message.tusgate === 'reload-refused') {
      gateway.refuseReload(new ConfigError(message.issues, message.file), message.file);
    }
  });

  const addresses = await gateway.listen();
  log.info({ public: addresses.publicUrl }, 'worker listening');
  if (start.slot === 0) logUploadEndpoints(gateway, addresses.publicUrl);
  send({ tusgate: 'listening', url: addresses.publicUrl });

  // A primary that is gone cannot hand out locks: stop as on SIGTERM.
  process.once('disconnect', () => process.emit('SIGTERM', 'SIGTERM'));
  const code = await untilStopped(gateway);
  // The IPC channel would keep this process alive.
  process.exit(code);
}

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}
