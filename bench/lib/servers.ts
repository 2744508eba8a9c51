import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, waitForPort } from '../../test/helpers/ports.ts';

export interface Server {
  name: string;
  /** Collection URL uploads are POSTed to. */
  endpoint: string;
  /** Process whose CPU time is the cost of this hop (the gateway, nginx), or undefined. */
  pid?: number;
  /** The gateway's admin listener (metrics), e.g. http://127.0.0.1:PORT. */
  adminUrl?: string;
  stop: () => Promise<void>;
}

const projectRoot = join(import.meta.dirname, '..', '..');

/**
 * The V8 flags every shipped launcher gives tusgate (the bin's shebang, `npm start`, the
 * Dockerfile, the systemd unit): the gateway is measured as it runs in production.
 */
export const gatewayNodeFlags = ['--max-semi-space-size=16'];

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
}

export async function startTusdServer(dir: string): Promise<Server & { port: number }> {
  const port = await freePort();
  await mkdir(dir, { recursive: true });
  const child = spawn(
    join(projectRoot, '.cache', 'bin', 'tusd'),
    [
      '-host',
      '127.0.0.1',
      '-port',
      String(port),
      '-upload-dir',
      dir,
      '-behind-proxy',
      '-verbose=false',
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(port);
  return {
    name: 'tusd',
    port,
    endpoint: `http://127.0.0.1:${port}/files/`,
    pid: child.pid,
    stop: stopper(child),
  };
}

export async function startGatewayServer(
  dir: string,
  routes: Record<string, unknown>[],
  stores: Record<string, unknown> = {},
  /** More `server` keys (tls, http2...); with `tls` the endpoint is https. */
  server: Record<string, unknown> = {},
): Promise<Server> {
  const port = await freePort();
  const admin = await freePort();
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'tusgate.yaml');
  await writeFile(
    configFile,
    stringify({
      server: { ...server, listen: `127.0.0.1:${port}`, admin: `127.0.0.1:${admin}` },
      logging: { level: 'info', pretty: false },
      stores,
      routes,
    }),
  );
  const child = spawn(
    process.execPath,
    [...gatewayNodeFlags, join(projectRoot, 'dist', 'main.js'), 'serve', '--config', configFile],
    {
      stdio: 'ignore',
    },
  );
  // With workers, the admin listener opens once every worker listens.
  await waitForPort(admin, 60_000);
  const base = (routes[0]?.match as { pathPrefix?: string } | undefined)?.pathPrefix ?? '/files/';
  return {
    name: 'tusgate',
    endpoint: `${server.tls ? 'https' : 'http'}://127.0.0.1:${port}${base}`,
    pid: child.pid,
    adminUrl: `http://127.0.0.1:${admin}`,
    stop: stopper(child),
  };
}

/** The tus organisation's Node server (@tus/server + @tus/file-store) as a peer. */
export async function startTusNodeServer(dir: string): Promise<Server> {
  const port = await freePort();
  await mkdir(dir, { recursive: true });
  const child = spawn(
    process.execPath,
    [join(projectRoot, 'bench', 'lib', 'tus-node-server.ts'), String(port), dir],
    { stdio: 'ignore' },
  );
  await waitForPort(port);
  return {
    name: '@tus/server',
    endpoint: `http://127.0.0.1:${port}/files/`,
    pid: child.pid,
    stop: stopper(child),
  };
}

/** tusgate serving natively from a date-sharded store under `dir`. */
export function startNativeGatewayServer(dir: string): Promise<Server> {
  return startGatewayServer(
    dir,
    [
      {
        name: 'bench',
        match: { pathPrefix: '/files/' },
        backends: {
          native: {
            type: 'native',
            store: 'main',
            syncOnFinish: process.env.BENCH_NATIVE_SYNC !== '0',
          },
        },
      },
    ],
    { main: { type: 'date-sharded', root: join(dir, 'store'), expiresAfter: '7d' } },
  );
}
