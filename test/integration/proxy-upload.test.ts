import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { randomFile, sha256, sha256File, tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { tusUpload, tusUploadBuffer } from '../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const publicBase = '/api/upload/resumable_upload/';

describe('tus-js-client through the gateway to a real tusd', () => {
  let tusd: RunningTusd;
  let gw: RunningGateway;
  let dir: { path: string; remove: () => Promise<void> };
  let endpoint: string;

  before(async () => {
    dir = await tempDir();
    tusd = await startTusd();
    gw = await startGateway({
      routes: [
        {
          name: 'uploads',
          match: { pathPrefix: publicBase },
          backends: { legacy: { type: 'tusd', url: tusd.url } },
        },
      ],
    });
    endpoint = `${gw.url}${publicBase}`;
  });

  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  function storedPath(url: string): string {
    return join(tusd.dir, url.slice(url.lastIndexOf('/') + 1));
  }

  function assertPublic(urls: string[]): void {
    assert.ok(urls.length > 0, 'the client saw at least one upload URL');
    for (const url of urls) {
      assert.ok(url.startsWith(endpoint), `${url} points at the gateway's public base`);
      assert.ok(!url.includes(String(tusd.port)), `${url} never names tusd`);
    }
  }

  test('an empty file', async () => {
    const result = await tusUploadBuffer(Buffer.alloc(0), { endpoint });
    assertPublic([result.url, ...result.seenUrls]);
    assert.equal(await sha256File(storedPath(result.url)), sha256(Buffer.alloc(0)));
  });

  test('a 1-byte file', async () => {
    const data = Buffer.from('x');
    const result = await tusUploadBuffer(data, { endpoint });
    assertPublic([result.url, ...result.seenUrls]);
    assert.equal(await sha256File(storedPath(result.url)), sha256(data));
  });

  test('50 MiB in 5 MiB chunks', async () => {
    const file = await randomFile(dir.path, 50 * 1024 * 1024);
    const result = await tusUpload(file, { endpoint, chunkSize: 5 * 1024 * 1024 });
    assertPublic([result.url, ...result.seenUrls]);
    assert.equal(await sha256File(storedPath(result.url)), await sha256File(file));
  });

  test('50 MiB aborted half-way resumes from the offset HEAD reports', async () => {
    const file = await randomFile(dir.path, 50 * 1024 * 1024, 'resume.bin');
    const first = await tusUpload(file, {
      endpoint,
      chunkSize: 5 * 1024 * 1024,
      abortAfterBytes: 25 * 1024 * 1024,
    });
    assert.equal(first.aborted, true);
    const head = await fetch(first.url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    assert.equal(head.status, 200);
    const offset = Number(head.headers.get('upload-offset'));
    assert.ok(
      offset >= 25 * 1024 * 1024 && offset < 50 * 1024 * 1024,
      `offset ${offset} is half-way`,
    );
    const second = await tusUpload(file, {
      endpoint,
      uploadUrl: first.url,
      chunkSize: 5 * 1024 * 1024,
    });
    assert.equal(second.url, first.url);
    assertPublic([...first.seenUrls, second.url]);
    assert.equal(await sha256File(storedPath(first.url)), await sha256File(file));
  });
});
