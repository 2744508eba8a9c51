import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  alice,
  bob,
  finishedUpload,
  type HostileSetup,
  maxSize,
  rawExchange,
  rawRequest,
  startHostileSetup,
  tus,
} from './fixture.ts';

describe('limits, oracles and reflected input', () => {
  let setup: HostileSetup;

  before(async () => {
    setup = await startHostileSetup();
  });
  after(async () => {
    await setup?.stop();
  });

  const post = (headers: Record<string, string>) =>
    fetch(`${setup.origin}/prx/`, { method: 'POST', headers: { ...tus, ...alice, ...headers } });

  test('finding 5: a proxied creation past the route’s maxSize is 413', async () => {
    const response = await post({ 'Upload-Length': '100000000000000000' });
    assert.equal(response.status, 413);
    assert.match(await response.text(), /^TUSGATE_ERR_SIZE_EXCEEDED: /);
    const justOver = await post({ 'Upload-Length': String(maxSize + 1) });
    assert.equal(justOver.status, 413);
    assert.equal((await post({ 'Upload-Length': String(maxSize) })).status, 201);
  });

  test('finding 5: a deferred-length proxied upload cannot grow past maxSize', async () => {
    const created = await post({ 'Upload-Defer-Length': '1' });
    assert.equal(created.status, 201);
    const url = new URL(created.headers.get('location') ?? '', setup.origin).href;
    const patch = (headers: Record<string, string>, body: Uint8Array) =>
      fetch(url, {
        method: 'PATCH',
        headers: {
          ...tus,
          ...alice,
          'Content-Type': 'application/offset+octet-stream',
          ...headers,
        },
        body,
      });
    const declared = await patch(
      { 'Upload-Offset': '0', 'Upload-Length': String(maxSize + 1) },
      new Uint8Array(0),
    );
    assert.equal(declared.status, 413);
    assert.match(await declared.text(), /^TUSGATE_ERR_SIZE_EXCEEDED: /);
    const long = await patch({ 'Upload-Offset': '0' }, randomBytes(maxSize + 1));
    assert.equal(long.status, 413);
    const head = await fetch(url, { method: 'HEAD', headers: { ...tus, ...alice } });
    assert.equal(head.headers.get('upload-offset'), '0');
  });

  test('finding 5: OPTIONS on a proxied route names Tus-Max-Size', async () => {
    const response = await fetch(`${setup.origin}/prx/`, { method: 'OPTIONS' });
    assert.equal(response.headers.get('tus-max-size'), String(maxSize));
  });

  for (const route of ['/prx/', '/files/']) {
    test(`finding 6: OPTIONS on ${route}<id> answers alike for another user’s upload and a random id`, async () => {
      const url = await finishedUpload(`${setup.origin}${route}`, alice, 'abc');
      const path = new URL(url).pathname;
      const randomId = route === '/prx/' ? randomBytes(16).toString('hex') : crypto.randomUUID();
      const theirs = await fetch(`${setup.origin}${path}`, { method: 'OPTIONS', headers: bob });
      const nobody = await fetch(`${setup.origin}${route}${randomId}`, {
        method: 'OPTIONS',
        headers: bob,
      });
      assert.equal(theirs.status, nobody.status);
      assert.ok(theirs.status < 300, `status ${theirs.status}`);
      assert.equal(theirs.headers.get('tus-extension'), nobody.headers.get('tus-extension'));
      assert.equal(theirs.headers.get('tus-max-size'), nobody.headers.get('tus-max-size'));
    });
  }

  for (const host of ['"><script>', 'evil.example/#', 'a b', 'host:0', 'host:65536', 'ho$t']) {
    test(`finding 7: Host ${JSON.stringify(host)} is a 400, never reflected into Location`, async () => {
      const request = rawRequest('POST', '/prx/', {
        ...tus,
        ...alice,
        'Upload-Length': '1',
      }).replace('Host: 127.0.0.1', `Host: ${host}`);
      const [response] = await rawExchange(setup.port, request);
      assert.ok(response, 'no answer');
      assert.equal(response.status, 400, response.headers.get('location'));
      assert.equal(response.headers.get('location'), undefined);
    });
  }

  for (const host of ['uploads.example:8443', '[::1]:1080', '10.0.0.1']) {
    test(`finding 7: Host ${host} is used in Location`, async () => {
      const request = rawRequest('POST', '/prx/', {
        ...tus,
        ...alice,
        'Upload-Length': '1',
      }).replace('Host: 127.0.0.1', `Host: ${host}`);
      const [response] = await rawExchange(setup.port, request);
      assert.equal(response?.status, 201);
      assert.match(
        response?.headers.get('location') ?? '',
        new RegExp(`^http://${escapeBrackets(host)}/prx/`),
      );
    });
  }

  for (const route of ['/files/', '/prx/']) {
    test(`finding 9: a metadata key __proto__ round-trips on ${route}`, async () => {
      const metadata = '__proto__ dmFs,constructor eA==,filename Zi50eHQ=';
      const created = await fetch(`${setup.origin}${route}`, {
        method: 'POST',
        headers: { ...tus, ...alice, 'Upload-Length': '1', 'Upload-Metadata': metadata },
      });
      assert.equal(created.status, 201, await created.text());
      const url = new URL(created.headers.get('location') ?? '', setup.origin).href;
      const head = await fetch(url, { method: 'HEAD', headers: { ...tus, ...alice } });
      const pairs = (head.headers.get('upload-metadata') ?? '').split(',').sort();
      assert.deepEqual(pairs, metadata.split(',').sort());
    });
  }

  for (const route of ['/prx/', '/files/']) {
    test(`${route}: GET and HEAD without Tus-Resumable are served (as tusd); a wrong version is 412 with Tus-Version; OPTIONS needs none`, async () => {
      const url = await finishedUpload(`${setup.origin}${route}`, alice, 'abc');
      const download = await fetch(url, { headers: alice });
      assert.equal(download.status, 200);
      assert.equal(await download.text(), 'abc');
      const head = await fetch(url, { method: 'HEAD', headers: alice });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('upload-offset'), '3');
      for (const method of ['HEAD', 'GET']) {
        const old = await fetch(url, { method, headers: { ...alice, 'Tus-Resumable': '0.2.2' } });
        assert.equal(old.status, 412, method);
        assert.equal(old.headers.get('tus-version'), '1.0.0');
        if (method === 'GET') assert.match(await old.text(), /^TUSGATE_ERR_UNSUPPORTED_VERSION: /);
      }
      const missing = await fetch(url, { method: 'DELETE', headers: alice });
      assert.equal(missing.status, 412);
      assert.equal(missing.headers.get('tus-version'), '1.0.0');
      assert.match(await missing.text(), /^TUSGATE_ERR_MISSING_VERSION: missing Tus-Resumable/);
      assert.ok((await fetch(url, { method: 'OPTIONS' })).status < 300);
    });

    test(`${route}: a creation body of another type is 415; tus headers sent twice are 400`, async () => {
      const typed = await fetch(`${setup.origin}${route}`, {
        method: 'POST',
        headers: { ...tus, ...alice, 'Upload-Length': '3', 'Content-Type': 'text/plain' },
        body: 'abc',
      });
      assert.equal(typed.status, 415);
      assert.match(await typed.text(), /^TUSGATE_ERR_INVALID_CONTENT_TYPE: /);
      const request = rawRequest('POST', route, {
        ...tus,
        ...alice,
        'Upload-Length': '3',
        'Content-Length': '0',
      }).replace('Upload-Length: 3', 'Upload-Length: 3\r\nUpload-Length: 300');
      const [twice] = await rawExchange(setup.port, request);
      assert.equal(twice?.status, 400);
      assert.match(twice?.body.toString() ?? '', /^TUSGATE_ERR_INVALID_HEADER: /);
    });
  }
});

function escapeBrackets(text: string): string {
  return text.replace(/[[\]]/g, '\\$&');
}
