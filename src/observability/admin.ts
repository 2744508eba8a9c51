import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from './metrics.ts';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface AdminRoutes {
  list: () => unknown[];
  /** Resets a route's canary after a rollback; false when the route has no canary. */
  reset: (name: string) => boolean | undefined;
}

export interface AdminDeps {
  metrics: Metrics;
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
      handleAdminApi(req, res, path, deps);
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
      const checks = deps.readiness();
      const results = await Promise.all(
        checks.map(async ({ name, check }) => {
          try {
            await check();
            deps.onReadiness?.(name, true);
            return { name, ok: true };
          } catch (error) {
            deps.onReadiness?.(name, false);
            return { name, ok: false, error: (error as Error).message };
          }
        }),
      );
      const ready = results.every((result) => result.ok);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: results });
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

function handleAdminApi(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deps: AdminDeps,
): void {
  const token = deps.adminToken?.();
  if (!token || !deps.routes) {
    sendJson(res, 404, { error: 'admin API disabled: set server.adminToken' });
    return;
  }
  if (!tokenMatches(req.headers.authorization, token)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="tusgate-admin"');
    sendJson(res, 401, { error: 'admin token required' });
    return;
  }
  if (path === '/admin/routes' && req.method === 'GET') {
    sendJson(res, 200, { routes: deps.routes.list() });
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
    const result = deps.routes.reset(name);
    if (result === undefined) sendJson(res, 404, { error: 'no such route' });
    else if (!result) sendJson(res, 409, { error: 'route has no canary' });
    else sendJson(res, 200, { status: 'reset' });
    return;
  }
  sendJson(res, 404, { error: 'not found' });
}
