/**
 * `npm run bench`: every benchmark, each printing ratios against peers measured in the same run.
 * BENCH_ONLY=proxy,native,memory,cleanup,workers,http2,locks picks some of them.
 */
import { runCleanupBenchmark } from './cleanup.ts';
import { runHttp2Benchmark } from './http2.ts';
import { runLockBenchmark } from './locks.ts';
import { runNativeBenchmark } from './native.ts';
import { runMemoryBenchmark } from './native-memory.ts';
import { runProxyBenchmark } from './proxy.ts';
import { runWorkersBenchmark } from './workers.ts';

const all = {
  proxy: runProxyBenchmark,
  native: runNativeBenchmark,
  memory: runMemoryBenchmark,
  cleanup: runCleanupBenchmark,
  workers: runWorkersBenchmark,
  http2: runHttp2Benchmark,
  locks: runLockBenchmark,
};
const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
for (const [name, run] of Object.entries(all)) {
  if (!only || only.includes(name)) await run();
}
