/**
 * Native store benchmark: tusgate's native backend vs tusd's filestore vs @tus/server's FileStore,
 * each a server process of its own, measured in one run. Prints MiB/s and each server's
 * CPU-seconds per GiB (from /proc, independent of the core count), and ratios against tusd.
 * Sizes: BENCH_LARGE_MIB (1024), BENCH_CONCURRENT (64), BENCH_SMALL_MIB (16), BENCH_ROUNDS (2).
 */
import { Agent } from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../test/helpers/files.ts';
import { concurrentUploads, uploadOnce } from './lib/load.ts';
import { treeCpuSeconds } from './lib/proc.ts';
import {
  type Server,
  startNativeGatewayServer,
  startTusdServer,
  startTusNodeServer,
} from './lib/servers.ts';
import { printTable } from './lib/table.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const largeBytes = env('BENCH_LARGE_MIB', 1024) * 2 ** 20;
const concurrent = env('BENCH_CONCURRENT', 64);
const smallBytes = env('BENCH_SMALL_MIB', 16) * 2 ** 20;
const rounds = env('BENCH_ROUNDS', 2);

interface Run {
  mibPerSecond: number;
  cpuPerGiB: number;
}

async function measure(server: Server, bytes: number, work: () => Promise<number>): Promise<Run> {
  const before = treeCpuSeconds(server.pid!);
  const seconds = await work();
  return {
    mibPerSecond: bytes / 2 ** 20 / seconds,
    cpuPerGiB: (treeCpuSeconds(server.pid!) - before) / (bytes / 2 ** 30),
  };
}

async function benchServer(start: (dir: string) => Promise<Server>) {
  const dir = await tempDir('tusgate-bench-native-');
  const server = await start(join(dir.path, 'server'));
  let large: Run | undefined;
  let many: Run | undefined;
  try {
    for (let round = 0; round < rounds; round++) {
      const agent = new Agent({ keepAlive: true });
      const l = await measure(server, largeBytes, async () => {
        const started = performance.now();
        await uploadOnce(agent, server.endpoint, largeBytes);
        return (performance.now() - started) / 1000;
      });
      agent.destroy();
      if (!large || l.mibPerSecond > large.mibPerSecond) large = l;
      const m = await measure(server, concurrent * smallBytes, () =>
        concurrentUploads(server.endpoint, concurrent, smallBytes),
      );
      if (!many || m.mibPerSecond > many.mibPerSecond) many = m;
    }
    return { name: server.name, large: large!, many: many! };
  } finally {
    await server.stop();
    await dir.remove();
  }
}

export async function runNativeBenchmark(): Promise<void> {
  console.log(
    `\nnative store benchmark: 1 × ${largeBytes / 2 ** 20} MiB, ${concurrent} × ${smallBytes / 2 ** 20} MiB, best of ${rounds}\n`,
  );
  const results = [
    await benchServer(async (dir) => ({
      ...(await startTusdServer(dir)),
      name: 'tusd filestore',
    })),
    await benchServer(async (dir) => ({
      ...(await startNativeGatewayServer(dir)),
      name: 'tusgate native',
    })),
    await benchServer(startTusNodeServer),
  ];
  printTable(
    [
      'server',
      `1×${largeBytes / 2 ** 20} MiB MiB/s`,
      'CPU s/GiB',
      `${concurrent}× MiB/s`,
      'CPU s/GiB',
    ],
    results.map((r) => [
      r.name,
      r.large.mibPerSecond.toFixed(1),
      r.large.cpuPerGiB.toFixed(2),
      r.many.mibPerSecond.toFixed(1),
      r.many.cpuPerGiB.toFixed(2),
    ]),
  );
  const tusd = results[0]!;
  console.log('\nratios against tusd (target for tusgate native: ≥ 1.1×):');
  if (process.env.BENCH_NATIVE_SYNC !== '0') {
    console.log(
      '  (tusgate native fdatasyncs each finished upload, tusd does not; BENCH_NATIVE_SYNC=0 skips it)',
    );
  }
  for (const r of results.slice(1)) {
    console.log(
      `  ${r.name}: 1×${largeBytes / 2 ** 20} MiB ${(r.large.mibPerSecond / tusd.large.mibPerSecond).toFixed(2)}×` +
        ` (CPU ${(r.large.cpuPerGiB / tusd.large.cpuPerGiB).toFixed(2)}×),` +
        ` ${concurrent}× ${(r.many.mibPerSecond / tusd.many.mibPerSecond).toFixed(2)}×` +
        ` (CPU ${(r.many.cpuPerGiB / tusd.many.cpuPerGiB).toFixed(2)}×)`,
    );
  }
}

if (import.meta.main) await runNativeBenchmark();
