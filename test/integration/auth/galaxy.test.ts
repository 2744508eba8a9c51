import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tusClient from 'tus-js-client';
import { assertAuthOnEveryMethod, createUpload } from '../../helpers/auth.ts';
import { type FakeGalaxy, startFakeGalaxy } from '../../helpers/fake-galaxy.ts';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { metricValue, scrape } from '../../helpers/metrics.ts';
import { tusUpload } from '../../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const apiKey = 'galaxy-api-key-5c8e21f0';
const session = 'f3c1e9a07b5d4c2e8a6b0d1c2e3f4a5b';

describe('Galaxy authentication', () => {
  let galaxy: FakeGalaxy;
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let file: string;

  before(async () => {
    galaxy = await startFakeGalaxy();
    galaxy.addApiKey(apiKey);
    galaxy.addSession(session);
    tusd = await startTusd();
    dir = await tempDir('tusgate-galaxy-');
    file = await randomFile(dir.path, 1024 * 1024 + 17);
    await mkdir(join(dir.path, 'upload_store'));
    const auth = { type: 'galaxy', url: galaxy.baseUrl, cacheTtl: '1s', timeout: '2s' };
    gw = await startGateway({
      stores: {
        main: {
          type: 'date-sharded',
          root: join(dir.path, 'store'),
          handoffDir: join(dir.path, 'upload_store'),
        },
      },
      routes: [
        {
          name: 'galaxy',
          match: { pathPrefix: '/api/upload/resumable_upload/' },
          auth,
          backends: { native: { type: 'native', store: 'main' } },
        },
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          auth,
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
        {
          name: 'slow',
          match: { pathPrefix: '/slow/' },
          auth: { ...auth, timeout: '300ms' },
          backends: { native: { type: 'native', store: 'main' } },
        },
        {
          name: 'down',
          match: { pathPrefix: '/down/' },
          auth: { type: 'galaxy', url: 'http://127.0.0.1:9/api/upload/hooks', timeout: '1s' },
          backends: { native: { type: 'native', store: 'main' } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await galaxy?.close();
    await dir?.remove();
  });

  test('a tus-js-client upload with an API key costs one Galaxy call, not one per chunk', async () => {
    const calls = galaxy.calls.length;
    const result = await tusUpload(file, {
      endpoint: `${gw.url}/api/upload/resumable_upload/`,
      chunkSize: 64 * 1024,
      headers: { 'X-Api-Key': apiKey },
      metadata: { filename: 'reads.fastq' },
    });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    assert.equal(await sha256File(join(dir.path, 'upload_store', id)), await sha256File(file));
    // 17 PATCHes and a POST within one TTL (1 s) on a fast machine; allow a TTL boundary.
    assert.ok(galaxy.calls.length - calls <= 2, `${galaxy.calls.length - calls} calls`);
    assert.ok(galaxy.calls.length - calls >= 1);

    // The call is tusd's pre-create hook: JSON body, credentials forwarded as headers and in it.
    const call = galaxy.calls[calls]!;
    assert.equal(call.headers['x-api-key'], apiKey);
    assert.equal(call.headers['content-type'], 'application/json');
    const hook = JSON.parse(call.body) as {
      Type: string;
      Event: {
        Upload: { Size: number; MetaData: Record<string, string> };
        HTTPRequest: { Method: string; URI: string; Header: Record<string, string[]> };
      };
    };
    assert.equal(hook.Type, 'pre-create');
    assert.equal(hook.Event.HTTPRequest.Method, 'POST');
    assert.equal(hook.Event.HTTPRequest.URI, '/api/upload/resumable_upload/');
    assert.deepEqual(hook.Event.HTTPRequest.Header['X-Api-Key'], [apiKey]);
    assert.equal(hook.Event.Upload.Size, 1024 * 1024 + 17);
    assert.equal(hook.Event.Upload.MetaData.filename, 'reads.fastq');
  });

  test('a browser session cookie (anonymous user) goes through tusd', async () => {
    const cookie = `galaxysession=${session}; _ga=GA1.2.3`;
    const result = await tusUpload(file, {
      endpoint: `${gw.url}/legacy/`,
      chunkSize: 256 * 1024,
      headers: { Cookie: cookie },
    });
    const head = await fetch(result.url, { method: 'HEAD', headers: { ...tus, Cookie: cookie } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('upload-offset'), String(1024 * 1024 + 17));
    const last = galaxy.calls.at(-1)!;
    assert.equal(last.headers.cookie, cookie);
    assert.equal(last.headers['x-api-key'], undefined);
  });

  test('every method: no credentials, a bad key or a dead session is a 403, as Galaxy answers', async () => {
    await assertAuthOnEveryMethod(
      `${gw.url}/api/upload/resumable_upload/`,
      { 'X-Api-Key': apiKey },
      [
        { name: 'missing', headers: {}, status: 403 },
        { name: 'unknown key', headers: { 'X-Api-Key': 'galaxy-api-key-00000000' }, status: 403 },
        { name: 'dead session', headers: { Cookie: 'galaxysession=0000' }, status: 403 },
        { name: 'other cookies only', headers: { Cookie: '_ga=GA1.2.3' }, status: 403 },
      ],
    );
    const refused = await fetch(`${gw.url}/api/upload/resumable_upload/`, {
      method: 'POST',
      headers: { ...tus, 'X-Api-Key': 'galaxy-api-key-00000000', 'Upload-Length': '1' },
    });
    assert.equal(await refused.text(), 'TUSGATE_ERR_INVALID_CREDENTIALS: invalid credentials\n');
  });

  test("Galaxy's upload client shows a bad key to its user at once instead of retrying", async () => {
    // The options and the 403 test of Galaxy's client/src/utils/upload-submit.js.
    const failure = await new Promise<tusClient.DetailedError>((resolve, reject) => {
      const upload = new tusClient.Upload(Buffer.from('reads'), {
        endpoint: `${gw.url}/api/upload/resumable_upload/`,
        retryDelays: [0, 3000, 10000],
        headers: { 'X-Api-Key': 'galaxy-api-key-00000000' },
        storeFingerprintForResuming: false,
        onError: (error) => resolve(error as tusClient.DetailedError),
        onSuccess: () => reject(new Error('the upload was admitted')),
      });
      upload.start();
    });
    assert.equal(failure.originalResponse?.getStatus(), 403);
    assert.match(String(failure), /TUSGATE_ERR_INVALID_CREDENTIALS: invalid credentials/);
  });

  test('a revoked key stops working once the cached decision expires', async () => {
    const key = 'galaxy-api-key-revoked-1';
    galaxy.addApiKey(key);
    const url = await createUpload(`${gw.url}/api/upload/resumable_upload/`, { 'X-Api-Key': key });
    galaxy.revokeApiKey(key);
    const cached = await fetch(url, { method: 'HEAD', headers: { ...tus, 'X-Api-Key': key } });
    assert.equal(cached.status, 200, 'within the TTL the cached decision stands');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const revoked = await fetch(url, { method: 'HEAD', headers: { ...tus, 'X-Api-Key': key } });
    assert.equal(revoked.status, 403);
  });

  test('another principal cannot see the upload, and the principal is a hash, not the key', async () => {
    const other = 'galaxy-api-key-mallory-1';
    galaxy.addApiKey(other);
    const url = await createUpload(`${gw.url}/api/upload/resumable_upload/`, {
      'X-Api-Key': apiKey,
    });
    const foreign = await fetch(url, { method: 'HEAD', headers: { ...tus, 'X-Api-Key': other } });
    assert.equal(foreign.status, 404);
    const principals = gw
      .logs()
      .map((line) => line.principal)
      .filter((value): value is string => typeof value === 'string');
    assert.ok(principals.some((value) => value.startsWith('galaxy-key:')));
    assert.ok(!JSON.stringify(gw.logs()).includes(apiKey));
  });

  test('Galaxy failing or unreachable is a 503, never an open door', async () => {
    const fresh = 'galaxy-api-key-uncached-1';
    galaxy.addApiKey(fresh);
    galaxy.failWith(500);
    try {
      const response = await fetch(`${gw.url}/api/upload/resumable_upload/`, {
        method: 'POST',
        headers: { ...tus, 'X-Api-Key': fresh, 'Upload-Length': '1' },
      });
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '10');
      assert.match(await response.text(), /^TUSGATE_ERR_AUTH_UNAVAILABLE: /);
    } finally {
      galaxy.failWith(undefined);
    }
    const unreachable = await fetch(`${gw.url}/down/`, {
      method: 'POST',
      headers: { ...tus, 'X-Api-Key': apiKey, 'Upload-Length': '1' },
    });
    assert.equal(unreachable.status, 503);
    assert.equal(unreachable.headers.get('retry-after'), '10');
    galaxy.stall(true);
    try {
      const slow = await fetch(`${gw.url}/slow/`, {
        method: 'POST',
        headers: { ...tus, 'X-Api-Key': fresh, 'Upload-Length': '1' },
      });
      assert.equal(slow.status, 503);
      assert.equal(slow.headers.get('retry-after'), '10');
    } finally {
      galaxy.stall(false);
    }
    // An outage is not cached: Galaxy back, the same key works at once.
    const again = await fetch(`${gw.url}/api/upload/resumable_upload/`, {
      method: 'POST',
      headers: { ...tus, 'X-Api-Key': fresh, 'Upload-Length': '1' },
    });
    assert.equal(again.status, 201);
  });

  test('the auth metric keeps the reasons apart: missing, invalid, unavailable', async () => {
    const metrics = await scrape(gw.adminUrl);
    const decisions = (route: string, result: string, reason: string) =>
      metricValue(metrics, 'tusgate_auth_decisions_total', { route, result, reason });
    assert.ok(decisions('galaxy', 'denied', 'missing') > 0);
    assert.ok(decisions('galaxy', 'denied', 'invalid') > 0);
    assert.ok(decisions('galaxy', 'error', 'unavailable') > 0);
    assert.ok(decisions('down', 'error', 'unavailable') > 0);
    assert.ok(decisions('slow', 'error', 'unavailable') > 0);
  });
});
