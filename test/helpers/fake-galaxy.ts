import { createServer, type IncomingHttpHeaders } from 'node:http';
import { listenOnLoopback } from './ports.ts';

export interface GalaxyCall {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeGalaxy {
  /** The hook endpoint, as tusd's -hooks-http would name it. */
  hooksUrl: string;
  /** Galaxy's base URL (tusgate appends /api/upload/hooks). */
  baseUrl: string;
  calls: GalaxyCall[];
  addApiKey: (key: string) => void;
  revokeApiKey: (key: string) => void;
  addSession: (cookieValue: string) => void;
  /** Answer every call with this status (e.g. 500) until reset with undefined. */
  failWith: (status: number | undefined) => void;
  /**
   * Answer every call with this raw response (e.g. a maintenance page: 200 text/html) until reset
   * with undefined. Not Galaxy's contract: what a proxy in front of it may answer instead.
   */
  answerWith: (answer: { status: number; contentType: string; body: string } | undefined) => void;
  /** While true, calls are held and never answered (a Galaxy that hangs); false releases them. */
  stall: (on: boolean) => void;
  close: () => Promise<void>;
}

/**
 * Galaxy's tus hook endpoint as Galaxy implements it, for tests (Galaxy cannot run here).
 * `POST /api/upload/hooks` is `UploadsAPIController.hooks`, exposed with `expose_api_anonymous`:
 * the handler returns None (`null`, application/json) and never reads the body. The decorator
 * authenticates from the request's own headers: an `X-Api-Key` that is not valid is a 403; with no
 * key, the `galaxysession` cookie must name a live session, else the anonymous user has no session
 * and that is a 403 too; an anonymous user with a session is admitted.
 */
export async function startFakeGalaxy(): Promise<FakeGalaxy> {
  const apiKeys = new Set<string>();
  const sessions = new Set<string>();
  const calls: GalaxyCall[] = [];
  let failure: number | undefined;
  let raw: { status: number; contentType: string; body: string } | undefined;
  let stalled = false;
  const held: (() => void)[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/upload/hooks') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ err_msg: 'Not found', err_code: 404001 }));
        return;
      }
      calls.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (stalled) {
        held.push(() => res.destroy());
        return;
      }
      const json = (status: number, body: unknown) => {
        res.writeHead(status, {
          'Content-Type': 'application/json',
          'Cache-Control': 'max-age=0,no-cache,no-store',
        });
        res.end(JSON.stringify(body));
      };
      if (raw !== undefined) {
        res.writeHead(raw.status, { 'Content-Type': raw.contentType });
        res.end(raw.body);
        return;
      }
      if (failure !== undefined) {
        json(failure, { err_msg: 'Uncaught exception in exposed API method:', err_code: 0 });
        return;
      }
      const key = req.headers['x-api-key'];
      if (typeof key === 'string' && key !== '') {
        if (!apiKeys.has(key)) {
          json(403, { err_msg: 'Provided API key is not valid.', err_code: 403001 });
          return;
        }
        json(200, null);
        return;
      }
      const session = /(?:^|;\s*)galaxysession=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      if (session === undefined || !sessions.has(session)) {
        json(403, { err_msg: 'API authentication required for this request', err_code: 403001 });
        return;
      }
      json(200, null);
    });
  });
  const port = await listenOnLoopback(server);
  const baseUrl = `http://127.0.0.1:${port}/`;
  return {
    hooksUrl: `${baseUrl}api/upload/hooks`,
    baseUrl,
    calls,
    addApiKey: (key) => apiKeys.add(key),
    revokeApiKey: (key) => apiKeys.delete(key),
    addSession: (value) => sessions.add(value),
    failWith: (status) => {
      failure = status;
    },
    answerWith: (answer) => {
      raw = answer;
    },
    stall: (on) => {
      stalled = on;
      if (!on) for (const release of held.splice(0)) release();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
