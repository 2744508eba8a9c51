import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeGalaxy, startFakeGalaxy } from '../helpers/fake-galaxy.ts';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

/** A 2xx from Galaxy's hook endpoint that tusgate cannot read must never admit anyone. */
describe('Galaxy authenticator: an unreadable 2xx answer', () => {
  let galaxy: FakeGalaxy;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    galaxy = await startFakeGalaxy();
    galaxy.addApiKey('galaxy-key-valid-77aa');
    dir = await tempDir('tusgate-galaxy-unreadable-');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'galaxy',
          match: { pathPrefix: '/files/' },
          auth: { type: 'galaxy', url: galaxy.baseUrl, cacheTtl: '1h', timeout: '2s' },
          backends: { native: { type: 'native', store: 'main' } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await galaxy?.close();
    await dir?.remove();
  });

  const create = (apiKey: string) =>
    fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: { ...tus, 'X-Api-Key': apiKey, 'Upload-Length': '3' },
    });

  const unreadable = [
    {
      name: 'a maintenance page (200 text/html)',
      contentType: 'text/html',
      body: '<html>down for maintenance</html>',
    },
    { name: 'malformed JSON', contentType: 'application/json', body: '{"RejectUpload": fal' },
    { name: 'JSON that is not an object', contentType: 'application/json', body: '[true]' },
    { name: 'an empty body', contentType: 'application/json', body: '' },
  ];

  for (const [index, answer] of unreadable.entries()) {
    test(`${answer.name} is a 503 that is not cached`, async () => {
      // A key Galaxy does not know: were the answer read as "admitted", it would get in.
      const key = `galaxy-key-unknown-${index}-0f3e`;
      galaxy.answerWith({ status: 200, contentType: answer.contentType, body: answer.body });
      try {
        const calls = galaxy.calls.length;
        const refused = await create(key);
        assert.equal(refused.status, 503, await refused.text());
        assert.equal(refused.headers.get('retry-after'), '10');
        const again = await create(key);
        assert.equal(again.status, 503, await again.text());
        assert.equal(galaxy.calls.length, calls + 2, 'an unreadable answer is never cached');
      } finally {
        galaxy.answerWith(undefined);
      }
      // Galaxy is back: its real verdict, not a cached one, decides.
      const after = await create(key);
      assert.equal(after.status, 403, await after.text());
      const valid = await create('galaxy-key-valid-77aa');
      assert.equal(valid.status, 201, await valid.text());
    });
  }

  test('an unreadable answer is logged as the authority being unavailable', async () => {
    galaxy.answerWith({ status: 200, contentType: 'text/html', body: '<html></html>' });
    try {
      const refused = await create('galaxy-key-logged-91bc');
      assert.equal(refused.status, 503, await refused.text());
    } finally {
      galaxy.answerWith(undefined);
    }
    const line = gw
      .logs()
      .findLast((entry) => entry.auth === 'unavailable' && entry.status === 503);
    assert.ok(line, 'the 503 is logged with auth=unavailable');
    assert.doesNotMatch(JSON.stringify(gw.logs()), /galaxy-key-logged-91bc/);
  });
});
