/**
 * What the primary and its workers say to each other over the cluster's IPC channel, beside the
 * lock messages (backends/locking/primary-locker.ts). Every message carries a `tusgate` kind, so
 * Node's and prom-client's own messages on the same channel pass by.
 */

/** Worker → primary. */
export type WorkerMessage =
  /** Ready for its config. */
  | { tusgate: 'hello' }
  /** Its public listener accepts connections. */
  | { tusgate: 'listening'; url: string }
  | { tusgate: 'call-result'; call: number; result?: unknown; error?: string };

/** What the primary asks a worker, and gets as `result`. */
export type WorkerCall =
  | { method: 'readiness' }
  | { method: 'metrics' }
  | { method: 'routes' }
  | { method: 'reset-canary'; route: string }
  /** A new config the primary validated: the worker's answer is whether it took it. */
  | { method: 'reload'; text: string; file: string };

/** Primary → worker. */
export type PrimaryMessage =
  | { tusgate: 'start'; slot: number; text: string | null; file: string | null }
  | ({ tusgate: 'call'; call: number } & WorkerCall)
  /** The primary refused a reload: counted and logged by each worker as its own. */
  | { tusgate: 'reload-refused'; file: string; issues: { path: string; message: string }[] };

export function isMessage<T extends { tusgate: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && 'tusgate' in message;
}
