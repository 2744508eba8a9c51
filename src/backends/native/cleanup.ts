import { lstat, readdir, readFile, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DateParts, type LayoutLevel, periodEnd } from './layout.ts';
import { type DateShardedStore, type HandOffRemoval, handOffRemovalCalls } from './store.ts';
import { isNativeUploadId } from './upload-id.ts';

export interface CleanupReport {
  store: string;
  dryRun: boolean;
  /** Uploads created before this instant (ms) are expired. */
  cutoff: number;
  /**
   * Hand-off links of uploads finished before this instant (ms) go while their data stays; minus
   * infinity when `handoffExpiresAfter` is not shorter than `expiresAfter`.
   */
  handoffCutoff: number;
  removedFolders: string[];
  removedFiles: number;
  /** Expired uploads among them (one `.info` file each). */
  removedUploads: number;
  /** Folders kept back because an upload in them is being written right now. */
  skippedFolders: string[];
  /** Layout folders whose hand-off links were swept this run (their data stays). */
  sweptFolders: string[];
  /** Hand-off links removed (dry run: that would be removed), as paths in `handoffDir`. */
  removedHandoffLinks: string[];
  /**
   * Metadata operations made, to compare layouts: cleanup never lists or stats `handoffDir` as a
   * whole; it only looks up the names of the uploads it expires (stat counts stat and lstat).
   */
  operations: { readdir: number; stat: number; unlink: number; rmdir: number };
  durationMs: number;
}

export interface CleanupOptions {
  now?: number;
  dryRun?: boolean;
  /** Folders (relative to the root) holding uploads that are being written; left for next time. */
  busyFolders?: ReadonlySet<string>;
  /** Stops the run before its next removal, e.g. when the store left the config. */
  signal?: AbortSignal;
}

/**
 * Marks a layout folder whose hand-off links were swept, so later runs skip it with one lstat
 * instead of looking up each of its ids again. It lives in the folder itself rather than in a state
 * file in the store root: it goes with the folder when the folder expires (no state to prune), and
 * processes on several hosts sharing the store never read-modify-write one shared file. Its
 * content lists the ids that could not be settled at sweep time (no link yet: unfinished or moved
 * away; or finished too recently): only those are looked up again when the folder expires.
 */
export const handoffSweptMarker = '.handoff-swept';

interface Run {
  store: DateShardedStore;
  report: CleanupReport;
  busy: ReadonlySet<string>;
  signal: AbortSignal | undefined;
}

/**
 * Expires uploads by deleting whole layout folders whose time period ended before now − TTL. It
 * walks only the folder levels of the layout (years, months, days …), never the uploads inside a
 * folder it keeps, so its cost grows with the number of periods, not of uploads. Names that do not
 * fit the layout are left alone.
 *
 * Hand-off links go with their uploads: an expiring folder's ids are looked up in `handoffDir` by
 * name before their data goes. With a shorter `handoffExpiresAfter`, each folder past it is swept
 * once (then marked) for links of uploads finished before now − handoffExpiresAfter.
 */
export async function cleanupStore(
  store: DateShardedStore,
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const { expiresAfter, handoffExpiresAfter } = store;
  const sweeps =
    store.handoffDir !== undefined &&
    expiresAfter !== undefined &&
    handoffExpiresAfter !== undefined &&
    handoffExpiresAfter < expiresAfter;
  const report: CleanupReport = {
    store: store.name,
    dryRun: options.dryRun ?? false,
    cutoff: expiresAfter === undefined ? Number.NEGATIVE_INFINITY : now - expiresAfter,
    handoffCutoff: sweeps ? now - handoffExpiresAfter : Number.NEGATIVE_INFINITY,
    removedFolders: [],
    removedFiles: 0,
    removedUploads: 0,
    skippedFolders: [],
    sweptFolders: [],
    removedHandoffLinks: [],
    operations: { readdir: 0, stat: 0, unlink: 0, rmdir: 0 },
    durationMs: 0,
  };
  if (expiresAfter !== undefined) {
    const run: Run = {
      store,
      report,
      busy: options.busyFolders ?? new Set(),
      signal: options.signal,
    };
    await walk(run, '', store.layout.levels, {});
  }
  report.durationMs = performance.now() - started;
  return report;
}

async function walk(
  run: Run,
  relative: string,
  levels: readonly LayoutLevel[],
  parts: DateParts,
): Promise<void> {
  const { store, report, busy, signal } = run;
  const [level, ...deeper] = levels;
  if (!level) return;
  const names = await listFolders(join(store.root, relative), report);
  for (const name of names) {
    if (signal?.aborted) return;
    const match = level.pattern.exec(name);
    if (!match) continue;
    const folderParts: DateParts = { ...parts };
    level.tokens.forEach((token, index) => {
      folderParts[token] = Number(match[index + 1]);
    });
    const folder = relative === '' ? name : `${relative}/${name}`;
    const end = periodEnd(folderParts);
    if (end !== null && end <= report.cutoff) {
      if ([...busy].some((path) => path === folder || path.startsWith(`${folder}/`))) {
        report.skippedFolders.push(folder);
        continue;
      }
      await removeTree(run, join(store.root, folder));
      report.removedFolders.push(folder);
    } else if (deeper.length > 0) {
      await walk(run, folder, deeper, folderParts);
    } else if (end !== null && end <= report.handoffCutoff) {
      await sweepHandOffs(run, folder);
    }
  }
}

async function listFolders(path: string, report: CleanupReport): Promise<string[]> {
  report.operations.readdir++;
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Deletes a folder's files and subfolders (the dry run only counts them). An upload's hand-off
 * link goes before its data: its data is what tells our link from a file someone else put there.
 */
async function removeTree(run: Run, path: string): Promise<void> {
  const { report } = run;
  report.operations.readdir++;
  const entries = await readdir(path, { withFileTypes: true }).catch(ignoreGone([]));
  const unsettled = entries.some((entry) => entry.name === handoffSweptMarker)
    ? await readUnsettled(join(path, handoffSweptMarker))
    : null;
  for (const entry of entries) {
    if (entry.isDirectory()) await removeTree(run, join(path, entry.name));
  }
  const files = entries.filter((entry) => !entry.isDirectory());
  await forEachConcurrently(files, async (entry) => {
    const child = join(path, entry.name);
    if (entry.name !== handoffSweptMarker) {
      report.removedFiles++;
      if (entry.name.endsWith('.info')) report.removedUploads++;
      if (isNativeUploadId(entry.name) && (unsettled === null || unsettled.has(entry.name))) {
        await dropHandOff(run, entry.name, child);
      }
    }
    if (!report.dryRun) {
      report.operations.unlink++;
      await unlink(child).catch(ignoreGone(undefined));
    }
  });
  if (!report.dryRun) {
    report.operations.rmdir++;
    await rmdir(path).catch(ignoreGone(undefined));
  }
}

/**
 * Removes the hand-off links of a folder's uploads finished before the hand-off cutoff, once: the
 * marker it leaves makes later runs skip the folder until the folder itself expires.
 */
async function sweepHandOffs(run: Run, folder: string): Promise<void> {
  const { store, report } = run;
  const path = join(store.root, folder);
  const marker = join(path, handoffSweptMarker);
  report.operations.stat++;
  if (await lstat(marker).then(() => true, ignoreGone(false))) return;
  report.operations.readdir++;
  const names = await readdir(path).catch(ignoreGone(null));
  if (names === null) return; // removed meanwhile (another host's cleanup, an operator)
  const unsettled: string[] = [];
  await forEachConcurrently(names.filter(isNativeUploadId), async (name) => {
    const outcome = await dropHandOff(run, name, join(path, name), report.handoffCutoff);
    if (outcome === 'absent' || outcome === 'young') unsettled.push(name);
  });
  report.sweptFolders.push(folder);
  if (report.dryRun) return;
  // Written whole, then renamed: a run that dies halfway leaves no marker, and the next one
  // simply sweeps the folder again.
  const temporary = `${marker}.${process.pid}.tmp`;
  await writeFile(temporary, unsettled.map((id) => `${id}\n`).join(''));
  await rename(temporary, marker);
}

async function dropHandOff(
  run: Run,
  id: string,
  data: string,
  finishedBefore?: number,
): Promise<HandOffRemoval> {
  const { store, report } = run;
  if (store.handoffDir === undefined) return 'absent';
  const outcome = await store.removeHandOff(id, { data, dryRun: report.dryRun, finishedBefore });
  const calls = handOffRemovalCalls(outcome, report.dryRun);
  report.operations.stat += calls.stat;
  report.operations.unlink += calls.unlink;
  if (outcome === 'removed') report.removedHandoffLinks.push(join(store.handoffDir, id));
  return outcome;
}

/** The ids a sweep left unsettled; null (look every id up) when the marker vanished meanwhile. */
async function readUnsettled(marker: string): Promise<Set<string> | null> {
  const text = await readFile(marker, 'utf8').catch(ignoreGone(null));
  return text === null ? null : new Set(text.split('\n').filter(Boolean));
}

/**
 * Per-file calls go through libuv's thread pool: a few in flight at once hide its latency (and a
 * network file system's), while a small bound keeps a big day from flooding the pool that request
 * handlers need too.
 */
const fileConcurrency = 8;

async function forEachConcurrently<T>(
  items: readonly T[],
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(fileConcurrency, items.length) }, worker));
}

/** A file a client deleted (termination) or another cleanup removed first is not an error. */
function ignoreGone<T>(fallback: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return fallback;
    throw error;
  };
}
