import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

export const tus = { 'Tus-Resumable': '1.0.0' };
export const alice = { Authorization: 'Bearer alice-token-1a2b3c4d' };
export const bob = { Authorization: 'Bearer bob-token-5e6f7a8b' };
/** The routes' maxSize. */
export const maxSize = 1024 * 1024;

export interface HostileSetup {
  gw: RunningGateway;
  tusd: RunningTusd;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  port: number;
  /** The folder holding the native store's root (`<dir>/store`); tests may plant files here. */
  dir: string;
  storeRoot: string;
  stop: () => Promise<void>;
}

/** A gateway with a native route (`/files/`) and a route proxied to a real tusd (`/prx/`), static auth. */
export async function startHostileSetup(): Promise<HostileSetup> {
  const tusd = await startTusd();
  const dir = await tempDir('tusgate-security-');
  try {
    return await startOn(tusd, dir);
  } catch (error) {
    await tusd.stop();
    await dir.remove();
    throw error;
  }
}

async function startOn(
  tusd: RunningTusd,
  dir: { path: string; remove: () => Promise<void> },
): Promise<HostileSetup> {
  const auth = {
    type: 'static',
    tokens: { 'alice-token-1a2b3c4d': 'alice', 'bob-token-5e6f7a8b': 'bob' },
  };
  const gw = await startGateway({
    stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
    routes: [
      {
        name: 'native',
        match: { pathPrefix: '/files/' },
        maxSize,
        auth,
        backends: { native: { type: 'native', store: 'main' } },
      },
      {
        name: 'proxied',
        match: { pathPrefix: '/prx/' },
        maxSize,
        auth,
        backends: { tusd: { type: 'tusd', url: tusd.url, idleTimeout: '2s' } },
      },
    ],
  });
  const port = Number(new URL(gw.url).port);
  return {
    gw,
    tusd,
    origin: gw.url,
    port,
    dir: dir.path,
    storeRoot: join(dir.path, 'store'),
    stop: async () => {
      await gw.stop();
      await tusd.stop();
      await dir.remove();
    },
  };
}

/** Creates and fills an upload; returns its URL. */
export async function finishedUpload(
  collection: string,
  who: Record<string, string>,
  body: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const created = await fetch(collection, {
    method: 'POST',
    headers: { ...tus, ...who, ...extra, 'Upload-Length': String(Buffer.byteLength(body)) },
  });
  assert.equal(created.status, 201, await created.text());
  const url = new URL(created.headers.get('location') ?? '', collection).href;
  const patched = await fetch(url, {
    method: 'PATCH',
    headers: {
      ...tus,
      ...who,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
    },
    body,
  });
  assert.equal(patched.status, 204, await patched.text());
  return url;
}

export interface RawResponse {
  statusLine: string;
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/**
 * Sends raw bytes on one connection and reads responses framed by Content-Length or chunked (or
 * none, for answers to HEAD: `bodiless` lists, per response, whether it has no body). Gives up after
 * `timeoutMs` and returns what it parsed.
 */
export function rawExchange(
  port: number,
  request: string | Buffer,
  options: { responses?: number; bodiless?: boolean[]; timeoutMs?: number } = {},
): Promise<RawResponse[]> {
  const wanted = options.responses ?? 1;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    const parsed: RawResponse[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parsed);
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 5000);
    const tryParse = () => {
      while (parsed.length < wanted) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const statusLine = lines[0] ?? '';
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        const bodiless = options.bodiless?.[parsed.length] ?? false;
        const rest = buffer.subarray(end + 4);
        let body: Buffer;
        let consumed: number;
        if (!bodiless && headers.get('transfer-encoding') === 'chunked') {
          // Enough for the answers tested here: the last chunk ends the body.
          const last = rest.indexOf('0\r\n\r\n');
          if (last === -1) return;
          body = rest.subarray(0, last);
          consumed = last + 5;
        } else {
          const length = bodiless ? 0 : Number(headers.get('content-length') ?? '0');
          if (rest.length < length) return;
          body = rest.subarray(0, length);
          consumed = length;
        }
        parsed.push({ statusLine, status: Number(statusLine.split(' ')[1]), headers, body });
        buffer = rest.subarray(consumed);
      }
      finish();
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      tryParse();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(request);
  });
}

/** A raw HTTP/1.1 request with CRLF line endings. */
export function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** One request tusd saw (its `RequestIncoming` log line); `path` is relative to its base path. */
export interface TusdRequest {
  requestId: string;
  method: string;
  path: string;
}

/** The requests tusd logged so far (its log keeps the last 64 KiB: compare snapshots by id). */
export function tusdRequests(tusd: RunningTusd): TusdRequest[] {
  const seen: TusdRequest[] = [];
  for (const line of tusd.logs().split('\n')) {
    const match =
      /event=RequestIncoming method=(\S+) path=("(?:[^"\\]|\\.)*"|\S*) requestId=(\S+)/.exec(line);
    if (!match) continue;
    const path = match[2]!.startsWith('"') ? (JSON.parse(match[2]!) as string) : match[2]!;
    seen.push({ method: match[1]!, path, requestId: match[3]! });
  }
  return seen;
}

/** Records what tusd sees from now on: `since()` lists the requests that arrived after `start`. */
export function watchTusd(tusd: RunningTusd): { since: () => TusdRequest[] } {
  const before = new Set(tusdRequests(tusd).map((request) => request.requestId));
  return { since: () => tusdRequests(tusd).filter((request) => !before.has(request.requestId)) };
}

export interface Conversation {
  responses: RawResponse[];
  /** The gateway closed the connection before `timeoutMs`. */
  closed: boolean;
  /** Every byte received. */
  raw: Buffer;
}

/**
 * Writes raw bytes on one connection and reads until the gateway closes it (or `timeoutMs`
 * passes: a hang is reported as `closed: false`, never waited out). Responses are split by
 * Content-Length or chunked framing; none may answer a HEAD here.
 */
export function rawConversation(
  port: number,
  request: string | Buffer,
  timeoutMs = 3000,
): Promise<Conversation> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      resolve({ responses: splitResponses(raw), closed, raw });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.write(request);
  });
}

function splitResponses(raw: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n');
    const statusLine = lines[0] ?? '';
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const after = rest.subarray(end + 4);
    let length: number;
    let body: Buffer;
    if (headers.get('transfer-encoding') === 'chunked') {
      const last = after.indexOf('0\r\n\r\n');
      length = last === -1 ? after.length : last + 5;
      body = after.subarray(0, last === -1 ? after.length : last);
    } else {
      length = Math.min(after.length, Number(headers.get('content-length') ?? '0'));
      body = after.subarray(0, length);
    }
    responses.push({ statusLine, status: Number(statusLine.split(' ')[1]), headers, body });
    rest = after.subarray(length);
  }
  return responses;
}
