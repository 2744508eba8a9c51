import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type NativeGateway, startNativeGateway } from '../../helpers/native.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const octets = { ...tus, 'Content-Type': 'application/offset+octet-stream' };

function digest(algorithm: string, data: string): string {
  return createHash(algorithm).update(data).digest('base64');
}

/** A request body fetch must send chunked (no Content-Length): one chunk per piece. */
function chunked(...pieces: string[]): { body: ReadableStream<Uint8Array>; duplex: 'half' } {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(Buffer.from(piece));
      controller.close();
    },
  });
  return { body, duplex: 'half' };
}

/**
 * A body the gateway refuses (413 for one longer than the upload, 460 for a checksum mismatch)
 * must leave the upload exactly as it was: Galaxy imports whatever lands in the hand-off folder,
 * and the client was told this body failed.
 */
describe('native backend: a refused body leaves the upload as it was', () => {
  let gw: NativeGateway;

  before(async () => {
    gw = await startNativeGateway();
  });
  after(() => gw?.stopAndRemove());

  async function create(headers: Record<string, string>): Promise<string> {
    const response = await fetch(gw.endpoint, { method: 'POST', headers: { ...tus, ...headers } });
    assert.equal(response.status, 201, await response.text());
    return response.headers.get('location')!;
  }

  const patch = (url: string, offset: number, init: RequestInit, headers = {}) =>
    fetch(url, {
      method: 'PATCH',
      headers: { ...octets, 'Upload-Offset': String(offset), ...headers },
      ...init,
    });

  /** Everything of an upload a reader (HEAD, Galaxy, a restarted process) could see. */
  async function snapshot(url: string) {
    const data = gw.dataPath(url);
    const head = await fetch(url, { method: 'HEAD', headers: tus });
    return {
      head: head.status,
      offset: head.headers.get('upload-offset'),
      length: head.headers.get('upload-length'),
      deferred: head.headers.get('upload-defer-length'),
      dataSize: (await stat(data)).size,
      info: await readFile(`${data}.info`, 'utf8'),
      handoff: (await readdir(gw.handoffDir).catch(() => [])).sort(),
    };
  }

  async function handedOff(url: string): Promise<string> {
    return readFile(join(gw.handoffDir, url.slice(url.lastIndexOf('/') + 1)), 'utf8');
  }

  test('PATCH: a chunked body longer than the rest of the upload is 413 and changes nothing', async () => {
    const url = await create({ 'Upload-Length': '8' });
    assert.equal((await patch(url, 0, { body: 'abc' })).status, 204);
    const before = await snapshot(url);

    const refused = await patch(url, 3, chunked('def', 'gh', 'XYZ'));
    assert.equal(refused.status, 413);
    assert.match(await refused.text(), /^TUSGATE_ERR_SIZE_EXCEEDED: /);
    assert.equal(refused.headers.get('tus-resumable'), '1.0.0');
    assert.deepEqual(await snapshot(url), before);

    const good = await patch(url, 3, chunked('de', 'fgh'));
    assert.equal(good.status, 204);
    assert.equal(good.headers.get('upload-offset'), '8');
    assert.equal(await handedOff(url), 'abcdefgh');
    const info = JSON.parse(await readFile(`${gw.dataPath(url)}.info`, 'utf8'));
    assert.equal(info.Offset, 8);
  });

  test('PATCH: a body that overflows in its very first chunk changes nothing either', async () => {
    const url = await create({ 'Upload-Length': '4' });
    const before = await snapshot(url);
    assert.equal((await patch(url, 0, chunked('abcdefgh'))).status, 413);
    assert.deepEqual(await snapshot(url), before);
  });

  test('PATCH with Upload-Length on a deferred upload: a refused body undoes the declaration', async () => {
    const url = await create({ 'Upload-Defer-Length': '1' });
    assert.equal((await patch(url, 0, { body: 'ab' })).status, 204);
    const before = await snapshot(url);
    assert.equal(before.deferred, '1');

    const refused = await patch(url, 2, chunked('cd', 'efg'), { 'Upload-Length': '4' });
    assert.equal(refused.status, 413);
    assert.deepEqual(await snapshot(url), before);

    const mismatch = await patch(
      url,
      2,
      { body: 'cd' },
      {
        'Upload-Length': '4',
        'Upload-Checksum': `sha1 ${digest('sha1', 'CD')}`,
      },
    );
    assert.equal(mismatch.status, 460);
    assert.deepEqual(await snapshot(url), before);

    assert.equal((await patch(url, 2, { body: 'cd' }, { 'Upload-Length': '4' })).status, 204);
    assert.equal(await handedOff(url), 'abcd');
  });

  test('PATCH: a checksum mismatch on the last bytes changes nothing, hand-off included', async () => {
    const url = await create({ 'Upload-Length': '8' });
    assert.equal((await patch(url, 0, { body: 'good' })).status, 204);
    const before = await snapshot(url);
    for (const init of [{ body: 'evil' }, chunked('ev', 'il')]) {
      const refused = await patch(url, 4, init, {
        'Upload-Checksum': `sha256 ${digest('sha256', 'nice')}`,
      });
      assert.equal(refused.status, 460);
      assert.match(await refused.text(), /^TUSGATE_ERR_CHECKSUM_MISMATCH: /);
      assert.deepEqual(await snapshot(url), before);
    }
    const good = await patch(url, 4, chunked('ni', 'ce'), {
      'Upload-Checksum': `sha256 ${digest('sha256', 'nice')}`,
    });
    assert.equal(good.status, 204);
    assert.equal(await handedOff(url), 'goodnice');
  });

  for (const refusal of [
    {
      name: 'a chunked body longer than the upload',
      status: 413,
      headers: {},
      pieces: ['abc', 'de', 'fgh'],
    },
    {
      name: 'a body failing its checksum',
      status: 460,
      headers: { 'Upload-Checksum': `md5 ${digest('md5', 'other')}` },
      pieces: ['abc', 'de'],
    },
  ]) {
    test(`creation-with-upload: ${refusal.name} leaves an empty upload the client can resume`, async () => {
      const handoffBefore = await readdir(gw.handoffDir).catch(() => []);
      const response = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...octets, ...refusal.headers, 'Upload-Length': '5' },
        ...chunked(...refusal.pieces),
      });
      assert.equal(response.status, refusal.status);
      assert.match(await response.text(), /^TUSGATE_ERR_\w+: /);
      // As tusd, the created upload stays (empty); unlike tusd's answer, ours says where it is.
      const url = response.headers.get('location');
      assert.ok(url?.startsWith(gw.endpoint), `Location: ${url}`);
      const state = await snapshot(url!);
      assert.deepEqual(
        { head: state.head, offset: state.offset, length: state.length, dataSize: state.dataSize },
        { head: 200, offset: '0', length: '5', dataSize: 0 },
      );
      assert.equal(JSON.parse(state.info).Offset, 0);
      assert.deepEqual(state.handoff, handoffBefore.sort());

      assert.equal((await patch(url!, 0, chunked('abc', 'de'))).status, 204);
      assert.equal(await handedOff(url!), 'abcde');
    });
  }
});
