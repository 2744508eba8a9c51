import type { CleanupOptions, CleanupReport } from '../cleanup.ts';
import { type DateParts, type Layout, type LayoutLevel, periodEnd } from '../layout.ts';

/** What an object store gives the day-prefix expiry: listing one level, removing one prefix. */
export interface PrefixOperations {
  /** The names one level below `relative` (`''` or `2026/11/`), one list request a page. */
  listFolders(relative: string): Promise<string[]>;
  /** Removes every object (and unfinished multipart upload) under `relative` (ends in `/`). */
  removeFolder(relative: string, dryRun: boolean): Promise<{ objects: number; uploads: number }>;
}

/**
 * Expires uploads on an object store as the file store does on disk: it walks only the layout's
 * levels (years, months, days) by delimiter listing and removes whole prefixes whose period ended
 * before now − TTL, so its cost grows with the number of periods, not of uploads. Prefixes holding
 * an upload being written right now are left for the next run. In the report, `readdir` counts
 * list requests and `unlink` delete requests.
 */
export async function expireDayPrefixes(
  name: string,
  layout: Layout,
  expiresAfter: number | undefined,
  operations: PrefixOperations & { requests: { list: number; delete: number } },
  options: CleanupOptions = {},
): Promise<CleanupReport> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const report: CleanupReport = {
    store: name,
    dryRun: options.dryRun ?? false,
    cutoff: expiresAfter === undefined ? Number.NEGATIVE_INFINITY : now - expiresAfter,
    handoffCutoff: Number.NEGATIVE_INFINITY,
    removedFolders: [],
    removedFiles: 0,
    removedUploads: 0,
    skippedFolders: [],
    sweptFolders: [],
    removedHandoffLinks: [],
    operations: { readdir: 0, stat: 0, unlink: 0, rmdir: 0 },
    durationMs: 0,
  };
  const busy = options.busyFolders ?? new Set<string>();
  const walk = async (relative: string, levels: readonly LayoutLevel[], parts: DateParts) => {
    const [level, ...deeper] = levels;
    if (!level) return;
    for (const folderName of await operations.listFolders(relative === '' ? '' : `${relative}/`)) {
      if (options.signal?.aborted) return;
      const match = level.pattern.exec(folderName);
      if (!match) continue;
      const folderParts: DateParts = { ...parts };
      level.tokens.forEach((token, index) => {
        folderParts[token] = Number(match[index + 1]);
      });
      const folder = relative === '' ? folderName : `${relative}/${folderName}`;
      const end = periodEnd(folderParts);
      if (end !== null && end <= report.cutoff) {
        if ([...busy].some((path) => path === folder || path.startsWith(`${folder}/`))) {
          report.skippedFolders.push(folder);
          continue;
        }
        const removed = await operations.removeFolder(`${folder}/`, report.dryRun);
        report.removedFiles += removed.objects;
        report.removedUploads += removed.uploads;
        report.removedFolders.push(folder);
      } else if (deeper.length > 0) {
        await walk(folder, deeper, folderParts);
      }
    }
  };
  if (expiresAfter !== undefined) await walk('', layout.levels, {});
  report.operations.readdir = operations.requests.list;
  report.operations.unlink = operations.requests.delete;
  report.durationMs = performance.now() - started;
  return report;
}
