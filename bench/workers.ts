/**
 * Workers benchmark: tusgate → tusd with `server.workers: 1` and `2`, against nginx → tusd with
 * `worker_processes 1` and `2`, in one run. For each: 64 concurrent 16 MiB proxied uploads
 * (MiB/s, CPU-seconds per GiB of the hop's whole process tree: primary and workers, or nginx's
 * master and workers) and HEAD at 100 keep-alive connections (req/s, p50, p99); then the ratios
 * tusgate/nginx at the same number of processes.
 * Sizes: BENCH_CONCURRENT (64), BENCH_SMALL_MIB (16), BENCH_HEAD_SECONDS (8), BENCH_ROUNDS (1;
 * the best round is reported).
 */

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../test/helpers/files.ts';
import { startNginx } from '../test/helpers/nginx.ts';
import { headLoad, type LatencyResult } from './lib/head-load.ts';
import { concurrentUploads, createUpload } from './lib/load.ts';
import { treeCpuSeconds } from './lib/proc.ts';
import { type Server, startGatewayServer, startTusdServer } from './lib/servers.ts';
import { printTable } from './lib/table.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const concurrent = env('BENCH_CONCURRENT', 64);
const smallBytes = env('BENCH_SMALL_MIB', 16) * 2 ** 20;
const headSeconds = env('BENCH_HEAD_SECONDS', 8);
const rounds = env('BENCH_ROUNDS', 1);

interface Result {
  name: string;
  kind: 'tusgate' | 'nginx';
  processes: number;
  mibPerSecond: number;
  hopCpuPerGiB: number;
  head: LatencyResult;
}

async function benchTarget(
  name: string,
  kind: Result['kind'],
  processes: number,
  front: (tusdPort: number, dir: string) => Promise<Server>,
): Promise<Result> {
  const dir = await tempDir('tusgate-bench-workers-');
  const tusd = await startTusdServer(join(dir.path, 'tusd'));
  const hop = await front(tusd.port, join(dir.path, 'front'));
  let best: { mibPerSecond: number; hopCpuPerGiB: number } | undefined;
  try {
    for (let round = 0; round < rounds; round++) {
      const before = treeCpuSeconds(hop.pid as number);
      const seconds = await concurrentUploads(hop.endpoint, concurrent, smallBytes);
      const bytes = concurrent * smallBytes;
      const measured = {
        mibPerSecond: bytes / 2 ** 20 / seconds,
        hopCpuPerGiB: (treeCpuSeconds(hop.pid as number) - before) / (bytes / 2 ** 30),
      };
      if (!best || measured.mibPerSecond > best.mibPerSecond) best = measured;
      await rm(join(dir.path, 'tusd'), { recursive: true, force: true }).catch(() => {});
    }
    const urls = await Promise.all(
      Array.from({ length: 100 }, () => createUpload(hop.endpoint, 1024)),
    );
    const head = await headLoad(urls, headSeconds);
    return { name, kind, processes, ...best!, head };
  } finally {
    await hop.stop();
    await tusd.stop();
    await dir.remove();
  }
}

const tusgate = (workers: number) => (port: number, dir: string) =>
  startGatewayServer(
    dir,
    [
      {
        name: 'bench',
        match: { pathPrefix: '/files/' },
        backends: { tusd: { type: 'tusd', url: `http://127.0.0.1:${port}/files/` } },
      },
    ],
    {},
    { workers },
  );

export async function runWorkersBenchmark(): Promise<void> {
  console.log(
    `workers benchmark: ${concurrent} × ${smallBytes / 2 ** 20} MiB proxied, HEAD ${headSeconds}s at ` +
      `100 connections, best of ${rounds}; hop CPU counts the whole process tree\n`,
  );
  const results: Result[] = [];
  for (const processes of [1, 2]) {
    results.push(
      await benchTarget(`tusgate workers: ${processes}`, 'tusgate', processes, tusgate(processes)),
    );
    results.push(
      await benchTarget(`nginx worker_processes ${processes}`, 'nginx', processes, (port, dir) =>
        startNginx(dir, port, { workerProcesses: processes }),
      ),
    );
  }
  printTable(
    ['target', `${concurrent}× MiB/s`, 'hop CPU s/GiB', 'HEAD req/s', 'p50 ms', 'p99 ms'],
    results.map((r) => [
      r.name,
      r.mibPerSecond.toFixed(1),
      r.hopCpuPerGiB.toFixed(2),
      r.head.requestsPerSecond.toFixed(0),
      r.head.p50Ms.toFixed(2),
      r.head.p99Ms.toFixed(2),
    ]),
  );
  console.log(
    '\ntusgate / nginx at the same number of processes (targets: HEAD ≥ 1×, CPU ≤ 1.1×):',
  );
  for (const processes of [1, 2]) {
    const ours = results.find((r) => r.kind === 'tusgate' && r.processes === processes)!;
    const theirs = results.find((r) => r.kind === 'nginx' && r.processes === processes)!;
    console.log(
      `  ${processes} process(es): HEAD req/s ${(ours.head.requestsPerSecond / theirs.head.requestsPerSecond).toFixed(2)}×, ` +
        `CPU-s/GiB ${(ours.hopCpuPerGiB / theirs.hopCpuPerGiB).toFixed(2)}×, ` +
        `MiB/s ${(ours.mibPerSecond / theirs.mibPerSecond).toFixed(2)}×`,
    );
  }
  const one = results.find((r) => r.kind === 'tusgate' && r.processes === 1)!;
  const two = results.find((r) => r.kind === 'tusgate' && r.processes === 2)!;
  console.log(
    `  tusgate workers: 2 / workers: 1: HEAD req/s ${(two.head.requestsPerSecond / one.head.requestsPerSecond).toFixed(2)}×, ` +
      `MiB/s ${(two.mibPerSecond / one.mibPerSecond).toFixed(2)}×`,
  );
}

if (import.meta.main) await runWorkersBenchmark();
