import type { TestContext } from 'node:test';
import { tempDir } from '../../helpers/files.ts';

export const tus = { 'Tus-Resumable': '1.0.0' };
export const alice = { Authorization: 'Bearer alice-token-1a2b3c4d' };
export const bob = { Authorization: 'Bearer bob-token-5e6f7a8b' };
export const staticAuth = {
  type: 'static',
  tokens: { 'alice-token-1a2b3c4d': 'alice', 'bob-token-5e6f7a8b': 'bob' },
};

/** A proxied route over one tusd, with static auth. */
export function legacyRoute(tusdUrl: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'legacy',
    match: { pathPrefix: '/files/' },
    auth: staticAuth,
    backends: { tusd: { type: 'tusd', url: tusdUrl } },
    ...extra,
  };
}

/** Cleanups run in reverse when the test ends, each even if an earlier one failed. */
export function cleanups(t: TestContext) {
  const steps: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step().catch(() => {});
  });
  return (step: () => Promise<unknown>) => steps.push(step);
}

export async function tempFolder(t: TestContext, prefix: string): Promise<string> {
  const dir = await tempDir(prefix);
  t.after(() => dir.remove());
  return dir.path;
}

export function head(url: string, who: Record<string, string>) {
  return fetch(url, { method: 'HEAD', headers: { ...tus, ...who } });
}

export function patch(url: string, who: Record<string, string>, offset: number, body: string) {
  return fetch(url, {
    method: 'PATCH',
    headers: {
      ...tus,
      ...who,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body,
  });
}
