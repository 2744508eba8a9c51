import { readFileSync } from 'node:fs';
import type { RouteConfig } from '../../config/schema/index.ts';
import { ConfigError } from '../../errors.ts';

type UnownedConfig = NonNullable<RouteConfig['unownedUploads']>;

/**
 * Which uploads with no owner on record are pre-tusgate uploads (open to any authenticated
 * principal) rather than uploads whose owner is unknown (404): those listed in `idsFile`, and any
 * id while `allowUntil` has not passed.
 */
export class UnownedUploads {
  readonly #allowUntil: number | undefined;
  readonly #ids: ReadonlySet<string>;

  constructor(config: UnownedConfig, ids: ReadonlySet<string> = new Set()) {
    this.#allowUntil = config.allowUntil?.getTime();
    this.#ids = ids;
  }

  allows(id: string, now = Date.now()): boolean {
    return (this.#allowUntil !== undefined && now < this.#allowUntil) || this.#ids.has(id);
  }
}

const loaded = new WeakMap<UnownedConfig, UnownedUploads>();

/**
 * The route's policy, its ids file read once per config generation. `at` names the config key in
 * the ConfigError an unreadable file gives.
 */
export function unownedUploadsOf(
  config: UnownedConfig | undefined,
  at = 'unownedUploads',
): UnownedUploads | undefined {
  if (config === undefined) return undefined;
  let policy = loaded.get(config);
  if (policy === undefined) {
    policy = new UnownedUploads(config, readIdsFile(config.idsFile, `${at}.idsFile`));
    loaded.set(config, policy);
  }
  return policy;
}

/** One id per line; blank lines and `#` comments are skipped, a `.info` suffix is dropped. */
function readIdsFile(file: string | undefined, at: string): Set<string> {
  if (file === undefined) return new Set();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError([{ path: at, message: `cannot read ${file} (${reason})` }]);
  }
  const ids = new Set<string>();
  for (const line of text.split('\n')) {
    const id = line.trim().replace(/\.info$/, '');
    if (id !== '' && !id.startsWith('#')) ids.add(id);
  }
  return ids;
}
