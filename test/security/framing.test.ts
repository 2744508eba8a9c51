import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  alice,
  finishedUpload,
  type HostileSetup,
  rawExchange,
  rawRequest,
  startHostileSetup,
  tus,
} from './fixture.ts';

/** Findings 3, 8 and 9: what reaches the wire must frame as HTTP/1.1 says, on both sides. */
describe('message framing', () => {
  let setup: HostileSetup;
  let proxiedPath: string;
  let nativePath: string;

  before(async () => {
    setup = await startHostileSetup();
    proxiedPath = new URL(await finishedUpload(`${setup.origin}/prx/`, alice, 'hello')).pathname;
    nativePath = new URL(await finishedUpload(`${setup.origin}/files/`, alice, 'hello')).pathname;
  });
  after(async () => {
    await setup?.stop();
  });

  for (const method of ['HEAD', 'GET', 'DELETE']) {
    test(`finding 3: a proxied ${method} with a body is answered, its body consumed, and the connection goes on`, async () => {
      const path = method === 'DELETE' ? await deletable(setup) : proxiedPath;
      // The body byte is framed by Content-Length: if it were forwarded upstream without its
      // body, or left unread here, the answer would not come or the next request on this
      // connection would be read wrong. The next request's answer proves neither happened.
      const next = rawRequest('HEAD', proxiedPath, { ...tus, ...alice });
      const responses = await rawExchange(
        setup.port,
        rawRequest(method, path, { ...tus, ...alice, 'Content-Length': '1' }, 'x') + next,
        { responses: 2, bodiless: [method === 'HEAD', true], timeoutMs: 15_000 },
      );
      const [response, after] = responses;
      assert.ok(response, 'no answer');
      assert.equal(response.status, method === 'DELETE' ? 204 : 200, response.statusLine);
      assert.ok(after, 'no answer to the next request on the connection');
      assert.equal(after.status, 200, after.statusLine);
      assert.equal(after.headers.get('upload-offset'), '5');
    });
  }

  test('finding 8: POST overridden to HEAD gets a body that matches its Content-Length', async () => {
    const first = rawRequest('POST', proxiedPath, {
      ...tus,
      'X-HTTP-Method-Override': 'HEAD',
      'Content-Length': '0',
    });
    const second = rawRequest('OPTIONS', '/prx/', {});
    const responses = await rawExchange(setup.port, first + second, { responses: 2 });
    assert.equal(responses.length, 2, 'the second answer was swallowed as the first one’s body');
    const [refused, options] = responses;
    assert.equal(refused?.status, 401);
    assert.match(refused?.body.toString() ?? '', /^TUSGATE_ERR_UNAUTHORIZED: /);
    assert.ok(options && options.status < 300, options?.statusLine);
  });

  for (const [name, path] of [
    ['proxied', () => proxiedPath],
    ['native', () => nativePath],
  ] as const) {
    test(`finding 8: an admitted ${name} POST overridden to HEAD is framed as a POST answer`, async () => {
      const first = rawRequest('POST', path(), {
        ...tus,
        ...alice,
        'X-HTTP-Method-Override': 'HEAD',
        'Content-Length': '0',
      });
      const second = rawRequest('OPTIONS', '/prx/', {});
      const responses = await rawExchange(setup.port, first + second, { responses: 2 });
      assert.equal(responses.length, 2);
      assert.equal(responses[0]?.status, 200);
      assert.equal(responses[0]?.headers.get('upload-offset'), '5');
      assert.equal(responses[0]?.body.length, 0);
      assert.ok((responses[1]?.status ?? 500) < 300, responses[1]?.statusLine);
    });
  }

  test('finding 9: oversized headers get "431 Request Header Fields Too Large" with a tus body', async () => {
    const [response] = await rawExchange(
      setup.port,
      rawRequest('HEAD', proxiedPath, { ...tus, 'X-Padding': 'a'.repeat(64 * 1024) }),
    );
    assert.ok(response, 'no answer');
    assert.equal(response.statusLine, 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.equal(response.headers.get('tus-resumable'), '1.0.0');
    assert.match(response.body.toString(), /^TUSGATE_ERR_HEADERS_TOO_LARGE: /);
  });
});

async function deletable(setup: HostileSetup): Promise<string> {
  return new URL(await finishedUpload(`${setup.origin}/prx/`, alice, 'bye')).pathname;
}
