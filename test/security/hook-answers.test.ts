import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type HookReceiver, startHookReceiver } from '../helpers/hook-receiver.ts';
import { rawConversation, rawRequest } from './fixture.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

/**
 * A hook's answer is not trusted with the response's framing: hop-by-hop and framing headers are
 * dropped, an answer the gateway could not send is a failed hook (refused before anything is
 * created), and no hook answer ever leaves an upload behind.
 */
describe('hook answers cannot frame the response or orphan an upload', () => {
  let receiver: HookReceiver;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let port: number;
  const storeRoot = () => join(dir.path, 'store');

  before(async () => {
    receiver = await startHookReceiver();
    dir = await tempDir('tusgate-hook-answers-');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [
            {
              type: 'http',
              url: receiver.url,
              events: ['pre-create', 'pre-finish', 'post-receive'],
              retries: 0,
            },
          ],
        },
      ],
    });
    port = Number(new URL(gw.url).port);
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await dir?.remove();
  });

  const uploads = async () => {
    const entries = await readdir(storeRoot(), { recursive: true }).catch(() => []);
    return entries.filter((entry) => String(entry).endsWith('.info')).length;
  };
  const create = (extra: Record<string, string> = {}) =>
    fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '3', ...extra },
    });

  const unsendable: Record<string, unknown> = {
    'CRLF in a header value': { HTTPResponse: { Header: { 'X-Note': 'a\r\nSet-Cookie: s=1' } } },
    'a bare LF in a header value': { HTTPResponse: { Header: { 'X-Note': 'a\nb' } } },
    'a NUL in a header value': { HTTPResponse: { Header: { 'X-Note': 'a\u0000b' } } },
    'a space in a header name': { HTTPResponse: { Header: { 'X Note': 'a' } } },
    'a header value that is not a string': { HTTPResponse: { Header: { 'X-Note': 7 } } },
    'a status that is not one': { RejectUpload: true, HTTPResponse: { StatusCode: 1000 } },
    'a rejection with CRLF in a header': {
      RejectUpload: true,
      HTTPResponse: { StatusCode: 403, Header: { 'X-Why': 'no\r\nX-Injected: 1' } },
    },
  };

  for (const [name, answer] of Object.entries(unsendable)) {
    test(`pre-create answering ${name} is a failed hook (503) and creates nothing`, async () => {
      const before = await uploads();
      receiver.answer('pre-create', 200, answer);
      try {
        const response = await create();
        const body = await response.text();
        assert.equal(response.status, 503, body);
        assert.match(body, /^TUSGATE_ERR_HOOK_UNAVAILABLE: /);
        assert.equal(response.headers.get('x-injected'), null);
        assert.equal(response.headers.get('set-cookie'), null);
      } finally {
        receiver.answer('pre-create', 200, {});
      }
      assert.equal(await uploads(), before, 'no upload is left behind');
      const line = gw.logs().findLast((entry) => entry.msg === 'pre-hook failed');
      assert.ok(line, 'the bad answer is logged as a hook failure');
    });
  }

  test('framing and hop-by-hop headers from a hook never reach the 201', async () => {
    receiver.answer('pre-create', 200, {
      HTTPResponse: {
        Header: {
          'Transfer-Encoding': 'chunked',
          'content-length': '99',
          Connection: 'close',
          'Keep-Alive': 'timeout=1',
          Upgrade: 'h2c',
          Trailer: 'X-Late',
          'X-Hooked': 'yes',
        },
      },
    });
    try {
      const request = rawRequest('POST', '/files/', { ...tus, 'Upload-Length': '3' });
      // Two requests on one connection: the first answer must be framed so the second is read.
      const conversation = await rawConversation(port, request + request, 3000);
      assert.equal(conversation.responses.length, 2, conversation.raw.toString('latin1'));
      for (const response of conversation.responses) {
        assert.equal(response.status, 201, response.statusLine);
        assert.equal(response.headers.get('transfer-encoding'), undefined);
        assert.equal(response.headers.get('content-length'), '0');
        assert.equal(response.headers.get('upgrade'), undefined);
        assert.equal(response.headers.get('trailer'), undefined);
        assert.notEqual(response.headers.get('connection'), 'close');
        assert.equal(response.headers.get('x-hooked'), 'yes');
      }
      const head = conversation.raw.toString('latin1').split('\r\n\r\n')[0] ?? '';
      assert.equal(head.match(/^content-length:/gim)?.length, 1, head);
    } finally {
      receiver.answer('pre-create', 200, {});
    }
  });

  test("a rejection's framing headers from the hook are dropped too", async () => {
    receiver.answer('pre-create', 200, {
      RejectUpload: true,
      HTTPResponse: {
        StatusCode: 403,
        Body: 'no room',
        Header: { 'Transfer-Encoding': 'chunked', 'Content-Length': '1', 'X-Why': 'quota' },
      },
    });
    try {
      const conversation = await rawConversation(
        port,
        rawRequest('POST', '/files/', { ...tus, 'Upload-Length': '3', Connection: 'close' }),
      );
      const [response] = conversation.responses;
      assert.ok(response, conversation.raw.toString('latin1'));
      assert.equal(response.status, 403);
      assert.equal(response.headers.get('transfer-encoding'), undefined);
      assert.equal(response.headers.get('x-why'), 'quota');
      const body = 'TUSGATE_ERR_HOOK_REJECTED: no room\n';
      assert.equal(response.headers.get('content-length'), String(body.length));
      assert.equal(response.body.toString(), body);
    } finally {
      receiver.answer('pre-create', 200, {});
    }
  });

  test('a pre-finish answer that could not be sent fails that hook, not the upload', async () => {
    receiver.answer('pre-finish', 200, { HTTPResponse: { Header: { 'X-Done': 'a\r\nb' } } });
    try {
      const created = await create();
      assert.equal(created.status, 201, await created.text());
      const url = new URL(created.headers.get('location') ?? '', gw.url).href;
      const patched = await fetch(url, {
        method: 'PATCH',
        headers: {
          ...tus,
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: 'abc',
      });
      assert.equal(patched.status, 204, await patched.text());
      assert.equal(patched.headers.get('upload-offset'), '3');
      assert.equal(patched.headers.get('x-done'), null);
    } finally {
      receiver.answer('pre-finish', 200, {});
    }
  });

  test("Go's zero values (null maps, StatusCode 0, empty ID) are an empty answer", async () => {
    receiver.answer('pre-create', 200, {
      HTTPResponse: { StatusCode: 0, Body: '', Header: null },
      RejectUpload: false,
      ChangeFileInfo: { ID: '', MetaData: null, Storage: null },
      StopUpload: false,
    });
    try {
      const response = await create();
      assert.equal(response.status, 201, await response.text());
    } finally {
      receiver.answer('pre-create', 200, {});
    }
  });
});
