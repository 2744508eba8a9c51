import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { listenOnLoopback } from './ports.ts';

export interface SentryEnvelope {
  /** The raw envelope text, to search for anything that must not be there. */
  raw: string;
  items: { header: Record<string, unknown>; payload: Record<string, unknown> }[];
}

export interface SentrySink {
  /** A DSN pointing at this sink (project 1). */
  dsn: string;
  envelopes: SentryEnvelope[];
  /** Events (items of type "event") received so far. */
  events: () => Record<string, unknown>[];
  close: () => Promise<void>;
}

/**
 * A local stand-in for Sentry's ingest endpoint (`POST /api/<project>/envelope/`): it accepts
 * envelopes exactly as the real SDK sends them and keeps them for assertions.
 */
export async function startSentrySink(): Promise<SentrySink> {
  const envelopes: SentryEnvelope[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.method === 'POST' && /^\/api\/\d+\/envelope\//.test(req.url ?? '')) {
        envelopes.push(parseEnvelope(body.toString('utf8')));
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  const port = await listenOnLoopback(server);
  return {
    dsn: `http://0123456789abcdef@127.0.0.1:${port}/1`,
    envelopes,
    events: () =>
      envelopes.flatMap((envelope) =>
        envelope.items.filter((item) => item.header.type === 'event').map((item) => item.payload),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Envelope format: a header line, then pairs of item-header and payload lines. */
function parseEnvelope(raw: string): SentryEnvelope {
  const lines = raw.split('\n').filter((line) => line !== '');
  const items: SentryEnvelope['items'] = [];
  for (let index = 1; index + 1 < lines.length; index += 2) {
    items.push({
      header: JSON.parse(lines[index]!) as Record<string, unknown>,
      payload: JSON.parse(lines[index + 1]!) as Record<string, unknown>,
    });
  }
  return { raw, items };
}
