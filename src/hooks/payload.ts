import type { IncomingMessage } from 'node:http';
import type { RequestContext } from '../gateway/context.ts';
import { canonicalHeaderName } from './header-names.ts';
import type { HookHttpRequest } from './types.ts';

/** tusd's HTTPRequest of a hook event: method, URI, the end client's address and all headers. */
export function hookRequest(req: IncomingMessage, ctx: RequestContext): HookHttpRequest {
  const header: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values) header[canonicalHeaderName(name)] = values;
  }
  return {
    Method: req.method ?? 'GET',
    URI: req.url ?? '/',
    RemoteAddr: ctx.client.address,
    Header: header,
  };
}
