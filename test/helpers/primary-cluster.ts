import { PrimaryLockTable } from '../../src/backends/locking/primary-lock-table.ts';
import {
  type PrimaryChannel,
  PrimaryLockClient,
  PrimaryLocker,
} from '../../src/backends/locking/primary-locker.ts';

/**
 * The primary's lock table and the workers' lockers, wired as node:cluster wires them but over
 * in-process channels that deliver asynchronously, like IPC. `worker(n)` is worker n's locker;
 * `exit(n)` is worker n's process ending (its channel closes, the primary forgets it).
 */
export function primaryCluster() {
  const listeners = new Map<number, (message: unknown) => void>();
  const disconnects = new Map<number, () => void>();
  const connected = new Map<number, boolean>();
  const table = new PrimaryLockTable((worker, message) => {
    if (!connected.get(worker)) return false;
    setImmediate(() => listeners.get(worker)?.(structuredClone(message)));
    return true;
  });
  let nextWorker = 1;
  const worker = (id = nextWorker++) => {
    connected.set(id, true);
    const channel: PrimaryChannel = {
      send: (message) => {
        setImmediate(() => table.handle(id, structuredClone(message)));
        return true;
      },
      onMessage: (listener) => listeners.set(id, listener),
      connected: () => connected.get(id) === true,
      onDisconnect: (listener) => disconnects.set(id, listener),
    };
    return new PrimaryLocker(new PrimaryLockClient(channel), 'uploads', channel);
  };
  const exit = (id: number) => {
    connected.set(id, false);
    disconnects.get(id)?.();
    table.forgetWorker(id);
  };
  return { table, worker, exit };
}
