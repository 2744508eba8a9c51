/**
 * Expiry cost: BENCH_CLEANUP_DAYS (30) days × BENCH_CLEANUP_PER_DAY (10,000) finished uploads.
 *
 * Before tusgate, a Galaxy server keeps them in one flat folder like tusd's (data + `.info` each,
 * Galaxy reads `<folder>/<id>`) and a nightly tmpwatch scans it: list, stat every entry, unlink the
 * old ones. With tusgate they live in the date-sharded store (data + `.info`) and each has a hard
 * link `<handoffDir>/<id>` for Galaxy; cleanup lists the layout's folders, deletes expired days
 * with their links (looked up by name), and with a shorter `handoffExpiresAfter` (1d here) sweeps
 * each older day's links once. The tmpwatch peer for that sweep scans a flat folder holding the same
 * hand-off links. Runs, each pair removing the same files (checked):
 *   (a) nothing to expire                 flat store scan     vs sharded cleanup
 *   (b) the oldest day expires            flat store scan     vs sharded cleanup (+ its links)
 *   (c) hand-off links older than 1d go   tmpwatch over links vs first hand-off sweep
 *   (d) the same, next run                tmpwatch over links vs sharded (folders marked swept)
 * Prints times and metadata operations (stat counts stat and lstat).
 */
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cleanupStore } from '../src/backends/native/cleanup.ts';
import { DateShardedStore } from '../src/backends/native/store.ts';
import { newUploadId } from '../src/backends/native/upload-id.ts';
import { tempDir } from '../test/helpers/files.ts';
import { printTable } from './lib/table.ts';

const days = Number(process.env.BENCH_CLEANUP_DAYS ?? 30);
const perDay = Number(process.env.BENCH_CLEANUP_PER_DAY ?? 10_000);
const day = 86_400_000;
const handoffTtl = day;

interface Outcome {
  ms: number;
  readdir: number;
  stat: number;
  unlink: number;
}

/** tmpwatch over a flat folder: every entry is stat'ed, those older than the cutoff unlinked. */
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
  const { readdir, stat, unlink } = report.operations;
  return { ms: report.durationMs, readdir, stat, unlink };
}

function agree(what: string, flat: Outcome, sharded: Outcome, extraPerDay = 0): void {
  if (flat.unlink + extraPerDay * perDay !== sharded.unlink) {
    throw new Error(`${what}: flat removed ${flat.unlink} files, sharded ${sharded.unlink}`);
  }
}

export async function runCleanupBenchmark(): Promise<void> {
  console.log(`\ncleanup: ${days} days × ${perDay} finished uploads (data + .info + hand-off)\n`);
  const dir = await tempDir('tusgate-bench-cleanup-');
  try {
    const now = Date.now();
    const ttl = days * day;
    const storeConfig = {
      type: 'date-sharded' as const,
      root: join(dir.path, 'sharded'),
      layout: '{year}/{month}/{day}',
      handoffDir: join(dir.path, 'handoff'),
      expiresAfter: ttl,
      cleanupInterval: 3_600_000,
    };
    // The same store twice: hand-off links living as long as the data, or 1d.
    const store = new DateShardedStore('bench', storeConfig);
    const sweeping = new DateShardedStore('bench', {
      ...storeConfig,
      handoffExpiresAfter: handoffTtl,
    });
    const flat = join(dir.path, 'flat');
    const flatLinks = join(dir.path, 'flat-handoff');
    for (const path of [flat, flatLinks, storeConfig.handoffDir]) mkdirSync(path);
    const info = JSON.stringify({ ID: '', Size: 1, Offset: 1, MetaData: {} });
    const fillStarted = performance.now();
    let oldTime = 0;
    for (let d = 0; d < days; d++) {
      // Uploads of day d were made and finished (days - 1 - d) days ago, within the TTL.
      const madeAt = now - (days - 1 - d) * day - 60_000;
      const time = new Date(madeAt);
      if (d === 0) oldTime = madeAt;
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
        utimesSync(paths.data, time, time);
        linkSync(paths.data, join(storeConfig.handoffDir, id));
        // The tmpwatch peer of (c, d) holds the links run (b) leaves.
        if (d > 0) linkSync(paths.data, join(flatLinks, id));
        for (const [name, text] of [
          [id, 'x'],
          [`${id}.info`, info],
        ] as const) {
          writeFileSync(join(flat, name), text);
          utimesSync(join(flat, name), time, time);
        }
      }
    }
    console.log(`  filled in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);

    const flatNothing = flatCleanup(flat, now - ttl);
    const shardedNothing = await shardedCleanup(store, now);
    agree('(a)', flatNothing, shardedNothing);
    // Later, once the oldest day has wholly passed its TTL (UTC days start at multiples of `day`).
    const endOfOldestDay = Math.ceil((oldTime + 1) / day) * day;
    const flatOldest = flatCleanup(flat, endOfOldestDay);
    const shardedOldest = await shardedCleanup(store, endOfOldestDay + ttl);
    agree('(b)', flatOldest, shardedOldest, 1);
    // tmpwatch's age test at day granularity, as the sweep takes whole days.
    const linkCutoff = Math.floor((now - handoffTtl) / day) * day;
    const flatSweep = flatCleanup(flatLinks, linkCutoff);
    const shardedSweep = await shardedCleanup(sweeping, now);
    agree('(c)', flatSweep, shardedSweep);
    const flatAgain = flatCleanup(flatLinks, linkCutoff);
    const shardedAgain = await shardedCleanup(sweeping, now);
    agree('(d)', flatAgain, shardedAgain);

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
        row('(b) oldest day expires: sharded + links', shardedOldest),
        row('(c) links older than 1d: tmpwatch', flatSweep),
        row('(c) links older than 1d: sharded sweep', shardedSweep),
        row('(d) next run: tmpwatch', flatAgain),
        row('(d) next run: sharded (marked)', shardedAgain),
      ],
    );
    const ratio = (a: Outcome, b: Outcome) => (a.ms / b.ms).toFixed(1);
    console.log(
      `\n  (a) sharded is ${ratio(flatNothing, shardedNothing)}× faster (target ≥ 100×),` +
        ` ${flatNothing.stat} stats vs ${shardedNothing.stat}` +
        `\n  (b) sharded is ${ratio(flatOldest, shardedOldest)}× faster; it also removes the` +
        ` day's ${perDay} hand-off links with ${shardedOldest.stat} stats, the flat scan stats` +
        ` ${flatOldest.stat} entries` +
        `\n  (c) sweep ${ratio(flatSweep, shardedSweep)}× faster: both unlink ${shardedSweep.unlink}` +
        ` links; stats ${flatSweep.stat} (tmpwatch) vs ${shardedSweep.stat}` +
        `\n  (d) next run ${ratio(flatAgain, shardedAgain)}× faster: stats ${flatAgain.stat}` +
        ` (tmpwatch) vs ${shardedAgain.stat}`,
    );
  } finally {
    await dir.remove();
  }
}

if (import.meta.main) await runCleanupBenchmark();
