import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { randomFile, sha256File, tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { tusUpload } from '../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const base = '/files/';
const tus = { 'Tus-Resumable': '1.0.0' };

function route(url: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'uploads',
    match: { pathPrefix: base },
    backends: { legacy: { type: 'tusd', url, ...extra } },
  };
}

async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('backend failures', () => {
  test('backend not running: a tus-style 502', { timeout: 15_000 }, async () => {
    const port = await freePort();
    const gw = await startGateway({
      routes: [route(`http://127.0.0.1:${port}/files/`, { connectTimeout: '2s' })],
    });
    try {
      const response = await request(`${gw.url}${base}`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': '5' },
      });
      const body = await response.body.text();
      assert.equal(response.statusCode, 502);
      assert.equal(response.headers['tus-resumable'], '1.0.0');
      assert.match(body, /^TUSGATE_ERR_BACKEND_UNAVAILABLE: /);
      const ready = await request(`${gw.adminUrl}/readyz`);
      assert.equal(ready.statusCode, 503);
      assert.match(await ready.body.text(), /"ok":false/);
    } finally {
      await gw.stop();
    }
  });

  test('backend stalls: 504 after the idle timeout, not a hang', { timeout: 15_000 }, async () => {
    const tusd = await startTusd();
    const gw = await startGateway({ routes: [route(tusd.url, { idleTimeout: '500ms' })] });
    try {
      const created = await request(`${gw.url}${base}`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': '5' },
      });
      await created.body.dump();
      const location = created.headers.location as string;
      tusd.process.kill('SIGSTOP');
      const head = await request(location, { method: 'HEAD', headers: tus });
      await head.body.dump();
      assert.equal(head.statusCode, 504);
      assert.equal(head.headers['tus-resumable'], '1.0.0');
      tusd.process.kill('SIGCONT');
      // A resumed tusd may need a moment on a loaded machine; the gateway must recover, not wedge.
      let recovered = 0;
      for (let attempt = 0; attempt < 10 && recovered !== 200; attempt++) {
        const again = await request(location, { method: 'HEAD', headers: tus });
        await again.body.dump();
        recovered = again.statusCode;
      }
      assert.equal(recovered, 200);
    } finally {
      tusd.process.kill('SIGCONT');
      await gw.stop();
      await tusd.stop();
    }
  });

  test('a PATCH longer than every header timeout is not cut while bytes flow', {
    timeout: 20_000,
  }, async () => {
    const tusd = await startTusd();
    const gw = await startGateway({
      server: { headersTimeout: '1s', idleTimeout: '2s' },
      routes: [route(tusd.url, { idleTimeout: '1s' })],
    });
    try {
      const size = 40;
      const created = await request(`${gw.url}${base}`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': String(size) },
      });
      await created.body.dump();
      const location = created.headers.location as string;
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(location, {
          method: 'PATCH',
          headers: {
            ...tus,
            'Upload-Offset': '0',
            'Content-Type': 'application/offset+octet-stream',
            'Content-Length': String(size),
          },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        let sent = 0;
        const drip = setInterval(() => {
          req.write(Buffer.alloc(4, 0x61));
          sent += 4;
          if (sent >= size) {
            clearInterval(drip);
            req.end();
          }
        }, 400);
      });
      assert.equal(status, 204, 'a 4 s PATCH passes a 1 s headers timeout');
    } finally {
      await gw.stop();
      await tusd.stop();
    }
  });
});

describe('interrupted uploads resume from the true offset', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let tusd: RunningTusd;
  let gw: RunningGateway;

  before(async () => {
    dir = await tempDir();
    tusd = await startTusd();
    gw = await startGateway({ routes: [route(tusd.url, { connectTimeout: '1s' })] });
  });

  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  test('tusd killed mid-PATCH: the client sees an error, then resumes after restart', {
    timeout: 60_000,
  }, async () => {
    const file = await randomFile(dir.path, 100 * 1024 * 1024);
    const { port, dir: dataDir } = tusd;
    let killed = false;
    let restarted: Promise<void> | undefined;
    const errors: string[] = [];
    const result = await tusUpload(file, {
      endpoint: `${gw.url}${base}`,
      chunkSize: 100 * 1024 * 1024,
      retryDelays: [200, 400, 800, 1000, 1000, 2000, 2000, 4000],
      onProgress: (sent) => {
        if (!killed && sent > 20 * 1024 * 1024) {
          killed = true;
          restarted = tusd.kill().then(async () => {
            await sleep(300);
            tusd = await startTusd({ port, dir: dataDir });
          });
        }
      },
      onShouldRetry: (error) => {
        errors.push(error.message);
        return true;
      },
    });
    await restarted;
    assert.ok(killed, 'tusd was killed during the upload');
    assert.ok(errors.length > 0, 'the client saw the interruption');
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    assert.equal(await sha256File(join(dataDir, id)), await sha256File(file));
  });

  test('client abort mid-PATCH: the upstream request ends at once', {
    timeout: 20_000,
  }, async () => {
    const size = 100_000_000;
    const created = await request(`${gw.url}${base}`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': String(size) },
    });
    await created.body.dump();
    const location = created.headers.location as string;
    const id = location.slice(location.lastIndexOf('/') + 1);
    const req = httpRequest(location, {
      method: 'PATCH',
      headers: {
        ...tus,
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(size),
      },
    });
    req.on('error', () => {});
    req.write(Buffer.alloc(8 * 1024 * 1024));
    await until(
      () => tusd.logs().includes(`event=ChunkWriteStart`) && tusd.logs().includes(id),
      'tusd to start writing',
    );
    await sleep(200);
    req.destroy();
    // tusd's own network timeout is 60 s; only the gateway aborting the upstream request ends it this soon.
    const finished = new RegExp(`event=ChunkWriteComplete[^\\n]*id=${id} bytesWritten=(\\d+)`);
    await until(() => finished.test(tusd.logs()), 'tusd to see the request end', 5_000);
    const written = Number(finished.exec(tusd.logs())?.[1]);
    assert.ok(written > 0 && written <= 8 * 1024 * 1024, `tusd kept the ${written} bytes it got`);
    const head = await request(location, { method: 'HEAD', headers: tus });
    await head.body.dump();
    assert.equal(Number(head.headers['upload-offset']), written);
  });
});
