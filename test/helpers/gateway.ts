import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { stringify } from 'yaml';
import { validateConfig } from '../../src/config/load.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { tempDir } from './files.ts';
import { freePort, waitForPort } from './ports.ts';

export const projectRoot = join(import.meta.dirname, '..', '..');
export const cliEntry = join(projectRoot, 'dist', 'main.js');
/** Node 24 from the `node` devDependency; the system Node may be older. */
export const nodeBinary = process.execPath;

export interface RunningGateway {
  gateway: Gateway;
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  adminUrl: string;
  /** JSON log lines written so far. */
  logs: () => Record<string, unknown>[];
  stop: () => Promise<void>;
}

/** Raw config (as YAML would give it) with ports defaulting to random free ones. */
export function withFreePorts(raw: Record<string, unknown>): Record<string, unknown> {
  const server = { listen: '127.0.0.1:0', admin: '127.0.0.1:0', ...(raw.server as object) };
  return { logging: { level: 'debug', pretty: false }, ...raw, server };
}

/** Starts a gateway inside the test process on random ports; logs are captured, not printed. */
export async function startGateway(raw: Record<string, unknown>): Promise<RunningGateway> {
  const config = validateConfig(withFreePorts(raw));
  const lines: string[] = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) =>
    lines.push(...chunk.toString().split('\n').filter(Boolean)),
  );
  const log = createLogger({ level: config.logging.level, pretty: false, destination });
  const gateway = new Gateway(config, { log });
  const addresses = await gateway.listen();
  return {
    gateway,
    url: addresses.publicUrl,
    adminUrl: addresses.adminUrl!,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: () => gateway.close(2000),
  };
}

export interface GatewayProcess {
  url: string;
  adminUrl: string;
  configFile: string;
  process: ChildProcess;
  output: () => string;
  /** Sends a signal and waits for exit; returns the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Runs `tusgate serve --config FILE` as a real process (the built CLI) on random ports. */
export async function startGatewayProcess(
  raw: Record<string, unknown>,
  options: GatewayProcessOptions = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const dir = await tempDir('tusgate-config-');
  const configFile = join(dir.path, 'tusgate.yaml');
  const config = withFreePorts(raw);
  config.server = {
    ...(config.server as object),
    listen: `127.0.0.1:${port}`,
    admin: `127.0.0.1:${adminPort}`,
  };
  config.logging = { level: 'info', pretty: false };
  await writeFile(configFile, stringify(config));
  const running = await runGatewayProcess(configFile, { port, adminPort }, options);
  return {
    ...running,
    stop: async (signal) => {
      const code = await running.stop(signal);
      await dir.remove();
      return code;
    },
  };
}

export interface GatewayProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How long the admin listener may take to open (a primary opens it once every worker listens). */
  startTimeoutMs?: number;
}

/** Runs `tusgate serve --config FILE` over a config file that listens on these ports. */
export async function runGatewayProcess(
  configFile: string,
  ports: { port: number; adminPort: number },
  options: GatewayProcessOptions = {},
): Promise<GatewayProcess> {
  const { port, adminPort } = ports;
  const child = spawn(nodeBinary, [cliEntry, 'serve', '--config', configFile], {
    cwd: options.cwd ?? projectRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  try {
    await Promise.race([
      waitForPort(adminPort, options.startTimeoutMs ?? 15_000),
      exited.then((code) => {
        throw new Error(`tusgate exited with ${code}`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    configFile,
    process: child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
