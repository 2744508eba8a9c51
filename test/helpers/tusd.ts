import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './files.ts';
import { freePort, waitForPort } from './ports.ts';

export const tusdBinary = join(import.meta.dirname, '..', '..', '.cache', 'bin', 'tusd');

export interface TusdOptions {
  /** Upload folder; a fresh temporary one by default. Pass the old one to restart over the same data. */
  dir?: string;
  port?: number;
  basePath?: string;
  behindProxy?: boolean;
  extraArgs?: string[];
}

export interface RunningTusd {
  port: number;
  /** e.g. http://127.0.0.1:PORT/files/ */
  url: string;
  dir: string;
  process: ChildProcess;
  /** Stops tusd (SIGTERM, then SIGKILL) and removes its folder unless `keepData`. */
  stop: (options?: { keepData?: boolean }) => Promise<void>;
  /** SIGKILLs tusd at once, keeping its data. */
  kill: () => Promise<void>;
  /** tusd's log output so far (the last 64 KiB). */
  logs: () => string;
}

/** Starts the real tusd. Fails loudly when the binary is missing: tests never skip. */
export async function startTusd(options: TusdOptions = {}): Promise<RunningTusd> {
  if (!existsSync(tusdBinary)) {
    throw new Error(
      `tusd is not installed at ${tusdBinary}; run "sh scripts/ensure-tusd.sh" (npm test does)`,
    );
  }
  const temp = options.dir ? undefined : await tempDir('tusd-');
  const dir = options.dir ?? (temp as { path: string }).path;
  const port = options.port ?? (await freePort());
  const basePath = options.basePath ?? '/files/';
  const args = [
    '-host',
    '127.0.0.1',
    '-port',
    String(port),
    '-upload-dir',
    dir,
    '-base-path',
    basePath,
    '-disable-download=false',
    ...(options.behindProxy === false ? [] : ['-behind-proxy']),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(tusdBinary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const collect = (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-65536);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`tusd did not start: ${(error as Error).message}\n${stderr}`);
  }
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    url: `http://127.0.0.1:${port}${basePath}`,
    dir,
    process: child,
    stop: async ({ keepData = false } = {}) => {
      await stopWith('SIGTERM');
      if (!keepData) await temp?.remove();
    },
    kill: () => stopWith('SIGKILL'),
    logs: () => stderr,
  };
}
