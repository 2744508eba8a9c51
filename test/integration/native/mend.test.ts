import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type NativeGateway, startNativeGateway } from '../../helpers/native.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
let gw: NativeGateway;

before(async () => {
  gw = await startNativeGateway();
});
after(async () => {
  await gw?.stopAndRemove();
});

test('HEAD finishes an upload whose bytes are all on disk but whose finish never ran', async () => {
  const created = await fetch(gw.endpoint, {
    method: 'POST',
    headers: { ...tus, 'Upload-Length': '5' },
  });
  assert.equal(created.status, 201);
  const url = created.headers.get('location') ?? '';
  const id = url.slice(url.lastIndexOf('/') + 1);
  // As after a crash between the last write and the hand-off.
  await writeFile(gw.dataPath(url), 'hello');
  await assert.rejects(stat(join(gw.handoffDir, id)), { code: 'ENOENT' });

  const head = await fetch(url, { method: 'HEAD', headers: tus });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('upload-offset'), '5');
  assert.equal(await readFile(join(gw.handoffDir, id), 'utf8'), 'hello');
  const info = JSON.parse(await readFile(`${gw.dataPath(url)}.info`, 'utf8')) as { Offset: number };
  assert.equal(info.Offset, 5);
});

test('a deferred-length upload whose finish failed is mended by the next HEAD', async () => {
  const created = await fetch(gw.endpoint, {
    method: 'POST',
    headers: { ...tus, 'Upload-Defer-Length': '1' },
  });
  const url = created.headers.get('location') ?? '';
  const id = url.slice(url.lastIndexOf('/') + 1);
  const patch = (headers: Record<string, string>, body: string) =>
    fetch(url, {
      method: 'PATCH',
      headers: { ...tus, 'Content-Type': 'application/offset+octet-stream', ...headers },
      body,
    });
  assert.equal((await patch({ 'Upload-Offset': '0' }, 'hello')).status, 204);
  // The hand-off fails: a file stands where the folder should be.
  await rm(gw.handoffDir, { recursive: true, force: true });
  await writeFile(gw.handoffDir, 'not a folder');
  const declared = await patch({ 'Upload-Offset': '5', 'Upload-Length': '5' }, '');
  assert.equal(declared.status, 500);
  await rm(gw.handoffDir);

  const head = await fetch(url, { method: 'HEAD', headers: tus });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('upload-length'), '5');
  assert.equal(await readFile(join(gw.handoffDir, id), 'utf8'), 'hello');
});
