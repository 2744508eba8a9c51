/**
 * Proxy benchmark: direct tusd vs tusgate → tusd vs nginx → tusd, measured in one run.
 * Prints MiB/s, CPU-seconds per GiB of the hop in front of tusd, HEAD req/s and latency, and ratios.
 * Sizes: BENCH_LARGE_MIB (1024), BENCH_CONCURRENT (64), BENCH_SMALL_MIB (16), BENCH_HEAD_SECONDS (8),
 * BENCH_ROUNDS (2; the best round is reported).
 */

import { rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../test/helpers/files.ts';
import { nginxBinary, startNginx } from '../test/helpers/nginx.ts';
import { headLoad, type LatencyResult } from './lib/head-load.ts';
import { concurrentUploads, createUpload, uploadOnce } from './lib/load.ts';
import { treeCpuSeconds } from './lib/proc.ts';
import { type Server, startGatewayServer, startTusdServer } from './lib/servers.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const largeBytes = env('BENCH_LARGE_MIB', 1024) * 2 ** 20;
const concurrent = env('BENCH_CONCURRENT', 64);
const smallBytes = env('BENCH_SMALL_MIB', 16) * 2 ** 20;
const headSeconds = env('BENCH_HEAD_SECONDS', 8);
const rounds = env('BENCH_ROUNDS', 2);

interface Measurement {
  mibPerSecond: number;
  hopCpuPerGiB?: number;
  tusdCpuPerGiB: number;
}

interface TargetResult {
  name: string;
  large: Measurement;
  many: Measurement;
  head: LatencyResult;
}

async function measure(
  hop: Server,
  tusdPid: number,
  bytes: number,
  work: () => Promise<number>,
): Promise<Measurement> {
  const hopBefore = hop.pid ? treeCpuSeconds(hop.pid) : 0;
  const tusdBefore = treeCpuSeconds(tusdPid);
  const seconds = await work();
  const gib = bytes / 2 ** 30;
  return {
    mibPerSecond: bytes / 2 ** 20 / seconds,
    hopCpuPerGiB: hop.pid ? (treeCpuSeconds(hop.pid) - hopBefore) / gib : undefined,
    tusdCpuPerGiB: (treeCpuSeconds(tusdPid) - tusdBefore) / gib,
  };
}

const best = (a: Measurement | undefined, b: Measurement) =>
  !a || b.mibPerSecond > a.mibPerSecond ? b : a;

async function benchTarget(
  name: string,
  front: (tusdPort: number, dir: string) => Promise<Server | undefined>,
): Promise<TargetResult> {
  const dir = await tempDir('tusgate-bench-');
  const tusd = await startTusdServer(join(dir.path, 'tusd'));
  const hop = (await front(tusd.port, join(dir.path, 'front'))) ?? tusd;
  const hopForCpu: Server = hop === tusd ? { ...tusd, pid: undefined } : hop;
  let large: Measurement | undefined;
  let many: Measurement | undefined;
  try {
    for (let round = 0; round < rounds; round++) {
      const agent = new Agent({ keepAlive: true });
      large = best(
        large,
        await measure(hopForCpu, tusd.pid as number, largeBytes, async () => {
          const started = performance.now();
          await uploadOnce(agent, hop.endpoint, largeBytes);
          return (performance.now() - started) / 1000;
        }),
      );
      agent.destroy();
      many = best(
        many,
        await measure(hopForCpu, tusd.pid as number, concurrent * smallBytes, () =>
          concurrentUploads(hop.endpoint, concurrent, smallBytes),
        ),
      );
      await rm(join(dir.path, 'tusd'), { recursive: true, force: true }).catch(() => {});
    }
    const urls = await Promise.all(
      Array.from({ length: 100 }, () => createUpload(hop.endpoint, 1024)),
    );
    const head = await headLoad(urls, headSeconds);
    return { name, large: large as Measurement, many: many as Measurement, head };
  } finally {
    if (hop !== tusd) await hop.stop();
    await tusd.stop();
    await dir.remove();
  }
}

const fmt = (value: number | undefined, digits = 1) =>
  value === undefined ? '—' : value.toFixed(digits);

export async function runProxyBenchmark(): Promise<void> {
  const nginx = nginxBinary();
  console.log(
    `proxy benchmark: 1 × ${largeBytes / 2 ** 20} MiB, ${concurrent} × ${smallBytes / 2 ** 20} MiB, ` +
      `HEAD ${headSeconds}s at 100 connections, best of ${rounds}\n`,
  );
  const results: TargetResult[] = [];
  results.push(await benchTarget('tusd (direct)', async () => undefined));
  results.push(
    await benchTarget('tusgate → tusd', (port, dir) =>
      startGatewayServer(dir, [
        {
          name: 'bench',
          match: { pathPrefix: '/files/' },
          backends: { tusd: { type: 'tusd', url: `http://127.0.0.1:${port}/files/` } },
        },
      ]),
    ),
  );
  if (nginx) {
    results.push(await benchTarget('nginx → tusd', (port, dir) => startNginx(dir, port)));
  } else {
    console.log('nginx not installed: its row is left out (apt-get install nginx-light)\n');
  }

  const rows = results.map((r) => [
    r.name,
    fmt(r.large.mibPerSecond),
    fmt(r.large.hopCpuPerGiB, 2),
    fmt(r.many.mibPerSecond),
    fmt(r.many.hopCpuPerGiB, 2),
    fmt(r.head?.requestsPerSecond, 0),
    fmt(r.head?.p50Ms, 2),
    fmt(r.head?.p99Ms, 2),
  ]);
  const header = [
    'target',
    `1×${largeBytes / 2 ** 20} MiB MiB/s`,
    'hop CPU s/GiB',
    `${concurrent}× MiB/s`,
    'hop CPU s/GiB',
    'HEAD req/s',
    'p50 ms',
    'p99 ms',
  ];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] as string).length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));

  const direct = results[0] as TargetResult;
  console.log('\nratios against direct tusd (targets: throughput ≥ 0.95×, HEAD p99 added ≤ 1 ms):');
  for (const r of results.slice(1)) {
    const largeRatio = r.large.mibPerSecond / direct.large.mibPerSecond;
    const manyRatio = r.many.mibPerSecond / direct.many.mibPerSecond;
    const addedP99 = r.head && direct.head ? r.head.p99Ms - direct.head.p99Ms : undefined;
    console.log(
      `  ${r.name}: 1×${largeBytes / 2 ** 20} MiB ${largeRatio.toFixed(2)}×, ${concurrent}× ${manyRatio.toFixed(2)}×` +
        (addedP99 === undefined
          ? ''
          : `, HEAD p99 +${addedP99.toFixed(2)} ms, req/s ${((r.head?.requestsPerSecond ?? 0) / (direct.head?.requestsPerSecond ?? 1)).toFixed(2)}×`),
    );
  }
}

if (import.meta.main) await runProxyBenchmark();
