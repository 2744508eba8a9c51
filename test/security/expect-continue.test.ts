import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  alice,
  bob,
  finishedUpload,
  type HostileSetup,
  rawConversation,
  rawRequest,
  startHostileSetup,
  tus,
} from './fixture.ts';

const patchHeaders = (offset: number, length: number) => ({
  ...tus,
  'Upload-Offset': String(offset),
  'Content-Type': 'application/offset+octet-stream',
  'Content-Length': String(length),
  Expect: '100-continue',
});

/**
 * `Expect: 100-continue` (sent by curl, tusd's clients and tus-js-client in Node) asks the server
 * whether the body is welcome before sending it. The answer must come after authentication and
 * the owner check: a refused client is told so without sending its body first.
 */
describe('Expect: 100-continue is answered only after auth and ownership', () => {
  let setup: HostileSetup;
  const paths: Record<string, string> = {};

  before(async () => {
    setup = await startHostileSetup();
    for (const prefix of ['files', 'prx']) {
      const created = await fetch(`${setup.origin}/${prefix}/`, {
        method: 'POST',
        headers: { ...tus, ...alice, 'Upload-Length': '10' },
      });
      assert.equal(created.status, 201, await created.text());
      paths[prefix] = new URL(created.headers.get('location') ?? '').pathname;
    }
    // Something finished, so the routes' other uploads exist too.
    await finishedUpload(`${setup.origin}/files/`, alice, 'hello');
  });
  after(async () => {
    await setup?.stop();
  });

  for (const prefix of ['files', 'prx']) {
    const refusals = {
      'without credentials': { who: {}, status: 401 },
      'with bad credentials': {
        who: { Authorization: 'Bearer nobody-token-00000000' },
        status: 401,
      },
      "on another principal's upload": { who: bob, status: 404 },
    };
    for (const [name, { who, status }] of Object.entries(refusals)) {
      test(`/${prefix}/: a PATCH ${name} gets its ${status} with no 100 Continue before it`, async () => {
        const path = paths[prefix] as string;
        const conversation = await rawConversation(
          setup.port,
          rawRequest('PATCH', path, { ...who, ...patchHeaders(0, 5) }),
        );
        const text = conversation.raw.toString('latin1');
        assert.ok(conversation.responses.length > 0, text);
        assert.doesNotMatch(text, /^HTTP\/1\.1 100/m, 'no 100 Continue was sent');
        assert.equal(conversation.responses[0]?.status, status, text);
        // The body it held back may still come: the connection is not reused.
        assert.equal(conversation.responses[0]?.headers.get('connection'), 'close');
        assert.ok(conversation.closed, 'the connection ends after the refusal');
      });
    }

    test(`/${prefix}/: an admitted PATCH gets 100 Continue, then its answer once the body is sent`, async () => {
      const path = paths[prefix] as string;
      const exchange = await continueExchange(
        setup.port,
        rawRequest('PATCH', path, { ...alice, ...patchHeaders(0, 5) }),
        'hello',
      );
      assert.match(exchange.beforeBody, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      assert.match(exchange.afterBody, /^HTTP\/1\.1 204 /);
      assert.match(exchange.afterBody, /\r\nUpload-Offset: 5\r\n/i);
    });
  }

  test('a native PATCH at the wrong offset is refused (409) without a 100 Continue', async () => {
    const conversation = await rawConversation(
      setup.port,
      rawRequest('PATCH', paths.files as string, { ...alice, ...patchHeaders(3, 2) }),
    );
    const text = conversation.raw.toString('latin1');
    assert.doesNotMatch(text, /^HTTP\/1\.1 100/m, text);
    assert.equal(conversation.responses[0]?.status, 409, text);
  });

  test('a creation with upload (POST with a body) is told to continue only once admitted', async () => {
    const headers = {
      ...tus,
      'Upload-Length': '3',
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': '3',
      Expect: '100-continue',
    };
    const refused = await rawConversation(setup.port, rawRequest('POST', '/files/', headers));
    assert.doesNotMatch(refused.raw.toString('latin1'), /^HTTP\/1\.1 100/m);
    assert.equal(refused.responses[0]?.status, 401);
    for (const prefix of ['files', 'prx']) {
      const exchange = await continueExchange(
        setup.port,
        rawRequest('POST', `/${prefix}/`, { ...alice, ...headers }),
        'abc',
      );
      assert.match(exchange.beforeBody, /^HTTP\/1\.1 100 Continue\r\n\r\n$/, prefix);
      assert.match(exchange.afterBody, /^HTTP\/1\.1 201 /, `${prefix}: ${exchange.afterBody}`);
    }
  });
});

/**
 * Sends the request head, waits for the server's interim answer (never sending the body before
 * it), then sends the body and reads the final answer's head.
 */
function continueExchange(
  port: number,
  head: string,
  body: string,
): Promise<{ beforeBody: string; afterBody: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let beforeBody: string | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer; received so far: ${JSON.stringify(received)}`));
    }, 5000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (beforeBody === undefined) {
        const end = received.indexOf('\r\n\r\n');
        if (end === -1) return;
        beforeBody = received.slice(0, end + 4);
        received = received.slice(end + 4);
        if (!beforeBody.startsWith('HTTP/1.1 100')) {
          clearTimeout(timer);
          socket.destroy();
          resolve({ beforeBody, afterBody: '' });
          return;
        }
        socket.write(body);
      }
      if (received.includes('\r\n\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ beforeBody, afterBody: received });
      }
    });
    socket.on('error', reject);
    socket.write(head);
  });
}
