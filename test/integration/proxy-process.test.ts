import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { sha256File } from '../helpers/files.ts';
import { startGatewayProcess } from '../helpers/gateway.ts';
import { startTusd } from '../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kib) * 1024;
}

function patch(url: string, offset: number, length: number, body: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'PATCH',
      headers: {
        ...tus,
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(length),
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    body.pipe(req);
  });
}

async function create(url: string, length: number): Promise<string> {
  const response = await request(url, {
    method: 'POST',
    headers: { ...tus, 'Upload-Length': String(length) },
  });
  await response.body.dump();
  assert.equal(response.statusCode, 201);
  return response.headers.location as string;
}

function routeTo(url: string) {
  return {
    routes: [
      {
        name: 'uploads',
        match: { pathPrefix: '/files/' },
        backends: { legacy: { type: 'tusd', url } },
      },
    ],
  };
}

describe('the gateway process', () => {
  test('a 1 GiB upload raises its RSS by less than 64 MiB', { timeout: 120_000 }, async (t) => {
    const tusd = await startTusd();
    const gw = await startGatewayProcess(routeTo(tusd.url));
    const pid = gw.process.pid as number;
    try {
      // Warm up with 64 MiB so lazily loaded code, connection pools and the garbage collector's
      // steady state (V8 lets ~64 MiB of freed socket buffers pile up before it collects) are in
      // the baseline. Buffering would show as growth proportional to the 1 GiB that follows.
      const warmSize = 64 * 1024 * 1024;
      const warm = await create(`${gw.url}/files/`, warmSize);
      const warmBody = Readable.from(Array.from({ length: 64 }, () => Buffer.alloc(1024 * 1024)));
      assert.equal(await patch(warm, 0, warmSize, warmBody), 204);
      const baseline = await rssBytes(pid);

      const size = 1024 * 1024 * 1024;
      const location = await create(`${gw.url}/files/`, size);
      const hash = createHash('sha256');
      const block = Buffer.alloc(1024 * 1024);
      const source = Readable.from(
        (function* () {
          for (let index = 0; index < 1024; index++) {
            block.writeUInt32LE(index, 0);
            const chunk = Buffer.from(block);
            hash.update(chunk);
            yield chunk;
          }
        })(),
      );
      let peak = baseline;
      const sampler = setInterval(() => {
        void rssBytes(pid).then((rss) => {
          peak = Math.max(peak, rss);
        });
      }, 50);
      const status = await patch(location, 0, size, source);
      clearInterval(sampler);
      assert.equal(status, 204);
      const growth = peak - baseline;
      t.diagnostic(
        `RSS baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak ${(peak / 2 ** 20).toFixed(1)} MiB`,
      );
      assert.ok(growth < 64 * 1024 * 1024, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
      const id = location.slice(location.lastIndexOf('/') + 1);
      assert.equal(await sha256File(join(tusd.dir, id)), hash.digest('hex'));
    } finally {
      await gw.stop();
      await tusd.stop();
    }
  });

  test('SIGTERM: new connections refused, the running upload finishes, exit 0', {
    timeout: 30_000,
  }, async () => {
    const tusd = await startTusd();
    const gw = await startGatewayProcess(routeTo(tusd.url));
    try {
      const size = 30;
      const location = await create(`${gw.url}/files/`, size);
      const drip = Readable.from(
        (async function* () {
          for (let sent = 0; sent < size; sent += 3) {
            yield Buffer.from('abc');
            await sleep(100);
          }
        })(),
      );
      const running = patch(location, 0, size, drip);
      await sleep(300);
      const exited = gw.stop('SIGTERM');
      await sleep(200);
      await assert.rejects(request(`${gw.url}/files/`, { method: 'OPTIONS' }), /ECONNREFUSED/);
      assert.equal(await running, 204, 'the in-flight PATCH completed');
      assert.equal(await exited, 0);
      const head = await request(`${tusd.url}${location.slice(location.lastIndexOf('/') + 1)}`, {
        method: 'HEAD',
        headers: tus,
      });
      await head.body.dump();
      assert.equal(head.headers['upload-offset'], String(size));
    } finally {
      await gw.stop();
      await tusd.stop();
    }
  });
});
