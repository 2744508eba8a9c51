import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tusClient from 'tus-js-client';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type HookReceiver, startHookReceiver } from '../helpers/hook-receiver.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const token = 'refusals-token-0123456789';
const bearer = { Authorization: `Bearer ${token}` };

/** The same route twice: once with `refusals: galaxy`, once with the default. */
describe('refusals: galaxy answers permanent refusals 403', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let hooks: HookReceiver;
  let tusd: RunningTusd;
  let gw: RunningGateway;

  before(async () => {
    dir = await tempDir('tusgate-refusals-');
    hooks = await startHookReceiver();
    tusd = await startTusd();
    const proxied = (name: string, extra: Record<string, unknown>) => ({
      name,
      match: { pathPrefix: `/${name}/` },
      maxSize: '1KiB',
      auth: { type: 'static', tokens: { [token]: 'alice' } },
      backends: { tusd: { type: 'tusd', url: tusd.url } },
      ...extra,
    });
    const route = (name: string, extra: Record<string, unknown>) => ({
      name,
      match: { pathPrefix: `/${name}/` },
      maxSize: '1KiB',
      auth: { type: 'static', tokens: { [token]: 'alice' } },
      backends: { native: { type: 'native', store: 'main' } },
      hooks: [{ type: 'http', url: hooks.url, events: ['pre-create'] }],
      ...extra,
    });
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        route('galaxy', { refusals: 'galaxy' }),
        route('tus', {}),
        proxied('galaxy-prx', { refusals: 'galaxy' }),
        proxied('tus-prx', {}),
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await hooks?.close();
    await dir?.remove();
  });

  const create = (route: string, headers: Record<string, string>) =>
    fetch(`${gw.url}/${route}/`, { method: 'POST', headers: { ...tus, ...headers } });

  test('an upload over maxSize: 403 with the size message, 413 without the option', async () => {
    const galaxy = await create('galaxy', { ...bearer, 'Upload-Length': '2048' });
    assert.equal(galaxy.status, 403);
    assert.equal(galaxy.headers.get('tus-resumable'), '1.0.0');
    assert.equal(await galaxy.text(), 'TUSGATE_ERR_SIZE_EXCEEDED: maximum size exceeded\n');
    const plain = await create('tus', { ...bearer, 'Upload-Length': '2048' });
    assert.equal(plain.status, 413);
    assert.equal(await plain.text(), 'TUSGATE_ERR_SIZE_EXCEEDED: maximum size exceeded\n');
  });

  test('proxied routes too: an upload over maxSize is 403 with the option, 413 without', async () => {
    const galaxy = await create('galaxy-prx', { ...bearer, 'Upload-Length': '2048' });
    assert.equal(galaxy.status, 403);
    assert.equal(await galaxy.text(), 'TUSGATE_ERR_SIZE_EXCEEDED: maximum size exceeded\n');
    const plain = await create('tus-prx', { ...bearer, 'Upload-Length': '2048' });
    assert.equal(plain.status, 413);
  });

  test('missing credentials: 403 with the real code, 401 without the option', async () => {
    const galaxy = await create('galaxy', { 'Upload-Length': '10' });
    assert.equal(galaxy.status, 403);
    assert.equal(await galaxy.text(), 'TUSGATE_ERR_UNAUTHORIZED: authentication required\n');
    const plain = await create('tus', { 'Upload-Length': '10' });
    assert.equal(plain.status, 401);
  });

  test("a pre-create hook's rejection: 403 with the hook's message, its own status without", async () => {
    hooks.answer('pre-create', 200, {
      RejectUpload: true,
      HTTPResponse: { StatusCode: 422, Body: 'quota exceeded: 20 GB of 20 GB used\n' },
    });
    try {
      const galaxy = await create('galaxy', { ...bearer, 'Upload-Length': '10' });
      assert.equal(galaxy.status, 403);
      // The hook's message, in the catalogue's body shape.
      assert.equal(
        await galaxy.text(),
        'TUSGATE_ERR_HOOK_REJECTED: quota exceeded: 20 GB of 20 GB used\n',
      );
      const plain = await create('tus', { ...bearer, 'Upload-Length': '10' });
      assert.equal(plain.status, 422);
    } finally {
      hooks.answer('pre-create', 200, {});
    }
  });

  test('what tus clients settle themselves keeps its status: 409, 404', async () => {
    const created = await create('galaxy', { ...bearer, 'Upload-Length': '10' });
    assert.equal(created.status, 201);
    const url = new URL(created.headers.get('location') as string, gw.url).href;
    const mismatched = await fetch(url, {
      method: 'PATCH',
      headers: {
        ...tus,
        ...bearer,
        'Upload-Offset': '3',
        'Content-Type': 'application/offset+octet-stream',
      },
      body: 'abc',
    });
    assert.equal(mismatched.status, 409);
    const missing = await fetch(`${gw.url}/galaxy/0190f5a2-0000-7000-8000-000000000000`, {
      method: 'HEAD',
      headers: { ...tus, ...bearer },
    });
    assert.equal(missing.status, 404);
  });

  test("Galaxy's upload client stops and shows the size refusal instead of retrying", async () => {
    // The options and the 403 test of Galaxy's client/src/utils/upload-submit.js.
    const failure = await new Promise<tusClient.DetailedError>((resolve, reject) => {
      const upload = new tusClient.Upload(Buffer.alloc(4096), {
        endpoint: `${gw.url}/galaxy/`,
        retryDelays: [0, 3000, 10000],
        headers: bearer,
        storeFingerprintForResuming: false,
        onError: (error) => resolve(error as tusClient.DetailedError),
        onSuccess: () => reject(new Error('the upload was admitted')),
      });
      upload.start();
    });
    assert.equal(failure.originalResponse?.getStatus(), 403);
    assert.match(String(failure), /TUSGATE_ERR_SIZE_EXCEEDED: maximum size exceeded/);
  });
});
