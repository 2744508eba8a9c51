/**
 * Native on S3 vs tusd's s3store, both against the same Versity Gateway (one run): one large
 * upload (BENCH_LARGE_MIB, 1024) and BENCH_CONCURRENT (64) × BENCH_SMALL_MIB (16) at once, each
 * as one streaming PATCH. Prints MiB/s, each server's CPU-seconds per GiB (from /proc) and its
 * peak RSS (VmHWM). Needs `npm run build` and scripts/ensure-test-deps.sh (versitygw, tusd).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../test/helpers/files.ts';
import { freePort, waitForPort } from '../test/helpers/ports.ts';
import { startS3Server } from '../test/helpers/s3-server.ts';
import { concurrentUploads, uploadOnce } from './lib/load.ts';
import { treeCpuSeconds } from './lib/proc.ts';
import { type Server, startGatewayServer } from './lib/servers.ts';
import { printTable } from './lib/table.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const largeBytes = env('BENCH_LARGE_MIB', 1024) * 2 ** 20;
const concurrent = env('BENCH_CONCURRENT', 64);
const smallBytes = env('BENCH_SMALL_MIB', 16) * 2 ** 20;

const cleanups: (() => Promise<void>)[] = [];
const s3 = await startS3Server({ after: (fn: () => Promise<void>) => void cleanups.push(fn) });
const dir = await tempDir('tusgate-bench-s3-');

async function startTusdS3(): Promise<Server> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    join(import.meta.dirname, '..', '.cache', 'bin', 'tusd'),
    [
      '-host',
      '127.0.0.1',
      '-port',
      String(port),
      '-s3-bucket',
      s3.bucket,
      '-s3-endpoint',
      s3.endpoint,
      '-s3-object-prefix',
      'tusd/',
      '-behind-proxy',
      '-verbose=false',
    ],
    {
      stdio: 'ignore',
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: 'us-east-1',
      },
    },
  );
  await waitForPort(port);
  return {
    name: "tusd's s3store",
    endpoint: `http://127.0.0.1:${port}/files/`,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}

const native = await startGatewayServer(
  join(dir.path, 'native'),
  [
    {
      name: 'bench',
      match: { pathPrefix: '/files/' },
      backends: { native: { type: 'native', store: 'objects' } },
    },
  ],
  {
    objects: {
      type: 's3',
      bucket: s3.bucket,
      prefix: 'native/',
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      forcePathStyle: true,
    },
  },
);
native.name = 'tusgate native on s3';
const tusd = await startTusdS3();

const peakRss = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const rows: string[][] = [];
for (const server of [tusd, native]) {
  const pid = server.pid!;
  for (const [label, bytes, work] of [
    [
      `1 × ${largeBytes / 2 ** 20} MiB`,
      largeBytes,
      async () => {
        const agent = new Agent({ keepAlive: true });
        const started = performance.now();
        await uploadOnce(agent, server.endpoint, largeBytes);
        agent.destroy();
        return (performance.now() - started) / 1000;
      },
    ],
    [
      `${concurrent} × ${smallBytes / 2 ** 20} MiB`,
      concurrent * smallBytes,
      () => concurrentUploads(server.endpoint, concurrent, smallBytes),
    ],
  ] as const) {
    const before = treeCpuSeconds(pid);
    const seconds = await work();
    const cpu = treeCpuSeconds(pid) - before;
    rows.push([
      server.name,
      label,
      (bytes / 2 ** 20 / seconds).toFixed(0),
      (cpu / (bytes / 2 ** 30)).toFixed(2),
      peakRss(pid).toFixed(0),
    ]);
  }
}
printTable(['server', 'load', 'MiB/s', 'CPU-s/GiB', 'peak RSS MiB (so far)'], rows);
await native.stop();
await tusd.stop();
for (const cleanup of cleanups) await cleanup();
await dir.remove();
