import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteConfig } from '../config/schema/index.ts';
import { TusgateError } from '../errors.ts';

type CorsConfig = NonNullable<RouteConfig['cors']>;

const allowMethods = 'POST, HEAD, PATCH, OPTIONS, GET, DELETE';
const baseAllowHeaders = [
  'Authorization',
  'Origin',
  'X-Requested-With',
  'X-Request-ID',
  'X-HTTP-Method-Override',
  'X-Api-Key',
  'Content-Type',
  'Upload-Length',
  'Upload-Offset',
  'Tus-Resumable',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Concat',
  'Upload-Checksum',
  'Upload-Incomplete',
  'Upload-Complete',
  'Upload-Draft-Interop-Version',
];
const exposeHeaders = [
  'Upload-Offset',
  'Location',
  'Upload-Length',
  'Upload-Expires',
  'Tus-Version',
  'Tus-Resumable',
  'Tus-Max-Size',
  'Tus-Extension',
  'Tus-Checksum-Algorithm',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Concat',
  'Upload-Incomplete',
  'Upload-Complete',
  'Upload-Draft-Interop-Version',
  'X-Request-Id',
].join(', ');

export interface CorsPolicy {
  /**
   * Applies the route's CORS policy to a request with an `Origin`. Returns true when the request
   * was a preflight and has been answered. A foreign origin that is not allowed is a 403, as tusd
   * answers; a request from the gateway's own public origin is always allowed.
   */
  apply(req: IncomingMessage, res: ServerResponse, publicOrigin: string): boolean;
}

/**
 * The request headers a route's own config gives meaning to: the static token header, the
 * headers sent on to Galaxy, the canary's override and sticky headers, the header `match` routes
 * by. A page on another origin can only send them if the preflight allows them.
 */
export function routeRequestHeaders(route: RouteConfig): string[] {
  const headers: string[] = [];
  const auth = route.auth;
  if (auth?.type === 'static') headers.push(auth.header);
  // Cookies are not request headers a page sets: browsers send them with credentials.
  if (auth?.type === 'galaxy') {
    headers.push(...auth.forwardHeaders.filter((name) => name.toLowerCase() !== 'cookie'));
  }
  if (route.canary?.override) headers.push(route.canary.override.header);
  if (route.canary?.stickyHeader) headers.push(route.canary.stickyHeader);
  if (route.match.header) headers.push(route.match.header.name);
  return headers;
}

/**
 * The policy of a route with a `cors` block, modelled on tusd's `-cors-*` behaviour. Preflights
 * allow the tus headers and the route's own (`routeHeaders`, see `routeRequestHeaders`).
 */
export function createCorsPolicy(
  config: CorsConfig,
  routeHeaders: readonly string[] = [],
): CorsPolicy {
  const known = new Set(baseAllowHeaders.map((name) => name.toLowerCase()));
  const extra = routeHeaders.filter((name) => {
    const fresh = !known.has(name.toLowerCase());
    known.add(name.toLowerCase());
    return fresh;
  });
  const allowHeaders = [...baseAllowHeaders, ...extra].join(', ');
  const matchers = config.origins.map(originMatcher);
  const allowed = (origin: string) => matchers.some((matches) => matches(origin));
  const maxAge = String(Math.floor(config.maxAge / 1000));

  return {
    apply(req, res, publicOrigin) {
      const origin = req.headers.origin;
      if (typeof origin !== 'string' || origin === '') return false;
      if (origin !== publicOrigin && !allowed(origin)) {
        throw new TusgateError('TUSGATE_ERR_CORS_ORIGIN');
      }
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      if (config.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
      const preflight =
        req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
      if (!preflight) {
        res.setHeader('Access-Control-Expose-Headers', exposeHeaders);
        return false;
      }
      // 200, not 204: some browsers treat a 204 preflight answer as a refusal (tusd does the same).
      res.writeHead(200, {
        'Access-Control-Allow-Methods': allowMethods,
        'Access-Control-Allow-Headers': allowHeaders,
        'Access-Control-Max-Age': maxAge,
        'Content-Length': 0,
      });
      res.end();
      return true;
    },
  };
}

/** `*` (any), `/regex/` (anchored by the writer), or an exact origin such as https://a.example. */
function originMatcher(pattern: string): (origin: string) => boolean {
  if (pattern === '*') return () => true;
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    const regex = new RegExp(pattern.slice(1, -1));
    return (origin) => regex.test(origin);
  }
  const exact = pattern.replace(/\/$/, '').toLowerCase();
  return (origin) => origin.toLowerCase() === exact;
}
