import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { TUS_REQUEST_HEADERS } from '../../tus/constants.ts';

/** Headers that describe one connection, not the message: never forwarded in either direction. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request headers the gateway sets itself (or must not pass: undici rejects `expect`). */
const replacedOnRequest = new Set([
  'host',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
  'x-http-method-override',
  // The client's tus headers never pass as sent: the gateway writes them from what it parsed.
  ...TUS_REQUEST_HEADERS,
  // The IETF resumable-upload draft's headers: tusgate parses none of them, so none may steer a
  // backend started with the experimental protocol on.
  'upload-complete',
  'upload-incomplete',
  'upload-draft-interop-version',
]);

/** Framing headers of a request body; dropped when the request goes upstream without one. */
const bodyFraming = ['content-length', 'transfer-encoding'];

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    text
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * Copies end-to-end headers, dropping hop-by-hop ones, any named in `Connection` and HTTP/2's
 * pseudo-headers (`:path`...: the upstream request is HTTP/1.1 and carries its own).
 */
export function endToEndHeaders(
  headers: IncomingHttpHeaders,
  alsoDrop: ReadonlySet<string> = new Set(),
): Record<string, string | string[]> {
  const named = connectionTokens(headers);
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || key.startsWith(':')) continue;
    if (hopByHop.has(key) || named.has(key) || alsoDrop.has(key)) continue;
    out[key] = value;
  }
  return out;
}

/**
 * With `gatewayCors`, the gateway answers CORS itself: the backend never sees `Origin`. Without
 * `withBody` (HEAD, GET, DELETE, OPTIONS) no Content-Length goes up either: a backend told of a
 * body that never comes would wait for it.
 */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  options: { gatewayCors?: boolean; withBody: boolean },
): Record<string, string | string[]> {
  const out = endToEndHeaders(headers, replacedOnRequest);
  if (options.gatewayCors) delete out.origin;
  if (!options.withBody) for (const name of bodyFraming) delete out[name];
  return out;
}

/** With `gatewayCors`, the backend's own CORS headers are dropped: the gateway's stand. */
export function clientResponseHeaders(
  headers: IncomingHttpHeaders,
  gatewayCors = false,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = endToEndHeaders(headers);
  if (gatewayCors) {
    for (const name of Object.keys(out)) {
      if (name.startsWith('access-control-') || name === 'vary') delete out[name];
    }
  }
  return out;
}
