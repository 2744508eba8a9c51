import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DateShardedStore } from '../../src/backends/native/store.ts';
import { validateConfig } from '../../src/config/load.ts';
import { tempDir } from './files.ts';
import { type RunningGateway, startGateway, startGatewayProcess } from './gateway.ts';

export const nativeBase = '/files/';

export interface NativeGateway extends RunningGateway {
  /** Collection URL: `http://127.0.0.1:PORT/files/`. */
  endpoint: string;
  root: string;
  handoffDir: string;
  store: DateShardedStore;
  /** Path of the data file behind an upload URL. */
  dataPath: (url: string) => string;
  stopAndRemove: () => Promise<void>;
}

export interface NativeGatewayOptions {
  store?: Record<string, unknown>;
  route?: Record<string, unknown>;
  backend?: Record<string, unknown>;
  /** Extra backends beside `native` (e.g. a legacy tusd). */
  backends?: Record<string, unknown>;
  create?: string;
}

/**
 * A config whose route serves natively from a store under `dir`. The hand-off folder is created
 * here: Galaxy's exists before tusgate starts, and tusgate refuses one that does not.
 */
export function nativeConfig(dir: string, options: NativeGatewayOptions = {}) {
  const main = {
    type: 'date-sharded',
    root: join(dir, 'store'),
    handoffDir: join(dir, 'handoff'),
    expiresAfter: '7d',
    ...options.store,
  };
  if (typeof main.handoffDir === 'string') mkdirSync(main.handoffDir, { recursive: true });
  return {
    stores: { main },
    routes: [
      {
        name: 'uploads',
        match: { pathPrefix: nativeBase },
        maxSize: '1GiB',
        backends: {
          native: { type: 'native', store: 'main', ...options.backend },
          ...options.backends,
        },
        create: options.create ?? 'native',
        ...options.route,
      },
    ],
  };
}

/** An in-process gateway whose route serves natively from a fresh temporary store. */
export async function startNativeGateway(
  options: NativeGatewayOptions = {},
): Promise<NativeGateway> {
  const dir = await tempDir('tusgate-native-');
  const raw = nativeConfig(dir.path, options);
  const config = validateConfig({ ...raw, server: { listen: '127.0.0.1:0' } });
  const store = new DateShardedStore('main', config.stores.main!);
  const gateway = await startGateway(raw);
  return {
    ...gateway,
    endpoint: `${gateway.url}${nativeBase}`,
    root: store.root,
    handoffDir: store.handoffDir!,
    store,
    dataPath: (url) => store.pathsFor(url.slice(url.lastIndexOf('/') + 1)).data,
    stopAndRemove: async () => {
      await gateway.stop();
      await dir.remove();
    },
  };
}

/** What protocol tests need of a native gateway, whether in this process or a CLI process. */
export type NativeEndpoint = Pick<
  NativeGateway,
  'url' | 'adminUrl' | 'endpoint' | 'root' | 'handoffDir' | 'store' | 'dataPath' | 'stopAndRemove'
>;

/**
 * A native gateway as in startNativeGateway; with `workers` above 1 it is the built CLI with
 * `server.workers` (a primary and that many worker processes sharing the listener).
 */
export async function startNativeGatewayWith(
  options: NativeGatewayOptions & { workers?: number } = {},
): Promise<NativeEndpoint> {
  const { workers = 1, ...rest } = options;
  if (workers === 1) return startNativeGateway(rest);
  const dir = await tempDir('tusgate-native-');
  const raw = nativeConfig(dir.path, rest);
  const config = validateConfig({ ...raw, server: { listen: '127.0.0.1:0' } });
  const store = new DateShardedStore('main', config.stores.main!);
  const gateway = await startGatewayProcess(
    { ...raw, server: { workers } },
    { startTimeoutMs: 60_000 },
  );
  return {
    url: gateway.url,
    adminUrl: gateway.adminUrl,
    endpoint: `${gateway.url}${nativeBase}`,
    root: store.root,
    handoffDir: store.handoffDir!,
    store,
    dataPath: (url) => store.pathsFor(url.slice(url.lastIndexOf('/') + 1)).data,
    stopAndRemove: async () => {
      const code = await gateway.stop();
      await dir.remove();
      if (code !== 0) throw new Error(`tusgate exited with ${code}\n${gateway.output()}`);
    },
  };
}
