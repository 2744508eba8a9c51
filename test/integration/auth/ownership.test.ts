import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createUpload } from '../../helpers/auth.ts';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const alice = { Authorization: 'Bearer alice-token-1a2b3c4d' };
const bob = { Authorization: 'Bearer bob-token-5e6f7a8b' };

describe('upload ownership', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-owner-');
    const auth = {
      type: 'static',
      tokens: { 'alice-token-1a2b3c4d': 'alice', 'bob-token-5e6f7a8b': 'bob' },
    };
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          auth,
          backends: { native: { type: 'native', store: 'main' } },
        },
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          auth,
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  for (const prefix of ['/files/', '/legacy/']) {
    test(`${prefix}: another principal gets 404 for HEAD, GET, PATCH, DELETE and concatenation`, async () => {
      const collection = `${gw.url}${prefix}`;
      const url = await createUpload(collection, alice, 5);
      const patch = (who: Record<string, string>, offset: string, body: string) =>
        fetch(url, {
          method: 'PATCH',
          headers: {
            ...tus,
            ...who,
            'Upload-Offset': offset,
            'Content-Type': 'application/offset+octet-stream',
          },
          body,
        });

      assert.equal((await fetch(url, { method: 'HEAD', headers: { ...tus, ...bob } })).status, 404);
      assert.equal((await fetch(url, { method: 'GET', headers: { ...tus, ...bob } })).status, 404);
      const bobPatch = await patch(bob, '0', 'evil!');
      assert.equal(bobPatch.status, 404);
      assert.match(await bobPatch.text(), /^TUSGATE_ERR_UPLOAD_NOT_FOUND: /);
      assert.equal(
        (await fetch(url, { method: 'DELETE', headers: { ...tus, ...bob } })).status,
        404,
      );

      // Alice's upload is untouched and still hers.
      const head = await fetch(url, { method: 'HEAD', headers: { ...tus, ...alice } });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('upload-offset'), '0');
      assert.equal((await patch(alice, '0', 'hello')).status, 204);

      // A partial upload of Alice's cannot be concatenated by Bob.
      const partial = await fetch(collection, {
        method: 'POST',
        headers: { ...tus, ...alice, 'Upload-Length': '3', 'Upload-Concat': 'partial' },
      });
      assert.equal(partial.status, 201);
      const partialUrl = new URL(partial.headers.get('location') ?? '', collection).href;
      const partialPath = new URL(partialUrl).pathname;
      const filled = await fetch(partialUrl, {
        method: 'PATCH',
        headers: {
          ...tus,
          ...alice,
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: 'abc',
      });
      assert.equal(filled.status, 204);
      const final = (who: Record<string, string>) =>
        fetch(collection, {
          method: 'POST',
          headers: { ...tus, ...who, 'Upload-Concat': `final;${partialPath}` },
        });
      const stolen = await final(bob);
      assert.equal(stolen.status, 404);
      const own = await final(alice);
      assert.equal(own.status, 201);

      assert.equal(
        (await fetch(url, { method: 'DELETE', headers: { ...tus, ...alice } })).status,
        204,
      );
    });
  }
});
