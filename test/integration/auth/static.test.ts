import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertAuthOnEveryMethod, type RefusedCase } from '../../helpers/auth.ts';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { metricValue, scrape } from '../../helpers/metrics.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const aliceToken = 'alice-token-6d1f0b7c';
const bobKey = 'bob-api-key-29e4a1c8';

describe('static authentication', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-static-auth-');
    const tokensFile = join(dir.path, 'tokens.yaml');
    await writeFile(tokensFile, `${bobKey}: bob\n`);
    const bearer = { type: 'static', tokens: { [aliceToken]: 'alice' } };
    const apiKey = { type: 'static', tokensFile, header: 'X-Api-Key' };
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          auth: bearer,
          backends: { native: { type: 'native', store: 'main' } },
        },
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          auth: bearer,
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
        {
          name: 'keyed',
          match: { pathPrefix: '/keyed/' },
          auth: apiKey,
          backends: { native: { type: 'native', store: 'main' } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  const bearerRefusals: RefusedCase[] = [
    { name: 'missing', headers: {}, status: 401, challenge: /^Bearer realm="tusgate"$/ },
    {
      name: 'wrong token',
      headers: { Authorization: 'Bearer alice-token-00000000' },
      status: 401,
      challenge: /error="invalid_token"/,
    },
    {
      name: 'malformed header',
      headers: { Authorization: `Basic ${aliceToken}` },
      status: 401,
      challenge: /^Bearer realm="tusgate"$/,
    },
    {
      name: 'token prefix',
      headers: { Authorization: `Bearer ${aliceToken.slice(0, -1)}` },
      status: 401,
      challenge: /error="invalid_token"/,
    },
  ];

  test('bearer tokens on the native backend, every method', async () => {
    await assertAuthOnEveryMethod(
      `${gw.url}/files/`,
      { Authorization: `Bearer ${aliceToken}` },
      bearerRefusals,
    );
  });

  test('bearer tokens in front of tusd, every method', async () => {
    await assertAuthOnEveryMethod(
      `${gw.url}/legacy/`,
      { Authorization: `Bearer ${aliceToken}` },
      bearerRefusals,
    );
  });

  test('API keys from a tokens file, in a header of their own', async () => {
    await assertAuthOnEveryMethod(`${gw.url}/keyed/`, { 'X-Api-Key': bobKey }, [
      { name: 'missing', headers: {}, status: 401 },
      { name: 'wrong key', headers: { 'X-Api-Key': 'bob-api-key-00000000' }, status: 401 },
      { name: 'bearer instead', headers: { Authorization: `Bearer ${bobKey}` }, status: 401 },
    ]);
  });

  test('decisions are counted by result and reason, and no token reaches the log', async () => {
    const text = await scrape(gw.adminUrl);
    const allowed = metricValue(text, 'tusgate_auth_decisions_total', {
      route: 'native',
      result: 'allowed',
      reason: 'valid',
    });
    const missing = metricValue(text, 'tusgate_auth_decisions_total', {
      route: 'native',
      result: 'denied',
      reason: 'missing',
    });
    const invalid = metricValue(text, 'tusgate_auth_decisions_total', {
      route: 'native',
      result: 'denied',
      reason: 'invalid',
    });
    // Good: POST, HEAD, HEAD, PATCH, DELETE. Refused: 4 cases × 4 methods (2 missing, 2 invalid).
    assert.equal(allowed, 5);
    assert.equal(missing, 8);
    assert.equal(invalid, 8);
    const logs = JSON.stringify(gw.logs());
    assert.ok(!logs.includes(aliceToken.slice(0, 12)));
    assert.ok(!logs.includes(bobKey.slice(0, 12)));
    const refused = gw
      .logs()
      .find((line) => line.msg === 'request' && line.route === 'native' && line.status === 401);
    assert.ok(refused);
    assert.equal(refused.error, 'TUSGATE_ERR_UNAUTHORIZED');
    assert.equal(refused.auth, 'missing');
  });
});
