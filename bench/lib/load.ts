import { Agent, request } from 'node:http';

const block = Buffer.alloc(1024 * 1024, 0x5a);
const tus = { 'Tus-Resumable': '1.0.0' };

function send(
  agent: Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  bodyBytes = 0,
): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    });
    req.on('error', reject);
    let left = bodyBytes;
    const pump = () => {
      while (left > 0) {
        const chunk = left >= block.length ? block : block.subarray(0, left);
        left -= chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** POST + one streaming PATCH of `size` bytes, the way tus-js-client uploads without chunking. */
export async function uploadOnce(agent: Agent, endpoint: string, size: number): Promise<void> {
  const created = await send(agent, endpoint, 'POST', { ...tus, 'Upload-Length': String(size) });
  if (created.status !== 201 || !created.location)
    throw new Error(`POST answered ${created.status}`);
  const location = new URL(created.location, endpoint).href;
  const patched = await send(
    agent,
    location,
    'PATCH',
    {
      ...tus,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': String(size),
    },
    size,
  );
  if (patched.status !== 204) throw new Error(`PATCH answered ${patched.status}`);
}

export async function createUpload(endpoint: string, size: number): Promise<string> {
  const agent = new Agent({ keepAlive: false });
  const created = await send(agent, endpoint, 'POST', { ...tus, 'Upload-Length': String(size) });
  if (!created.location) throw new Error(`POST answered ${created.status}`);
  return new URL(created.location, endpoint).href;
}

/** Runs `count` uploads of `size` bytes at once; returns wall seconds. */
export async function concurrentUploads(
  endpoint: string,
  count: number,
  size: number,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: count });
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, () => uploadOnce(agent, endpoint, size)));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return seconds;
}
