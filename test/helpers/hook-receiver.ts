import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HookEvent } from '../../src/hooks/types.ts';

/** A hook as a receiver gets it: tusd's JSON, and the headers of the hook request. */
export type ReceivedHook = HookEvent & { headers: IncomingHttpHeaders };

export interface HookReceiver {
  url: string;
  hooks: ReceivedHook[];
  /** What to answer for a hook type: status and JSON body (default 200 and {}). */
  answer: (type: string, status: number, body?: unknown) => void;
  /** Stops listening (connections refused) until `start` is called again on the same port. */
  stop: () => Promise<void>;
  start: () => Promise<void>;
  close: () => Promise<void>;
}

/** A hook receiver written to tusd's documented HTTP hook contract. */
export async function startHookReceiver(): Promise<HookReceiver> {
  const hooks: ReceivedHook[] = [];
  const answers = new Map<string, { status: number; body: unknown }>();
  let port = 0;
  let server: Server | undefined;
  const start = async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const hook = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedHook;
        hook.headers = req.headers;
        hooks.push(hook);
        const answer = answers.get(hook.Type) ?? { status: 200, body: {} };
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
      server = undefined;
    });
  await start();
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    hooks,
    answer: (type, status, body = {}) => answers.set(type, { status, body }),
    stop,
    start,
    close: stop,
  };
}

/** Waits until `check` passes or the time is up. */
export async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
