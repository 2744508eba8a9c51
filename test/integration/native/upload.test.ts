import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { randomFile, sha256, sha256File, tempDir } from '../../helpers/files.ts';
import { type NativeEndpoint, startNativeGatewayWith } from '../../helpers/native.ts';
import { tusUpload, tusUploadBuffer } from '../../helpers/tus-client.ts';

// One process, and two workers of `server.workers` (the built CLI) sharing the listener and locks.
for (const workers of [1, 2])
  describe(`tus-js-client against the native backend (workers: ${workers})`, () => {
    let gw: NativeEndpoint;
    let files: { path: string; remove: () => Promise<void> };
    let big: string;

    before(async () => {
      gw = await startNativeGatewayWith({ workers });
      files = await tempDir();
      big = await randomFile(files.path, 50 * 1024 * 1024);
    });

    after(async () => {
      await gw?.stopAndRemove();
      await files?.remove();
    });

    test('an empty file', async () => {
      const { url } = await tusUploadBuffer(Buffer.alloc(0), { endpoint: gw.endpoint });
      assert.equal(await sha256File(gw.dataPath(url)), sha256(Buffer.alloc(0)));
    });

    test('a 1-byte file', async () => {
      const { url } = await tusUploadBuffer(Buffer.from('x'), { endpoint: gw.endpoint });
      assert.equal(await sha256File(gw.dataPath(url)), sha256('x'));
    });

    test('50 MiB in 5 MiB chunks', async () => {
      const { url, seenUrls } = await tusUpload(big, { endpoint: gw.endpoint, chunkSize: 5 << 20 });
      for (const seen of seenUrls) assert.ok(seen.startsWith(gw.endpoint), seen);
      assert.equal(await sha256File(gw.dataPath(url)), await sha256File(big));
      const info = JSON.parse(await readFile(`${gw.dataPath(url)}.info`, 'utf8'));
      assert.equal(info.Size, 50 * 1024 * 1024);
      assert.equal(info.Offset, 50 * 1024 * 1024);
      assert.deepEqual(info.MetaData, { filename: 'test.bin' });
    });

    test('aborted half-way, then resumed from the offset HEAD reports', async () => {
      const first = await tusUpload(big, {
        endpoint: gw.endpoint,
        chunkSize: 5 << 20,
        abortAfterBytes: 25 << 20,
      });
      assert.ok(first.aborted);
      const head = await fetch(first.url, {
        method: 'HEAD',
        headers: { 'Tus-Resumable': '1.0.0' },
      });
      const offset = Number(head.headers.get('upload-offset'));
      assert.ok(offset >= 25 << 20 && offset < 50 << 20, `offset ${offset} is half-way`);
      const resumed = await tusUpload(big, { endpoint: gw.endpoint, uploadUrl: first.url });
      assert.equal(resumed.url, first.url);
      assert.equal(await sha256File(gw.dataPath(first.url)), await sha256File(big));
    });

    test('deferred length', async () => {
      const { url } = await tusUpload(big, {
        endpoint: gw.endpoint,
        chunkSize: 8 << 20,
        uploadLengthDeferred: true,
      });
      assert.equal(await sha256File(gw.dataPath(url)), await sha256File(big));
      const info = JSON.parse(await readFile(`${gw.dataPath(url)}.info`, 'utf8'));
      assert.equal(info.SizeIsDeferred, false);
      assert.equal(info.Size, 50 << 20);
    });

    test('parallel uploads are concatenated into one final upload', async () => {
      const { url } = await tusUpload(big, { endpoint: gw.endpoint, parallelUploads: 4 });
      assert.equal(await sha256File(gw.dataPath(url)), await sha256File(big));
      const info = JSON.parse(await readFile(`${gw.dataPath(url)}.info`, 'utf8'));
      assert.equal(info.IsFinal, true);
      assert.equal(info.PartialUploads.length, 4);
      // Galaxy gets the whole file, never the pieces.
      assert.equal(
        await sha256File(`${gw.handoffDir}/${url.slice(url.lastIndexOf('/') + 1)}`),
        await sha256File(big),
      );
      for (const id of info.PartialUploads as string[]) {
        await assert.rejects(readFile(`${gw.handoffDir}/${id}`), { code: 'ENOENT' });
      }
    });
  });
