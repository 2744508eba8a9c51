import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';
import { tusdRequests } from './fixture.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

/**
 * `X-Request-Id` ties nginx, tusgate, tusd and Sentry together. Only a trusted proxy (nginx's
 * `$request_id`) may name it: from any other peer it is replaced, so a client cannot make its
 * requests look like someone else's in the logs, or one id cover many requests.
 */
describe('X-Request-Id is kept only from trusted proxies', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let untrusted: RunningGateway;
  let trusted: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-request-id-');
    const config = (trustedProxies?: string[]) => ({
      server: trustedProxies ? { trustedProxies } : {},
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
        },
        {
          name: 'proxied',
          match: { pathPrefix: '/prx/' },
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
      ],
    });
    // The tests connect from loopback: trusted by default, not when only 10.9.9.9 is.
    untrusted = await startGateway(config(['10.9.9.9']));
    trusted = await startGateway(config());
  });
  after(async () => {
    await untrusted?.stop();
    await trusted?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  const create = (gw: RunningGateway, prefix: string, id: string) =>
    fetch(`${gw.url}/${prefix}/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '1', 'X-Request-Id': id },
    });

  for (const prefix of ['files', 'prx']) {
    test(`/${prefix}/: an id from an untrusted peer is replaced, in the answer, the logs and upstream`, async () => {
      const forged = `forged-request-id-${prefix}-0001`;
      const response = await create(untrusted, prefix, forged);
      assert.equal(response.status, 201, await response.text());
      const id = response.headers.get('x-request-id') ?? '';
      assert.notEqual(id, forged);
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.ok(!JSON.stringify(untrusted.logs()).includes(forged), 'the forged id is not logged');
      assert.ok(untrusted.logs().some((line) => line.requestId === id));
      if (prefix === 'prx') {
        const seen = tusdRequests(tusd).map((request) => request.requestId);
        assert.ok(seen.includes(id), 'tusd got the id tusgate made');
        assert.ok(!seen.includes(forged), 'tusd never saw the forged id');
      }
    });

    test(`/${prefix}/: a trusted proxy's id is kept`, async () => {
      const fromNginx = `nginx-request-id-${prefix}-0002`;
      const response = await create(trusted, prefix, fromNginx);
      assert.equal(response.status, 201, await response.text());
      assert.equal(response.headers.get('x-request-id'), fromNginx);
      if (prefix === 'prx') {
        assert.ok(tusdRequests(tusd).some((request) => request.requestId === fromNginx));
      }
    });
  }
});
