/**
 * What the upload lock costs a request, in-process (memory) vs Redis (BENCH_REDIS_URL, default the
 * machine's redis://127.0.0.1:6379/0, under a key prefix of the run's own):
 *   - acquire + release of a free lock, one at a time (the cost every PATCH/HEAD/DELETE pays),
 *   - the same with BENCH_LOCK_CONCURRENCY (64) requests at once, on different uploads,
 *   - a hand-over: one holder (another locker instance: another process's view) holds the lock
 *     and lets go when asked; the time until the asker holds it.
 * Prints a table (median and p99 per operation, operations per second).
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { UploadLease, UploadLocker } from '../src/backends/locking/locker.ts';
import { MemoryLocker } from '../src/backends/locking/memory-locker.ts';
import { RedisLocker } from '../src/backends/locking/redis-locker.ts';
import { printTable } from './lib/table.ts';

const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const rounds = Number(process.env.BENCH_LOCK_ROUNDS ?? 2000);
const concurrency = Number(process.env.BENCH_LOCK_CONCURRENCY ?? 64);
const handOvers = Number(process.env.BENCH_LOCK_HANDOVERS ?? 200);

interface Sample {
  label: string;
  times: number[];
  wallMs: number;
  operations: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function sequential(locker: UploadLocker): Promise<Sample> {
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < rounds; i++) {
    const begin = performance.now();
    const lease = await locker.acquire(randomUUID(), { waitMs: 3000 });
    await lease?.release();
    times.push(performance.now() - begin);
  }
  return {
    label: 'acquire+release',
    times,
    wallMs: performance.now() - started,
    operations: rounds,
  };
}

async function parallel(locker: UploadLocker): Promise<Sample> {
  const times: number[] = [];
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next++ < rounds) {
      const begin = performance.now();
      const lease = await locker.acquire(randomUUID(), { waitMs: 3000 });
      await lease?.release();
      times.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return {
    label: `acquire+release ×${concurrency}`,
    times,
    wallMs: performance.now() - started,
    operations: rounds,
  };
}

async function handOver(holderSide: UploadLocker, askerSide: UploadLocker): Promise<Sample> {
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < handOvers; i++) {
    const id = randomUUID();
    let held: UploadLease | null = null;
    held = await holderSide.acquire(id, {
      waitMs: 0,
      onReleaseRequested: () => void held?.release(),
    });
    const begin = performance.now();
    const lease = await askerSide.acquire(id, { waitMs: 5000 });
    times.push(performance.now() - begin);
    if (!lease) throw new Error('the hand-over did not happen');
    await lease.release();
  }
  return { label: 'hand-over', times, wallMs: performance.now() - started, operations: handOvers };
}

async function ready(locker: UploadLocker): Promise<void> {
  await locker.checkReady();
  await locker.heldIds();
}

export async function runLockBenchmark(): Promise<void> {
  const log = pino({ level: 'silent' });
  const keyPrefix = `tusgate-bench:${randomUUID()}:`;
  const memory = new MemoryLocker();
  const redis = new RedisLocker(redisUrl, { keyPrefix, ttlMs: 10_000, log });
  const redisPeer = new RedisLocker(redisUrl, { keyPrefix, ttlMs: 10_000, log });
  await ready(redis);
  await ready(redisPeer);
  // Let the pub/sub subscriptions of both be in place before the first hand-over.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const rows: string[][] = [];
  for (const [name, locker, peer] of [
    ['memory', memory, memory],
    ['redis', redis, redisPeer],
  ] as const) {
    for (const sample of [
      await sequential(locker),
      await parallel(locker),
      await handOver(peer, locker),
    ]) {
      const sorted = [...sample.times].sort((a, b) => a - b);
      rows.push([
        name,
        sample.label,
        String(sample.operations),
        `${(percentile(sorted, 50) * 1000).toFixed(1)} µs`,
        `${(percentile(sorted, 99) * 1000).toFixed(1)} µs`,
        `${Math.round((sample.operations / sample.wallMs) * 1000)}`,
      ]);
    }
  }
  await redis.close();
  await redisPeer.close();
  console.log(`\nupload locks (${new Date().toISOString()}, Redis ${new URL(redisUrl).host})`);
  printTable(['locker', 'operation', 'n', 'median', 'p99', 'ops/s'], rows);
}

if (import.meta.main) await runLockBenchmark();
