import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { validateConfig } from '../../../src/config/load.ts';

export const tus = { 'Tus-Resumable': '1.0.0' };
export const octets = { ...tus, 'Content-Type': 'application/offset+octet-stream' };

/** The store a native config describes, to find an upload's data file on disk. */
export function storeOf(raw: Record<string, unknown>): DateShardedStore {
  return new DateShardedStore('main', validateConfig(raw).stores.main!);
}

export function idOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

export async function createUpload(endpoint: string, size: number): Promise<string> {
  const created = await fetch(endpoint, {
    method: 'POST',
    headers: { ...tus, 'Upload-Length': String(size) },
  });
  if (created.status !== 201) throw new Error(`creation answered ${created.status}`);
  return new URL(created.headers.get('location') as string, endpoint).href;
}

export interface StalledPatch {
  /** The answer the stalled client gets, if any (status and body). */
  answer: Promise<{ status: number; body: string }>;
  /** Sends more of the body. */
  send: (data: Buffer) => void;
  destroy: () => void;
}

/**
 * A PATCH that announces `total` bytes at `offset`, sends `first`, then stalls with its
 * connection open (a client whose network went quiet).
 */
export function stalledPatch(
  url: string,
  offset: number,
  total: number,
  first: Buffer,
): StalledPatch {
  const req = request(url, {
    method: 'PATCH',
    headers: { ...octets, 'Upload-Offset': String(offset), 'Content-Length': String(total) },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  // Nobody may be left with an unhandled rejection when the test destroys the request.
  answer.catch(() => {});
  req.write(first);
  return { answer, send: (data) => req.write(data), destroy: () => req.destroy() };
}

/** Waits until a file is `size` bytes long (the server wrote what it received). */
export async function waitForSize(path: string, size: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await stat(path).then(
      (info) => info.size,
      () => -1,
    );
    if (current === size) return;
    if (Date.now() > deadline) throw new Error(`${path} is ${current} bytes, not ${size}`);
    await sleep(10);
  }
}

export async function headOffset(url: string): Promise<{ status: number; offset: number }> {
  const res = await fetch(url, { method: 'HEAD', headers: tus });
  return { status: res.status, offset: Number(res.headers.get('upload-offset') ?? -1) };
}

export async function patch(
  url: string,
  offset: number,
  body: Buffer,
): Promise<{ status: number; offset: number; text: string }> {
  const res = await fetch(url, {
    method: 'PATCH',
    headers: { ...octets, 'Upload-Offset': String(offset) },
    body,
  });
  return {
    status: res.status,
    offset: Number(res.headers.get('upload-offset') ?? -1),
    text: await res.text(),
  };
}
