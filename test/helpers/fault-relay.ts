import { connect, createServer, type Server, type Socket } from 'node:net';
import { listenOnLoopback } from './ports.ts';

/** What the relay does to the bytes between a client (tusgate) and a server (tusd). */
export type RelayMode =
  | { kind: 'pass' }
  /** Holds every chunk this long before passing it on, in order. */
  | { kind: 'latency'; ms: number }
  /** Passes this many more client→server bytes, then resets both connections (TCP RST). */
  | { kind: 'reset-after'; bytes: number }
  /**
   * Passes this many more client→server bytes, then that connection goes silent in both
   * directions and is never closed by the relay: a half-open peer.
   */
  | { kind: 'blackhole-after'; bytes: number };

export interface FaultRelay {
  port: number;
  /** e.g. http://127.0.0.1:PORT */
  origin: string;
  /** Arms a fault; a one-shot fault (reset, blackhole) falls back to `pass` once it fired. */
  setMode(mode: RelayMode): void;
  /** Faults fired so far. */
  readonly fired: { resets: number; blackholes: number };
  close(): Promise<void>;
}

/**
 * A TCP relay of the tests' own in front of a real server, to inject network faults between
 * tusgate and its backend: latency, a reset in the middle of a body, a half-open connection.
 */
export async function startFaultRelay(targetPort: number): Promise<FaultRelay> {
  let mode: RelayMode = { kind: 'pass' };
  /** Client→server bytes still allowed through before the armed one-shot fault fires. */
  let budget = 0;
  const fired = { resets: 0, blackholes: 0 };
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    let silent = false;
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    const fire = (fault: 'reset-after' | 'blackhole-after') => {
      mode = { kind: 'pass' };
      if (fault === 'reset-after') {
        fired.resets++;
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      } else {
        fired.blackholes++;
        silent = true;
      }
    };
    const relay = (from: Socket, to: Socket, clientToServer: boolean) => {
      from.on('data', (chunk: Buffer) => {
        if (silent) return;
        const current = mode;
        if (current.kind === 'latency') {
          from.pause();
          setTimeout(() => {
            if (!to.destroyed) to.write(chunk);
            from.resume();
          }, current.ms);
          return;
        }
        if (
          clientToServer &&
          (current.kind === 'reset-after' || current.kind === 'blackhole-after')
        ) {
          if (chunk.length >= budget) {
            const head = chunk.subarray(0, budget);
            budget = 0;
            to.write(head, () => fire(current.kind));
            return;
          }
          budget -= chunk.length;
        }
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.once('end', () => {
        if (!silent) to.end();
      });
      from.once('close', () => {
        if (!silent) to.destroy();
      });
    };
    relay(client, upstream, true);
    relay(upstream, client, false);
  });
  const port = await listenOnLoopback(server);
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    setMode(next) {
      mode = next;
      if (next.kind === 'reset-after' || next.kind === 'blackhole-after') budget = next.bytes;
    },
    fired,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
