import { readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type DateParts, type LayoutLevel, periodEnd } from './layout.ts';
import type { DateShardedStore } from './store.ts';

export interface CleanupReport {
  store: string;
  dryRun: boolean;
  /** Uploads created before this instant (ms) are expired. */
  cutoff: number;
  removedFolders: string[];
  removedFiles: number;
  /** Expired uploads among them (one `.info` file each). */
  removedUploads: number;
  /** Folders kept back because an upload in them is being written right now. */
  skippedFolders: string[];
  /** Metadata operations made, to compare layouts: cleanup never stats a file. */
  operations: { readdir: number; unlink: number; rmdir: number };
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
 * Expires uploads by deleting whole layout folders whose time period ended before now − TTL. It
 * walks only the folder levels of the layout (years, months, days …), never the uploads inside a
 * folder it keeps, so its cost grows with the number of periods, not of uploads. Names that do not
 * fit the layout are left alone.
 */
export async function cleanupStore(
  store: DateShardedStore,
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const report: CleanupReport = {
    store: store.name,
    dryRun: options.dryRun ?? false,
    cutoff: store.expiresAfter === undefined ? Number.NEGATIVE_INFINITY : now - store.expiresAfter,
    removedFolders: [],
    removedFiles: 0,
    removedUploads: 0,
    skippedFolders: [],
    operations: { readdir: 0, unlink: 0, rmdir: 0 },
    durationMs: 0,
  };
  if (store.expiresAfter !== undefined) {
    await walk(
      store.root,
      '',
      store.layout.levels,
      {},
      report,
      options.busyFolders ?? new Set(),
      options.signal,
    );
  }
  report.durationMs = performance.now() - started;
  return report;
}

async function walk(
  root: string,
  relative: string,
  levels: readonly LayoutLevel[],
  parts: DateParts,
  report: CleanupReport,
  busy: ReadonlySet<string>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const [level, ...deeper] = levels;
  if (!level) return;
  const names = await listFolders(join(root, relative), report);
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
      await removeTree(join(root, folder), report);
      report.removedFolders.push(folder);
    } else if (deeper.length > 0) {
      await walk(root, folder, deeper, folderParts, report, busy, signal);
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

/** Deletes a folder's files and subfolders (the dry run only counts them). */
async function removeTree(path: string, report: CleanupReport): Promise<void> {
  report.operations.readdir++;
  const entries = await readdir(path, { withFileTypes: true }).catch(ignoreGone([]));
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      await removeTree(child, report);
    } else {
      report.removedFiles++;
      if (entry.name.endsWith('.info')) report.removedUploads++;
      if (!report.dryRun) {
        report.operations.unlink++;
        await unlink(child).catch(ignoreGone(undefined));
      }
    }
  }
  if (!report.dryRun) {
    report.operations.rmdir++;
    await rmdir(path).catch(ignoreGone(undefined));
  }
}

/** A file a client deleted (termination) or another cleanup removed first is not an error. */
function ignoreGone<T>(fallback: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return fallback;
    throw error;
  };
}
