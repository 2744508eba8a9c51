import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type NativeGateway, startNativeGateway } from '../../helpers/native.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const octets = { ...tus, 'Content-Type': 'application/offset+octet-stream' };

function utcFolder(ms: number): string {
  const date = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}/${two(date.getUTCMonth() + 1)}/${two(date.getUTCDate())}`;
}

describe('native store: layout, hand-off and one writer per upload', () => {
  let gw: NativeGateway;
  before(async () => {
    gw = await startNativeGateway({ backend: { lockTimeout: '300ms' } });
  });
  after(() => gw?.stopAndRemove());

  async function create(length: number): Promise<string> {
    const response = await fetch(gw.endpoint, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': String(length) },
    });
    return response.headers.get('location')!;
  }

  test('files land under the UTC date folder of their creation, info in tusd format', async () => {
    const before = Date.now();
    const url = await create(4);
    const id = url.slice(url.lastIndexOf('/') + 1);
    const folder = utcFolder(before);
    assert.equal(gw.dataPath(url), `${gw.root}/${folder}/${id}`);
    assert.deepEqual(
      (await readdir(`${gw.root}/${folder}`)).filter((n) => n.startsWith(id)).sort(),
      [id, `${id}.info`],
    );
    const info = JSON.parse(await readFile(`${gw.dataPath(url)}.info`, 'utf8'));
    assert.deepEqual(Object.keys(info).slice(0, 9), [
      'ID',
      'Size',
      'SizeIsDeferred',
      'Offset',
      'MetaData',
      'IsPartial',
      'IsFinal',
      'PartialUploads',
      'Storage',
    ]);
    assert.equal(info.Storage.Type, 'filestore');
    assert.equal(info.Storage.Path, gw.dataPath(url));
  });

  test('an upload is created even after its date folder was removed behind the server', async () => {
    const first = await create(1);
    const folder = dirname(gw.dataPath(first));
    await rm(folder, { recursive: true });
    const second = await create(1);
    assert.ok(second, 'the POST answered with a Location');
    assert.equal(dirname(gw.dataPath(second)), folder);
    assert.equal((await stat(gw.dataPath(second))).size, 0);
    assert.ok((await stat(`${gw.dataPath(second)}.info`)).isFile());
  });

  test('a finished upload appears in handoffDir as <id> with the same inode; an unfinished one never does', async () => {
    const url = await create(6);
    const id = url.slice(url.lastIndexOf('/') + 1);
    const first = await fetch(url, {
      method: 'PATCH',
      headers: { ...octets, 'Upload-Offset': '0' },
      body: 'abc',
    });
    assert.equal(first.status, 204);
    await assert.rejects(stat(`${gw.handoffDir}/${id}`), { code: 'ENOENT' });
    await fetch(url, {
      method: 'PATCH',
      headers: { ...octets, 'Upload-Offset': '3' },
      body: 'def',
    });
    const handedOff = await stat(`${gw.handoffDir}/${id}`);
    const stored = await stat(gw.dataPath(url));
    assert.equal(handedOff.ino, stored.ino);
    assert.equal(await readFile(`${gw.handoffDir}/${id}`, 'utf8'), 'abcdef');
  });

  test('a second concurrent PATCH takes the upload over and never interleaves bytes', async () => {
    const size = 64 * 1024;
    const url = new URL(await create(size));
    const slowBody = Buffer.alloc(size, 'a');
    // The first PATCH sends half its body, then pauses while holding the upload's lock.
    const first = request(url, {
      method: 'PATCH',
      headers: { ...octets, 'Upload-Offset': '0', 'Content-Length': String(size) },
    });
    const firstResponse = new Promise<number>((resolve, reject) => {
      first.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      first.on('error', reject);
    });
    first.write(slowBody.subarray(0, size / 2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // As tusd v2: the newer request asks the holder to stop; the holder keeps what it wrote.
    const second = await fetch(url, {
      method: 'PATCH',
      headers: { ...octets, 'Upload-Offset': '0' },
      body: Buffer.alloc(size, 'b'),
    });
    assert.equal(second.status, 409);
    const offset = Number(second.headers.get('upload-offset'));
    assert.ok(offset > 0 && offset <= size / 2, `the first writer's bytes stay (${offset})`);
    assert.equal(await firstResponse, 400);
    first.destroy();
    const data = await readFile(gw.dataPath(url.href));
    assert.ok(data.equals(slowBody.subarray(0, offset)), 'only the first writer wrote');
  });
});
