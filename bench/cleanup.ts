/**
 * Expiry cost: BENCH_CLEANUP_DAYS (30) days × BENCH_CLEANUP_PER_DAY (10,000) uploads, each a data
 * file and an `.info`, once in the date-sharded layout and once in one flat folder like tusd's.
 * The flat folder is cleaned the way operators clean tusd's today (`find -mtime +N -delete`: list,
 * stat every entry, unlink the old ones); the sharded store by tusgate's cleanup (list the layout's
 * folders, delete whole expired days). Two runs each: (a) nothing to expire, (b) the oldest day
 * expires. Prints times, metadata operations and ratios.
 */
import { lstatSync, mkdirSync, readdirSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupStore } from '../src/backends/native/cleanup.ts';
import { DateShardedStore } from '../src/backends/native/store.ts';
import { newUploadId } from '../src/backends/native/upload-id.ts';
import { tempDir } from '../test/helpers/files.ts';
import { printTable } from './lib/table.ts';

const days = Number(process.env.BENCH_CLEANUP_DAYS ?? 30);
const perDay = Number(process.env.BENCH_CLEANUP_PER_DAY ?? 10_000);
const day = 86_400_000;

interface Outcome {
  ms: number;
  readdir: number;
  stat: number;
  unlink: number;
}

/** The operator's scan of a flat folder: every entry is stat'ed, old ones are unlinked. */
function flatCleanup(dir: string, cutoff: number): Outcome {
  const started = performance.now();
  const outcome = { ms: 0, readdir: 1, stat: 0, unlink: 0 };
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    outcome.stat++;
    if (lstatSync(path).mtimeMs < cutoff) {
      unlinkSync(path);
      outcome.unlink++;
    }
  }
  outcome.ms = performance.now() - started;
  return outcome;
}

async function shardedCleanup(store: DateShardedStore, now: number): Promise<Outcome> {
  const report = await cleanupStore(store, { now });
  return { ms: report.durationMs, ...report.operations };
}

export async function runCleanupBenchmark(): Promise<void> {
  console.log(`\ncleanup: ${days} days × ${perDay} uploads (data + .info each)\n`);
  const dir = await tempDir('tusgate-bench-cleanup-');
  try {
    const now = Date.now();
    const ttl = days * day;
    const store = new DateShardedStore('bench', {
      type: 'date-sharded',
      root: join(dir.path, 'sharded'),
      layout: '{year}/{month}/{day}',
      expiresAfter: ttl,
      cleanupInterval: 3_600_000,
    });
    const flat = join(dir.path, 'flat');
    mkdirSync(flat, { recursive: true });
    const info = JSON.stringify({ ID: '', Size: 1, Offset: 1, MetaData: {} });
    const fillStarted = performance.now();
    const oldest: string[] = [];
    for (let d = 0; d < days; d++) {
      // Uploads of day d were made (days - 1 - d) days ago, within the TTL.
      const madeAt = now - (days - 1 - d) * day - 60_000;
      let folderMade = false;
      for (let i = 0; i < perDay; i++) {
        const id = newUploadId(madeAt);
        const paths = store.pathsFor(id);
        if (!folderMade) {
          mkdirSync(join(store.root, paths.folder), { recursive: true });
          folderMade = true;
        }
        writeFileSync(paths.data, 'x');
        writeFileSync(paths.info, info);
        writeFileSync(join(flat, id), 'x');
        writeFileSync(join(flat, `${id}.info`), info);
        if (d === 0) oldest.push(join(flat, id), join(flat, `${id}.info`));
      }
    }
    // The flat folder knows age only from mtimes: back-date the oldest day's files.
    const oldTime = (now - (days - 1) * day - 60_000) / 1000;
    for (const path of oldest) utimesSync(path, oldTime, oldTime);
    console.log(
      `  filled both layouts in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`,
    );

    const flatNothing = flatCleanup(flat, now - ttl);
    const shardedNothing = await shardedCleanup(store, now);
    // Later, once the oldest day has wholly passed its TTL (UTC days start at multiples of `day`).
    const endOfOldestDay = Math.ceil((oldTime * 1000 + 1) / day) * day;
    const flatOldest = flatCleanup(flat, endOfOldestDay);
    const shardedOldest = await shardedCleanup(store, endOfOldestDay + ttl);

    const row = (name: string, o: Outcome) => [
      name,
      o.ms.toFixed(1),
      String(o.readdir),
      String(o.stat),
      String(o.unlink),
    ];
    printTable(
      ['run', 'ms', 'readdir', 'stat', 'unlink'],
      [
        row('(a) nothing to expire: flat scan', flatNothing),
        row('(a) nothing to expire: sharded', shardedNothing),
        row('(b) oldest day expires: flat scan', flatOldest),
        row('(b) oldest day expires: sharded', shardedOldest),
      ],
    );
    console.log(
      `\n  (a) sharded is ${(flatNothing.ms / shardedNothing.ms).toFixed(0)}× faster (target ≥ 100×),` +
        ` ${flatNothing.stat} stats vs ${shardedNothing.stat}` +
        `\n  (b) sharded is ${(flatOldest.ms / shardedOldest.ms).toFixed(1)}× faster;` +
        ` both unlink ${shardedOldest.unlink} files, the flat scan also stats ${flatOldest.stat} entries`,
    );
    if (flatOldest.unlink !== shardedOldest.unlink) {
      throw new Error(
        `layouts disagree: flat removed ${flatOldest.unlink}, sharded ${shardedOldest.unlink}`,
      );
    }
  } finally {
    await dir.remove();
  }
}

if (import.meta.main) await runCleanupBenchmark();
