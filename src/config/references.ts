/** A problem with how one part of the config names another (a backend, a store, a route). */
export interface ReferenceIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Checks the names parts of the config give each other. It reads the document defensively, so
 * it runs on a config the schema refused too: `check-config` then reports these problems in the
 * same run instead of after the schema's are fixed. A part too malformed to read is skipped (the
 * schema reports it).
 */
export function referenceIssues(config: unknown): ReferenceIssue[] {
  const issues: ReferenceIssue[] = [];
  if (!isRecord(config) || !Array.isArray(config.routes)) return issues;
  const stores = config.stores === undefined ? {} : config.stores;
  const storeNames = isRecord(stores) ? Object.keys(stores) : undefined;
  const seen = new Set<string>();
  config.routes.forEach((route: unknown, index) => {
    if (!isRecord(route)) return;
    const at = (...rest: (string | number)[]) => ['routes', index, ...rest];
    const add = (path: (string | number)[], message: string) => issues.push({ path, message });
    if (typeof route.name === 'string') {
      if (seen.has(route.name)) add(at('name'), `duplicate route name "${route.name}"`);
      seen.add(route.name);
    }
    if (!isRecord(route.backends)) return;
    const backends = route.backends;
    const backendNames = Object.keys(backends);
    const have = `(have: ${backendNames.join(', ')})`;
    if (route.create === undefined && backendNames.length > 1) {
      add(
        at('create'),
        `required when a route has several backends (one of: ${backendNames.join(', ')})`,
      );
    }
    if (typeof route.create === 'string' && !backendNames.includes(route.create)) {
      add(at('create'), `names no backend of this route ${have}`);
    }
    const canary = route.canary;
    if (
      isRecord(canary) &&
      typeof canary.backend === 'string' &&
      !backendNames.includes(canary.backend)
    ) {
      add(at('canary', 'backend'), `names no backend of this route ${have}`);
    }
    const natives = Object.entries(backends).filter(
      ([, backend]) => isRecord(backend) && backend.type === 'native',
    );
    if (natives.length > 1) {
      add(
        at('backends', natives[1]![0]),
        'a route holds at most one native backend (its ids could not tell them apart)',
      );
    }
    if (storeNames === undefined) return;
    for (const [backendName, backend] of natives) {
      const store = (backend as Record<string, unknown>).store;
      if (typeof store === 'string' && !storeNames.includes(store)) {
        add(
          at('backends', backendName, 'store'),
          `names no store under "stores" (have: ${storeNames.join(', ') || 'none'})`,
        );
      }
    }
  });
  return issues;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
