import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { drainAfterAnswer } from './early-answer.ts';

/**
 * HTTP/2 requests reach the pipeline through Node's compatibility API, which covers what tusgate
 * uses of IncomingMessage and ServerResponse except for a few differences, evened out here so the
 * pipeline, the backends and the hooks stay written for one request type:
 *  - no `headersDistinct`, and the authority comes as `:authority`, not `Host`;
 *  - a body of undeclared length has no `Transfer-Encoding: chunked` to say it is there;
 *  - HTTP/1 connection headers (`Connection: close`...) make an HTTP/2 response throw;
 *  - the response has no `destroyed`, and its 'finish' comes only once the whole stream closed,
 *    which a client still sending a body never lets happen: the early-answer reset (see
 *    early-answer.ts) waits for the stream's own 'finish' instead.
 * Pseudo-headers (`:path`...) stay in `req.headers` (Node reads the method and URL from them) and
 * are never forwarded (see backends/proxy/headers.ts).
 */
export function adaptHttp2Exchange(
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  maxHeaderSize: number,
): { req: IncomingMessage; res: ServerResponse } | 'malformed' | 'headers-too-large' {
  const headers = req.headers;
  const distinct: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  // Node does not hold clients to the SETTINGS_MAX_HEADER_LIST_SIZE it announces: counted here,
  // as RFC 7541 §4.1 sizes a header list.
  let listSize = 0;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = (raw[index] as string).toLowerCase();
    const value = raw[index + 1] as string;
    listSize += name.length + value.length + 32;
    // RFC 9113 §8.2.1: such a request is malformed. nghttp2 lets it through, and an HTTP/1.1
    // backend must never see a line break smuggled inside a header.
    if (/[\r\n\0]/.test(value)) return 'malformed';
    if (name.startsWith(':')) continue;
    distinct[name] ??= [];
    distinct[name].push(value);
  }
  if (listSize > maxHeaderSize) return 'headers-too-large';
  Object.defineProperty(req, 'headersDistinct', { value: distinct });
  // Trailers (an Upload-Checksum trailer) arrive with the end of the stream; read as HTTP/1.1's.
  Object.defineProperty(req, 'trailersDistinct', {
    get: () => {
      const trailers: Record<string, string[]> = {};
      for (const [name, value] of Object.entries(req.trailers ?? {})) {
        if (name.startsWith(':') || value === undefined) continue;
        trailers[name] = Array.isArray(value) ? value : [String(value)];
      }
      return trailers;
    },
  });

  const authority = headers[':authority'];
  if (typeof authority === 'string') {
    // RFC 9113 §8.3.1: a Host naming another authority makes the request malformed. An empty
    // Host fails the pipeline's host check, which answers 400 like any bad Host.
    headers.host = headers.host === undefined || headers.host === authority ? authority : '';
  }
  if (headers['content-length'] === undefined && !req.stream.endAfterHeaders) {
    // The HTTP/1.1 spelling of "a body of undeclared length follows", which the tus parsing and
    // the route's maxSize check read. Never forwarded: it is a hop-by-hop header.
    headers['transfer-encoding'] = 'chunked';
  }

  const writeHead = res.writeHead.bind(res) as (status: number, headers?: object) => unknown;
  Object.defineProperty(res, 'writeHead', {
    value: (status: number, second?: unknown, third?: unknown) => {
      const given = (typeof second === 'string' ? third : second) as
        | OutgoingHttpHeaders
        | undefined;
      writeHead(status, given && withoutConnectionHeaders(given));
      return res;
    },
  });
  const setHeader = res.setHeader.bind(res);
  Object.defineProperty(res, 'setHeader', {
    value: (name: string, value: number | string | readonly string[]) => {
      if (!connectionSpecific.has(name.toLowerCase())) setHeader(name, value);
      return res;
    },
  });
  Object.defineProperty(res, 'destroyed', { get: () => res.stream.destroyed });
  res.stream.once('finish', () => drainAfterAnswer(req as unknown as IncomingMessage));
  // The types differ; the members tusgate uses behave alike (see above).
  return {
    req: req as unknown as IncomingMessage,
    res: res as unknown as ServerResponse,
  };
}

/** HTTP/1 headers about the connection, which HTTP/2 forbids (RFC 9113 §8.2.2). */
const connectionSpecific = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

function withoutConnectionHeaders(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!connectionSpecific.has(name.toLowerCase())) out[name] = value;
  }
  return out;
}

export function isHttp2Request(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2;
}
