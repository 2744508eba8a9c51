import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { StoreConfig } from '../../config/schema/index.ts';
import type { ConfigIssue } from '../../errors.ts';

/**
 * The hand-off folder is Galaxy's (`tus_upload_store`): it exists before tusgate does. One that
 * is missing is a typo, and creating it would hand every finished upload to a folder no one
 * reads, so check-config, the start and every reload refuse it instead.
 */
export function handoffDirIssues(stores: Readonly<Record<string, StoreConfig>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [name, store] of Object.entries(stores)) {
    if (store.handoffDir === undefined) continue;
    const problem = folderProblem(resolve(store.handoffDir));
    if (problem) issues.push({ path: `stores.${name}.handoffDir`, message: problem });
  }
  return issues;
}

function folderProblem(dir: string): string | undefined {
  try {
    if (statSync(dir).isDirectory()) return undefined;
    return `${dir} is not a folder`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return `${dir} does not exist; tusgate does not create it (Galaxy's tus_upload_store exists before tusgate): check the path`;
    }
    return `cannot read ${dir} (${code})`;
  }
}
