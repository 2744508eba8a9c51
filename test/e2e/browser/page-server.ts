import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { projectRoot } from '../../helpers/gateway.ts';
import { listenOnLoopback } from '../../helpers/ports.ts';

export const chromiumBinary = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const tusBundle = join(projectRoot, 'node_modules', 'tus-js-client', 'dist', 'tus.min.js');

export interface PageResult {
  ok: boolean;
  stage: string;
  error?: string;
  url?: string;
  heads?: number[];
  sha256?: string;
}

/** Serves the upload page and the browser build of tus-js-client, as a web app on its own origin would. */
export async function startPageServer(): Promise<{ server: Server; port: number }> {
  const page = await readFile(join(import.meta.dirname, 'page.html'));
  const bundle = await readFile(tusBundle);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/tus.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    } else if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
    } else {
      res.writeHead(404).end();
    }
  });
  return { server, port: await listenOnLoopback(server) };
}

/** The bytes the page generates for a seed (xorshift32), to check the browser's own digest. */
export function expectedSha256(seed: number, size: number): string {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    words[i] = x;
  }
  return createHash('sha256')
    .update(new Uint8Array(words.buffer, 0, size))
    .digest('hex');
}
