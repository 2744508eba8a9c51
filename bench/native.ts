/**
 * Native store benchmark: tusgate's native backend vs tusd's filestore vs @tus/server's FileStore,
 * each a server process of its own, all measured in one run. The servers take turns (round 1:
 * tusd, native, @tus/server; round 2: the same...) so that a slow moment of the machine does not
 * land on one of them only; before each measurement the page cache is flushed (`sync`) and the
 * previous uploads are deleted, so nobody pays for another's writeback. Prints the median MiB/s
 * of the rounds, each server's CPU-seconds per GiB (from /proc, independent of the core count),
 * and ratios against tusd.
 * Sizes: BENCH_LARGE_MIB (1024), BENCH_CONCURRENT (64), BENCH_SMALL_MIB (16), BENCH_ROUNDS (5).
 */
import { execFileSync } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
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
const rounds = env('BENCH_ROUNDS', 5);

interface Run {
  mibPerSecond: number;
  cpuPerGiB: number;
}

type StartServer = (dir: string) => Promise<Server>;

interface Contender {
  name: string;
  server: Server;
  /** Where the server keeps its uploads; emptied between measurements. */
  uploads: string;
  large: Run[];
  many: Run[];
}

async function measure(contender: Contender, bytes: number, work: () => Promise<number>) {
  execFileSync('sync');
  const pid = contender.server.pid!;
  const before = treeCpuSeconds(pid);
  const seconds = await work();
  const run = {
    mibPerSecond: bytes / 2 ** 20 / seconds,
    cpuPerGiB: (treeCpuSeconds(pid) - before) / (bytes / 2 ** 30),
  };
  await clearUploads(contender);
  return run;
}

/** Empties the upload folder; the folder itself stays (tusgate refuses to recreate a vanished store root). */
async function clearUploads(contender: Contender): Promise<void> {
  const entries = await readdir(contender.uploads).catch(() => []);
  await Promise.all(
    entries.map((entry) => rm(join(contender.uploads, entry), { recursive: true, force: true })),
  );
}

async function uploadLarge(contender: Contender): Promise<Run> {
  return measure(contender, largeBytes, async () => {
    const agent = new Agent({ keepAlive: true });
    const started = performance.now();
    await uploadOnce(agent, contender.server.endpoint, largeBytes);
    agent.destroy();
    return (performance.now() - started) / 1000;
  });
}

function median(runs: Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.mibPerSecond - b.mibPerSecond);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function runNativeBenchmark(): Promise<void> {
  console.log(
    `\nnative store benchmark: 1 × ${largeBytes / 2 ** 20} MiB, ${concurrent} × ${smallBytes / 2 ** 20} MiB, median of ${rounds} interleaved rounds\n`,
  );
  const dir = await tempDir('tusgate-bench-native-');
  const contenders: Contender[] = [];
  try {
    const enter = async (name: string, folder: string, start: StartServer, uploads = '') => {
      const serverDir = join(dir.path, folder);
      const server = await start(serverDir);
      contenders.push({ name, server, uploads: join(serverDir, uploads), large: [], many: [] });
    };
    await enter('tusd filestore', 'tusd', startTusdServer);
    await enter('tusgate native', 'native', startNativeGatewayServer, 'store');
    await enter('@tus/server', 'tus-node', startTusNodeServer);
    // Warm-up: JIT, first folders, connection setup; not measured.
    for (const contender of contenders) {
      await uploadOnce(new Agent(), contender.server.endpoint, 64 * 2 ** 20);
      await clearUploads(contender);
    }
    for (let round = 0; round < rounds; round++) {
      for (const contender of contenders) {
        contender.large.push(await uploadLarge(contender));
        contender.many.push(
          await measure(contender, concurrent * smallBytes, () =>
            concurrentUploads(contender.server.endpoint, concurrent, smallBytes),
          ),
        );
      }
    }
  } finally {
    for (const contender of contenders) await contender.server.stop();
    await dir.remove();
  }
  const results = contenders.map((c) => ({
    name: c.name,
    large: median(c.large),
    many: median(c.many),
  }));
  printTable(
    [
      'server',
      `1×${largeBytes / 2 ** 20} MiB MiB/s`,
      'CPU s/GiB',
      `${concurrent}× MiB/s`,
      'CPU s/GiB',
      'every round (1× | many×)',
    ],
    results.map((r, i) => [
      r.name,
      r.large.mibPerSecond.toFixed(1),
      r.large.cpuPerGiB.toFixed(2),
      r.many.mibPerSecond.toFixed(1),
      r.many.cpuPerGiB.toFixed(2),
      `${contenders[i]!.large.map((run) => run.mibPerSecond.toFixed(0)).join(' ')} | ${contenders[i]!.many.map((run) => run.mibPerSecond.toFixed(0)).join(' ')}`,
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
