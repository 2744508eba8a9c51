import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, waitForPort } from './ports.ts';

export interface RunningRedis {
  port: number;
  /** redis://127.0.0.1:PORT/0 */
  url: string;
  /** SIGKILLs the server (an outage: connections drop, nothing answers). */
  kill: () => Promise<void>;
  /** SIGSTOPs the server: connections stay open and nothing answers (a hung Redis). */
  pause: () => void;
  /** SIGCONTs a paused server. */
  resume: () => void;
  /** Starts it again on the same port, empty (it saves nothing). */
  restart: () => Promise<void>;
  /** Stops it for good. */
  stop: () => Promise<void>;
}

/**
 * A redis-server of the test's own on a free port, saving nothing: outages can be staged without
 * touching the machine's Redis. Fails loudly when redis-server is not installed.
 */
export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const spawnFailed = new Promise<never>((_, reject) =>
      started.once('error', (error) =>
        reject(new Error(`redis-server could not start (is it installed?): ${error.message}`)),
      ),
    );
    started.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-16384);
    });
    started.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-16384);
    });
    child = started;
    try {
      await Promise.race([waitForPort(port), spawnFailed]);
    } catch (error) {
      started.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${output}`);
    }
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    kill,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    restart: async () => {
      await kill();
      await start();
    },
    stop: kill,
  };
}
