import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, stat, unlink } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { eventually, type HookReceiver, startHookReceiver } from '../../helpers/hook-receiver.ts';
import { type NativeGateway, startNativeGateway } from '../../helpers/native.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const octets = { ...tus, 'Content-Type': 'application/offset+octet-stream' };
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe('native backend: concatenation-unfinished', () => {
  let gw: NativeGateway;
  let receiver: HookReceiver;

  before(async () => {
    receiver = await startHookReceiver();
    gw = await startNativeGateway({
      route: { hooks: [{ type: 'http', url: receiver.url, events: ['post-finish'] }] },
    });
  });
  after(async () => {
    await gw?.stopAndRemove();
    await receiver?.close();
  });

  async function create(headers: Record<string, string>): Promise<string> {
    const response = await fetch(gw.endpoint, { method: 'POST', headers: { ...tus, ...headers } });
    assert.equal(response.status, 201, await response.text());
    return response.headers.get('location')!;
  }
  const head = (url: string) => fetch(url, { method: 'HEAD', headers: tus });
  const patch = (url: string, offset: number, body: string, headers = {}) =>
    fetch(url, {
      method: 'PATCH',
      headers: { ...octets, 'Upload-Offset': String(offset), ...headers },
      body,
    });
  const idOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);
  const partial = (length: number) =>
    create({ 'Upload-Length': String(length), 'Upload-Concat': 'partial' });

  test('OPTIONS announces concatenation-unfinished', async () => {
    const response = await fetch(gw.endpoint, { method: 'OPTIONS' });
    assert.ok(
      response.headers.get('tus-extension')?.split(',').includes('concatenation-unfinished'),
    );
  });

  for (const order of ['in order', 'last partial first'] as const) {
    test(`a final created before its partials finish is assembled when they do (${order})`, async () => {
      const a = await partial(6);
      const b = await partial(4);
      assert.equal((await patch(a, 0, 'hel')).status, 204, 'a is under way');
      const created = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...tus, 'Upload-Concat': `final;${a} ${b}` },
      });
      assert.equal(created.status, 201);
      // tus 1.0.0, concatenation: no Upload-Offset for a final until it is assembled.
      assert.equal(created.headers.get('upload-offset'), null, 'no offset in the 201');
      const finalUrl = created.headers.get('location')!;
      const final = idOf(finalUrl);

      const waiting = await head(finalUrl);
      assert.equal(waiting.status, 200);
      assert.equal(waiting.headers.get('upload-offset'), null, 'no offset before assembly');
      assert.equal(waiting.headers.get('upload-length'), '10', 'both lengths are known');
      // Absolute URLs of the partials, as tusd writes them.
      assert.equal(waiting.headers.get('upload-concat'), `final;${a} ${b}`);
      assert.equal((await patch(finalUrl, 0, 'x')).status, 403);
      await assert.rejects(stat(`${gw.handoffDir}/${final}`), { code: 'ENOENT' });

      if (order === 'in order') {
        assert.equal((await patch(a, 3, 'lo ')).status, 204);
        assert.equal((await head(finalUrl)).headers.get('upload-offset'), null, 'b still missing');
        assert.equal((await patch(b, 0, 'tus!')).status, 204);
      } else {
        assert.equal((await patch(b, 0, 'tus!')).status, 204);
        assert.equal((await head(finalUrl)).headers.get('upload-offset'), null, 'a still missing');
        assert.equal((await patch(a, 3, 'lo ')).status, 204);
      }

      // The last partial's PATCH assembled and finished the final before it answered.
      const expected = 'hello tus!';
      assert.equal(sha256(await readFile(`${gw.handoffDir}/${final}`)), sha256(expected));
      const done = await head(finalUrl);
      assert.equal(done.headers.get('upload-offset'), '10');
      assert.equal(done.headers.get('upload-length'), '10');
      const download = await fetch(finalUrl, { headers: tus });
      assert.equal(await download.text(), expected);
      await eventually(() =>
        receiver.hooks.some(
          (hook) => hook.Type === 'post-finish' && hook.Event.Upload.ID === final,
        ),
      );
      const finishHook = receiver.hooks.find(
        (hook) => hook.Type === 'post-finish' && hook.Event.Upload.ID === final,
      );
      assert.equal(finishHook?.Event.Upload.Size, 10);
      assert.equal(finishHook?.Event.Upload.IsFinal, true);
    });
  }

  test('while a partial’s length is deferred, HEAD of the final carries no Upload-Length', async () => {
    const a = await partial(2);
    const b = await create({ 'Upload-Defer-Length': '1', 'Upload-Concat': 'partial' });
    const finalUrl = await create({ 'Upload-Concat': `final;${a} ${b}` });
    const waiting = await head(finalUrl);
    assert.equal(waiting.headers.get('upload-length'), null);
    assert.equal(waiting.headers.get('upload-offset'), null);
    assert.equal(waiting.headers.get('upload-defer-length'), null);
    assert.equal((await patch(b, 0, 'cd', { 'Upload-Length': '3' })).status, 204);
    const known = await head(finalUrl);
    assert.equal(known.headers.get('upload-length'), '5', 'calculable now');
    assert.equal(known.headers.get('upload-offset'), null);
    await patch(a, 0, 'ab');
    await patch(b, 2, 'e');
    const done = await head(finalUrl);
    assert.equal(done.headers.get('upload-offset'), '5');
    assert.equal(await readFile(`${gw.handoffDir}/${idOf(finalUrl)}`, 'utf8'), 'abcde');
  });

  test('HEAD mends an assembly the finishing process never did', async () => {
    const a = await partial(3);
    const finalUrl = await create({ 'Upload-Concat': `final;${a}` });
    // As if the process died between the partial's finish and the final's assembly: the partial
    // no longer knows about its final.
    await unlink(`${gw.dataPath(a)}.finals`);
    assert.equal((await patch(a, 0, 'xyz')).status, 204);
    await assert.rejects(stat(`${gw.handoffDir}/${idOf(finalUrl)}`), { code: 'ENOENT' });
    const mended = await head(finalUrl);
    assert.equal(mended.headers.get('upload-offset'), '3');
    assert.equal(mended.headers.get('upload-length'), '3');
    assert.equal(await readFile(`${gw.handoffDir}/${idOf(finalUrl)}`, 'utf8'), 'xyz');
  });

  test('GET mends it too', async () => {
    const a = await partial(2);
    const finalUrl = await create({ 'Upload-Concat': `final;${a}` });
    await unlink(`${gw.dataPath(a)}.finals`);
    await patch(a, 0, 'ok');
    const download = await fetch(finalUrl, { headers: tus });
    assert.equal(await download.text(), 'ok');
    assert.equal(await readFile(`${gw.handoffDir}/${idOf(finalUrl)}`, 'utf8'), 'ok');
  });
});
