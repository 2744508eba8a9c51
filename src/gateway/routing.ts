import type { IncomingMessage } from 'node:http';
import type { Backend, RequestContext, RouteView } from '../backends/types.ts';
import type { RouteConfig } from '../config/schema/index.ts';
import { type HookRunner, noHooks } from '../hooks/types.ts';
import type { Authenticator } from './auth/types.ts';
import type { CanaryController } from './canary/canary.ts';
import type { CorsPolicy } from './cors.ts';

/** A request context as the gateway holds it: with the whole compiled route. */
export interface GatewayRequestContext extends RequestContext {
  readonly route: CompiledRoute;
}

export interface CompiledRoute extends RouteView {
  readonly backends: ReadonlyMap<string, Backend>;
  /** Where creations go when no canary decides otherwise. */
  readonly createBackend: Backend;
  readonly canary: CanaryController | undefined;
  /** null: the route has `auth: none`. */
  readonly authenticator: Authenticator | null;
  /** undefined: no `cors` block; CORS headers are whatever the backend sends. */
  readonly cors: CorsPolicy | undefined;
  /** The route's hooks (noHooks when it has none). */
  readonly hooks: HookRunner;
}

export function compileRoute(
  config: RouteConfig,
  backends: Map<string, Backend>,
  options: {
    canary?: CanaryController;
    authenticator?: Authenticator | null;
    cors?: CorsPolicy;
    hooks?: HookRunner;
  } = {},
): CompiledRoute {
  const createName = config.create ?? (backends.keys().next().value as string);
  const createBackend = backends.get(createName);
  if (!createBackend) throw new Error(`route ${config.name}: unknown create backend ${createName}`);
  return {
    name: config.name,
    publicBase: config.match.pathPrefix,
    config,
    backends,
    createBackend,
    canary: options.canary,
    authenticator: options.authenticator ?? null,
    cors: options.cors,
    hooks: options.hooks ?? noHooks,
  };
}

export interface RouteMatch {
  route: CompiledRoute;
  /** The path after the public base, still percent-encoded. */
  rest: string;
}

export function matchRoute(
  routes: readonly CompiledRoute[],
  req: IncomingMessage,
  path: string,
): RouteMatch | undefined {
  for (const route of routes) {
    const base = route.publicBase;
    let rest: string;
    if (path.startsWith(base)) rest = path.slice(base.length);
    else if (path === base.slice(0, -1)) rest = '';
    else continue;
    const { host, header } = route.config.match;
    if (host !== undefined && stripPort(req.headers.host) !== host.toLowerCase()) continue;
    if (header !== undefined && req.headers[header.name.toLowerCase()] !== header.value) continue;
    return { route, rest };
  }
  return undefined;
}

function stripPort(host: string | undefined): string {
  return (host ?? '').replace(/:\d+$/, '').toLowerCase();
}

const absoluteFormAuthority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * Splits a request target into path and query; absolute-form targets are reduced to their path
 * as sent. A URL parser would resolve dot segments (`%2e%2e` too) that the origin form of the same
 * path keeps, and a traversal must be refused the same way in both forms.
 */
export function splitTarget(target: string): { path: string; search: string } {
  let text = target;
  if (!text.startsWith('/')) {
    const authority = absoluteFormAuthority.exec(text);
    if (!authority || !URL.canParse(text)) return { path: '', search: '' };
    text = text.slice(authority[0].length);
    if (!text.startsWith('/')) text = `/${text}`;
  }
  const queryAt = text.indexOf('?');
  return queryAt === -1
    ? { path: text, search: '' }
    : { path: text.slice(0, queryAt), search: text.slice(queryAt) };
}
