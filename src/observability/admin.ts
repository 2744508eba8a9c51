import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface AdminRoutes {
  list: () => unknown[] | Promise<unknown[]>;
  /** Resets a route's canary after a rollback; false when the route has no canary. */
  reset: (name: string) => boolean | undefined | Promise<boolean | undefined>;
}

export interface ReadinessResult {
  name: string;
  ok: boolean;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessResult[];
}

export interface AdminDeps {
  /** A gateway's Metrics, or (with workers) a registry whose text sums every worker's. */
  metrics: { readonly registry: Pick<Registry, 'metrics' | 'contentType'> };
  readiness: () => ReadinessCheck[];
  onReadiness?: (name: string, up: boolean) => void;
  routes?: AdminRoutes;
  /** Bearer token for /admin/*; without it the admin API answers 404. */
  adminToken?: () => string | undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/**
 * The admin listener: /healthz (process up), /readyz (config loaded, backends answer), /metrics,
 * and, with an admin token, /admin/routes and /admin/routes/<name>/reset.
 */
export function createAdminHandler(deps: AdminDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/admin/')) {
      await handleAdminApi(req, res, path, deps);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed' });
      return;
    }
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      const { ready, checks } = await checkReadiness(deps.readiness(), deps.onReadiness);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
      return;
    }
    if (path === '/metrics') {
      const body = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': deps.metrics.registry.contentType });
      res.end(body);
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  };
}

/** Runs every readiness check at once; ready when all pass. */
export async function checkReadiness(
  checks: ReadinessCheck[],
  onReadiness?: (name: string, up: boolean) => void,
): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async ({ name, check }): Promise<ReadinessResult> => {
      try {
        await check();
        onReadiness?.(name, true);
        return { name, ok: true };
      } catch (error) {
        onReadiness?.(name, false);
        return { name, ok: false, error: (error as Error).message };
      }
    }),
  );
  return { ready: results.every((result) => result.ok), checks: results };
}

async function handleAdminApi(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: AdminDeps,
): Promise<void> {
  const token = deps.adminToken?.();
  const routes = deps.routes;
  if (!token || !routes) {
    sendJson(res, 404, { error: 'admin API disabled: set server.adminToken' });
    return;
  }
  if (!tokenMatches(req.headers.authorization, token)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="tusgate-admin"');
    sendJson(res, 401, { error: 'admin token required' });
    return;
  }
  if (path === '/admin/routes' && req.method === 'GET') {
    sendJson(res, 200, { routes: await routes.list() });
    return;
  }
  const reset = /^\/admin\/routes\/([^/]+)\/reset$/.exec(path);
  if (reset && req.method === 'POST') {
    let name: string;
    try {
      name = decodeURIComponent(reset[1]!);
    } catch {
      sendJson(res, 400, { error: 'malformed route name' });
      return;
    }
    const result = await routes.reset(name);
    if (result === undefined) sendJson(res, 404, { error: 'no such route' });
    else if (!result) sendJson(res, 409, { error: 'route has no canary' });
    else sendJson(res, 200, { status: 'reset' });
    return;
  }
  sendJson(res, 404, { error: 'not found' });
}
