import { TusgateError } from '../errors.ts';
import type { TusRequest } from './request.ts';

/**
 * A route's maxSize, as far as the request itself shows it: a declared Upload-Length (creation or
 * deferred length on PATCH), a creation body, or a PATCH body that would end past the limit.
 * (A chunked body of unknown length is cut at the limit on its way: backends/proxy/request-body.ts.)
 */
export function checkMaxSize(tus: TusRequest, maxSize: number | undefined): void {
  if (maxSize === undefined) return;
  const exceeded =
    (tus.uploadLength !== undefined && tus.uploadLength > maxSize) ||
    (tus.method === 'POST' && (tus.contentLength ?? 0) > maxSize) ||
    (tus.method === 'PATCH' && (tus.uploadOffset ?? 0) + (tus.contentLength ?? 0) > maxSize);
  if (exceeded) throw new TusgateError('TUSGATE_ERR_SIZE_EXCEEDED');
}

/** Tus-Max-Size to advertise: the smaller of the backend's and the route's. */
export function combinedMaxSize(
  backend: string | undefined,
  route: number | undefined,
): string | undefined {
  const fromBackend =
    backend !== undefined && /^[0-9]{1,16}$/.test(backend) ? Number(backend) : undefined;
  if (fromBackend === undefined) return route === undefined ? undefined : String(route);
  return String(route === undefined ? fromBackend : Math.min(fromBackend, route));
}
