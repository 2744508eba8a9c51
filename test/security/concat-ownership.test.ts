import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  alice,
  bob,
  finishedUpload,
  type HostileSetup,
  startHostileSetup,
  tus,
} from './fixture.ts';

const secret = 'alice-secret-bytes';

/**
 * Finding 1: Bob names Alice's finished upload in an Upload-Concat final list, in a form the owner
 * check and the URL mapper used to read differently. Every such list is a 400 now, and Bob's
 * final upload never carries Alice's bytes.
 */
describe('Upload-Concat cannot reach another user’s upload', () => {
  let setup: HostileSetup;
  let aliceId: string;
  let bobPartial: string;

  before(async () => {
    setup = await startHostileSetup();
    const aliceUrl = await finishedUpload(`${setup.origin}/prx/`, alice, secret);
    aliceId = aliceUrl.slice(aliceUrl.lastIndexOf('/') + 1);
    const bobUrl = await finishedUpload(`${setup.origin}/prx/`, bob, 'bob', {
      'Upload-Concat': 'partial',
    });
    bobPartial = bobUrl.slice(bobUrl.lastIndexOf('/') + 1);
  });
  after(async () => {
    await setup?.stop();
  });

  const variants: [string, () => string][] = [
    ['a query', () => `final;/prx/${aliceId}?`],
    ['a query with content', () => `final;/prx/${aliceId}?a=b`],
    ['a fragment', () => `final;/prx/${aliceId}#x`],
    ['upper-case FINAL', () => `FINAL;/prx/${aliceId}`],
    ['a foreign host', () => `final;http://other.host/prx/${aliceId}?`],
    ['a foreign host without query', () => `final;http://other.host/prx/${aliceId}`],
    ['a foreign scheme', () => `final;ftp://127.0.0.1/prx/${aliceId}`],
    ['a dot segment', () => `final;/prx/x/../${aliceId}?`],
    ['a plain dot segment', () => `final;/prx/x/../${aliceId}`],
    [
      'percent-encoding',
      () => `final;/prx/%${aliceId.charCodeAt(0).toString(16)}${aliceId.slice(1)}`,
    ],
    ['a tab between URLs', () => `final;/prx/${aliceId}\t/prx/${bobPartial}`],
    ['two spaces between URLs', () => `final;/prx/${bobPartial}  /prx/${aliceId}?`],
    ['a space after final;', () => `final; /prx/${aliceId}?`],
  ];

  for (const [name, header] of variants) {
    test(`${name}: 400 TUSGATE_ERR_INVALID_CONCAT, and Bob never reads Alice's bytes`, async () => {
      const created = await fetch(`${setup.origin}/prx/`, {
        method: 'POST',
        headers: { ...tus, ...bob, 'Upload-Concat': header() },
      });
      const text = await created.text();
      if (created.status === 201) {
        const location = new URL(created.headers.get('location') ?? '', setup.origin).href;
        const read = await fetch(location, { headers: { ...tus, ...bob } });
        assert.doesNotMatch(await read.text(), new RegExp(secret), 'Bob read Alice’s bytes');
      }
      assert.equal(created.status, 400, text);
      assert.match(text, /^TUSGATE_ERR_INVALID_CONCAT: /);
    });
  }

  test('a plain URL of Alice’s upload is 404 for Bob; his own partial concatenates', async () => {
    const refused = await fetch(`${setup.origin}/prx/`, {
      method: 'POST',
      headers: { ...tus, ...bob, 'Upload-Concat': `final;/prx/${aliceId}` },
    });
    assert.equal(refused.status, 404, await refused.text());
    const own = await fetch(`${setup.origin}/prx/`, {
      method: 'POST',
      headers: {
        ...tus,
        ...bob,
        'Upload-Concat': `final;${setup.origin}/prx/${bobPartial} /prx/${bobPartial}`,
      },
    });
    assert.equal(own.status, 201, await own.text());
    const location = new URL(own.headers.get('location') ?? '', setup.origin).href;
    const read = await fetch(location, { headers: { ...tus, ...bob } });
    assert.equal(await read.text(), 'bobbob');
  });
});
