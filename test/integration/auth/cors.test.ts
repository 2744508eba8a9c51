import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const token = 'cors-token-8b1d2e3f';
const galaxyOrigin = 'https://galaxy.example.org';
const subdomainOrigin = 'https://eu.usegalaxy.org';
const evilOrigin = 'https://evil.example.com';

/**
 * The checks a browser makes (Fetch standard, CORS check and CORS-preflight fetch) for a request
 * with credentials: status ok, the exact origin allowed, credentials allowed, the method and every
 * non-safelisted request header allowed.
 */
function browserAcceptsPreflight(
  response: Response,
  origin: string,
  method: string,
  headers: string[],
) {
  const problems: string[] = [];
  if (response.status < 200 || response.status > 299) problems.push(`status ${response.status}`);
  if (response.headers.get('access-control-allow-origin') !== origin) problems.push('origin');
  if (response.headers.get('access-control-allow-credentials') !== 'true')
    problems.push('credentials');
  const methods = (response.headers.get('access-control-allow-methods') ?? '')
    .split(',')
    .map((item) => item.trim());
  if (!methods.includes(method)) problems.push(`method ${method}`);
  const allowed = (response.headers.get('access-control-allow-headers') ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase());
  for (const header of headers) {
    if (!allowed.includes(header.toLowerCase())) problems.push(`header ${header}`);
  }
  return problems;
}

/** The CORS check of an actual response, and whether a script may read `read` headers. */
function browserAcceptsResponse(response: Response, origin: string, read: string[]) {
  const problems: string[] = [];
  if (response.headers.get('access-control-allow-origin') !== origin) problems.push('origin');
  if (response.headers.get('access-control-allow-credentials') !== 'true')
    problems.push('credentials');
  const exposed = (response.headers.get('access-control-expose-headers') ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase());
  for (const header of read) {
    if (!exposed.includes(header.toLowerCase())) problems.push(`expose ${header}`);
  }
  return problems;
}

describe('CORS', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-cors-');
    const common = {
      auth: { type: 'static', tokens: { [token]: 'alice' } },
      cors: {
        origins: [galaxyOrigin, '/^https:\\/\\/[a-z]+\\.usegalaxy\\.org$/'],
        credentials: true,
        maxAge: '1h',
      },
    };
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          ...common,
          backends: { native: { type: 'native', store: 'main' } },
        },
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          ...common,
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

  const requested = [
    'Tus-Resumable',
    'Upload-Length',
    'Upload-Metadata',
    'Authorization',
    'X-Api-Key',
  ];

  for (const prefix of ['/files/', '/legacy/']) {
    test(`${prefix}: preflights from allowed origins pass a browser's checks, without credentials`, async () => {
      for (const origin of [galaxyOrigin, subdomainOrigin]) {
        for (const method of ['POST', 'PATCH', 'HEAD', 'DELETE']) {
          const response = await fetch(`${gw.url}${prefix}`, {
            method: 'OPTIONS',
            headers: {
              Origin: origin,
              'Access-Control-Request-Method': method,
              'Access-Control-Request-Headers': requested.join(', ').toLowerCase(),
            },
          });
          assert.deepEqual(browserAcceptsPreflight(response, origin, method, requested), []);
          assert.equal(response.headers.get('access-control-max-age'), '3600');
          assert.equal(response.headers.get('vary'), 'Origin');
        }
      }
    });

    test(`${prefix}: a disallowed origin gets 403 and no CORS headers`, async () => {
      const preflight = await fetch(`${gw.url}${prefix}`, {
        method: 'OPTIONS',
        headers: { Origin: evilOrigin, 'Access-Control-Request-Method': 'POST' },
      });
      assert.equal(preflight.status, 403);
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      const actual = await fetch(`${gw.url}${prefix}`, {
        method: 'POST',
        headers: {
          ...tus,
          Origin: evilOrigin,
          Authorization: `Bearer ${token}`,
          'Upload-Length': '1',
        },
      });
      assert.equal(actual.status, 403);
      assert.match(await actual.text(), /^TUSGATE_ERR_CORS_ORIGIN: /);
      assert.equal(actual.headers.get('access-control-allow-origin'), null);
    });

    test(`${prefix}: actual requests expose the tus headers once, errors included`, async () => {
      const created = await fetch(`${gw.url}${prefix}`, {
        method: 'POST',
        headers: {
          ...tus,
          Origin: galaxyOrigin,
          Authorization: `Bearer ${token}`,
          'Upload-Length': '3',
        },
      });
      assert.equal(created.status, 201);
      assert.deepEqual(
        browserAcceptsResponse(created, galaxyOrigin, ['Location', 'Tus-Resumable']),
        [],
      );
      const url = new URL(created.headers.get('location') ?? '', gw.url).href;
      const patched = await fetch(url, {
        method: 'PATCH',
        headers: {
          ...tus,
          Origin: galaxyOrigin,
          Authorization: `Bearer ${token}`,
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: 'abc',
      });
      assert.equal(patched.status, 204);
      assert.deepEqual(browserAcceptsResponse(patched, galaxyOrigin, ['Upload-Offset']), []);
      const head = await fetch(url, {
        method: 'HEAD',
        headers: { ...tus, Origin: subdomainOrigin, Authorization: `Bearer ${token}` },
      });
      assert.deepEqual(
        browserAcceptsResponse(head, subdomainOrigin, ['Upload-Offset', 'Upload-Length']),
        [],
      );
      // A refused request can still be read by the page (so it can show "log in again").
      const refused = await fetch(url, {
        method: 'HEAD',
        headers: { ...tus, Origin: galaxyOrigin },
      });
      assert.equal(refused.status, 401);
      assert.deepEqual(browserAcceptsResponse(refused, galaxyOrigin, []), []);
    });

    test(`${prefix}: a same-origin request is allowed without being listed`, async () => {
      const response = await fetch(`${gw.url}${prefix}`, {
        method: 'POST',
        headers: { ...tus, Origin: gw.url, Authorization: `Bearer ${token}`, 'Upload-Length': '1' },
      });
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('access-control-allow-origin'), gw.url);
    });
  }
});

describe("CORS: the route's own headers", () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-cors-route-');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'canaried',
          match: { pathPrefix: '/files/' },
          auth: { type: 'static', header: 'X-Job-Files-Token', tokens: { [token]: 'alice' } },
          cors: { origins: [galaxyOrigin], credentials: true },
          backends: {
            legacy: { type: 'tusd', url: tusd.url },
            native: { type: 'native', store: 'main' },
          },
          create: 'legacy',
          canary: {
            backend: 'native',
            weight: 0,
            stickyHeader: 'X-Galaxy-User',
            override: { allow: ['alice'] },
          },
        },
        {
          name: 'no-cors',
          match: { pathPrefix: '/plain/' },
          backends: { legacy: { type: 'tusd', url: tusd.url } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  test('the preflight allows the token header, the canary override and the sticky header; a page can then choose the backend', async () => {
    const own = ['X-Job-Files-Token', 'X-Tusgate-Backend', 'X-Galaxy-User'];
    const requested = ['Tus-Resumable', 'Upload-Length', ...own];
    const preflight = await fetch(`${gw.url}/files/`, {
      method: 'OPTIONS',
      headers: {
        Origin: galaxyOrigin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': requested.join(', ').toLowerCase(),
      },
    });
    assert.deepEqual(browserAcceptsPreflight(preflight, galaxyOrigin, 'POST', requested), []);
    const listed = (preflight.headers.get('access-control-allow-headers') ?? '')
      .split(',')
      .map((item) => item.trim().toLowerCase());
    assert.equal(new Set(listed).size, listed.length, 'each header listed once');

    // What the page then sends: the override puts this upload on the native backend.
    const created = await fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: {
        ...tus,
        Origin: galaxyOrigin,
        'X-Job-Files-Token': token,
        'X-Tusgate-Backend': 'native',
        'X-Galaxy-User': 'alice',
        'Upload-Length': '1',
      },
    });
    assert.equal(created.status, 201);
    const id = (created.headers.get('location') ?? '').split('/').at(-1) ?? '';
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/, 'a native (UUIDv7) id');
  });
  test('docs/galaxy.md: without a cors block, tusd answers the preflight and a page cannot send X-Api-Key', async () => {
    const requested = ['Tus-Resumable', 'Upload-Length', 'X-Api-Key'];
    const preflight = await fetch(`${gw.url}/plain/`, {
      method: 'OPTIONS',
      headers: {
        Origin: galaxyOrigin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': requested.join(', ').toLowerCase(),
      },
    });
    const problems = browserAcceptsPreflight(preflight, galaxyOrigin, 'POST', requested);
    assert.ok(problems.includes('header X-Api-Key'), problems.join(', '));
  });
});
