import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { randomFile, sha256File, tempDir } from '../helpers/files.ts';
import { projectRoot, type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type RunningNginx, shippedProxyDirectives, startNginx } from '../helpers/nginx.ts';
import { tusUpload } from '../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const publicBase = '/api/upload/resumable_upload/';
const nativeBase = '/native/';

describe('real nginx → tusgate → real tusd, as docs/deployment.md deploys it', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let tusd: RunningTusd;
  let gw: RunningGateway;
  let nginx: RunningNginx;

  before(async () => {
    dir = await tempDir();
    tusd = await startTusd();
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'galaxy',
          match: { pathPrefix: publicBase },
          backends: { legacy: { type: 'tusd', url: tusd.url } },
        },
        {
          name: 'native',
          match: { pathPrefix: nativeBase },
          backends: { native: { type: 'native', store: 'main' } },
        },
      ],
    });
    // The shipped config's directives, on a random port: never 80, the port `$host` would imply.
    nginx = await startNginx(join(dir.path, 'nginx'), Number(new URL(gw.url).port));
    assert.notEqual(nginx.port, 80);
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

  test("Location keeps nginx's port, from tusd through tusgate and from the native store", async () => {
    for (const base of [publicBase, nativeBase]) {
      const endpoint = `http://127.0.0.1:${nginx.port}${base}`;
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '5' },
      });
      assert.equal(response.status, 201, base);
      const location = response.headers.get('location') ?? '';
      assert.match(location, new RegExp(`^${endpoint}[\\w-]+$`), base);
      const patched = await fetch(location, {
        method: 'PATCH',
        headers: {
          'Tus-Resumable': '1.0.0',
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: 'hello',
      });
      assert.equal(patched.status, 204, base);
    }
  });

  test('tus-js-client completes a native upload through nginx on its port', async () => {
    const endpoint = `http://127.0.0.1:${nginx.port}${nativeBase}`;
    const file = await randomFile(dir.path, 3 * 1024 * 1024 + 5);
    const result = await tusUpload(file, { endpoint, chunkSize: 1024 * 1024 });
    for (const url of [result.url, ...result.seenUrls]) {
      assert.ok(url.startsWith(endpoint), `${url} is the public URL nginx serves`);
    }
    const head = await fetch(result.url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    assert.equal(head.headers.get('upload-offset'), String(3 * 1024 * 1024 + 5));
  });

  test("the deployment guide's nginx snippet is the shipped config's location block", async () => {
    const guide = await readFile(join(projectRoot, 'docs', 'deployment.md'), 'utf8');
    const snippet = /```nginx\n(location [^\n]*\{[\s\S]*?\})\n```/.exec(guide)?.[1];
    assert.ok(snippet, 'docs/deployment.md has an nginx location snippet');
    const lines = snippet
      .split('\n')
      .slice(1, -1)
      .map((line) => line.trim())
      .filter((line) => !line.startsWith('proxy_pass '));
    const shipped = await shippedProxyDirectives();
    assert.deepEqual(
      lines.filter((line) => !shipped.includes(line)),
      [],
    );
    assert.ok(shipped.includes('proxy_set_header Host $http_host;'));
    assert.ok(shipped.includes('proxy_set_header X-Forwarded-Host $http_host;'));
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
