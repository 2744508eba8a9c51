import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { randomFile, sha256File, tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type RunningNginx, startNginx } from '../helpers/nginx.ts';
import { tusUpload } from '../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const publicBase = '/api/upload/resumable_upload/';

describe('real nginx → tusgate → real tusd, as the README deploys it', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let tusd: RunningTusd;
  let gw: RunningGateway;
  let nginx: RunningNginx;

  before(async () => {
    dir = await tempDir();
    tusd = await startTusd();
    gw = await startGateway({
      routes: [
        {
          name: 'galaxy',
          match: { pathPrefix: publicBase },
          backends: { legacy: { type: 'tusd', url: tusd.url } },
        },
      ],
    });
    nginx = await startNginx(join(dir.path, 'nginx'), Number(new URL(gw.url).port), {
      location: publicBase,
    });
  });

  after(async () => {
    await nginx?.stop();
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  test('tus-js-client uploads 20 MiB through nginx; every URL names nginx', async () => {
    const endpoint = `http://127.0.0.1:${nginx.port}${publicBase}`;
    const file = await randomFile(dir.path, 20 * 1024 * 1024);
    const result = await tusUpload(file, { endpoint, chunkSize: 4 * 1024 * 1024 });
    for (const url of [result.url, ...result.seenUrls]) {
      assert.ok(url.startsWith(endpoint), `${url} is the public URL nginx serves`);
    }
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    assert.equal(await sha256File(join(tusd.dir, id)), await sha256File(file));
  });

  test("nginx's request id is the one tusgate returns and passes to tusd", async () => {
    const response = await request(`http://127.0.0.1:${nginx.port}${publicBase}`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '1' },
    });
    await response.body.dump();
    assert.equal(response.statusCode, 201);
    const requestId = response.headers['x-request-id'] as string;
    assert.match(requestId, /^[0-9a-f]{32}$/, "nginx's $request_id format");
    assert.ok(tusd.logs().includes(`requestId=${requestId}`), 'tusd logged the same request id');
  });

  test('the client address tusgate logs is the one nginx saw, not nginx itself', async () => {
    const response = await request(`http://127.0.0.1:${nginx.port}${publicBase}`, {
      method: 'OPTIONS',
      headers: { 'X-Forwarded-For': '203.0.113.9' },
    });
    await response.body.dump();
    const requestId = response.headers['x-request-id'];
    const line = gw
      .logs()
      .find((entry) => entry.requestId === requestId && entry.msg === 'request');
    // nginx appends the real peer to what the client claimed; tusgate trusts nginx (loopback).
    assert.equal(line?.client, '203.0.113.9');
  });
});
