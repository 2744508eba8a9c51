import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteConfig } from '../config/schema/index.ts';
import { TusgateError } from '../errors.ts';

type CorsConfig = NonNullable<RouteConfig['cors']>;

const allowMethods = 'POST, HEAD, PATCH, OPTIONS, GET, DELETE';
const allowHeaders = [
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
].join(', ');
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

/** The policy of a route with a `cors` block, modelled on tusd's `-cors-*` behaviour. */
export function createCorsPolicy(config: CorsConfig): CorsPolicy {
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
