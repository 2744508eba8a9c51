import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The last cleanup run by `tusgate cleanup` (another process, e.g. from cron), left in the store
 * root for the server, whose /metrics read it at each scrape: the cleanup panels and the
 * TusgateCleanupStale alert then see runs the server did not make.
 */
export interface CleanupRecord {
  /** When the run ended (ms since the epoch); a new value is a new run. */
  finishedAt: number;
  ok: boolean;
  removedFiles: number;
  removedUploads: number;
  removedHandoffLinks: number;
  durationSeconds: number;
  /** When the last successful run ended (ms since the epoch), if there was one. */
  lastSuccessAt?: number;
}

export const cleanupRecordName = '.tusgate-cleanup.json';

/** Written whole (a temporary file renamed over it): a reader never sees half a record. */
export async function writeCleanupRecord(root: string, record: CleanupRecord): Promise<void> {
  const path = join(root, cleanupRecordName);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record)}\n`);
  await rename(temporary, path);
}

/** The record in a store root; undefined when there is none or it does not read as one. */
export function readCleanupRecord(root: string): CleanupRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(root, cleanupRecordName), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  const numbers = [
    'finishedAt',
    'removedFiles',
    'removedUploads',
    'removedHandoffLinks',
    'durationSeconds',
  ] as const;
  if (typeof record.ok !== 'boolean') return undefined;
  if (!numbers.every((key) => Number.isFinite(record[key]) && (record[key] as number) >= 0)) {
    return undefined;
  }
  const lastSuccessAt = record.lastSuccessAt;
  return {
    finishedAt: record.finishedAt as number,
    ok: record.ok,
    removedFiles: record.removedFiles as number,
    removedUploads: record.removedUploads as number,
    removedHandoffLinks: record.removedHandoffLinks as number,
    durationSeconds: record.durationSeconds as number,
    ...(Number.isFinite(lastSuccessAt) ? { lastSuccessAt: lastSuccessAt as number } : {}),
  };
}
