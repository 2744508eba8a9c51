import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

interface RawAnswer {
  status?: number;
  contentType?: string;
  body: string;
  delayMs?: number;
}

/**
 * tusd v2.9+'s rules for an HTTP hook's answer, which tusgate keeps: a 2xx answer is the hook's
 * response only if it is `application/json`, a JSON object of tusd's HookResponse, of at most
 * `sizeLimit` bytes, within `timeout`. Anything else is a failure, so a pre-create hook refuses
 * (503) rather than letting the upload in.
 */
describe('HTTP hook answers (tusd v2.9+ rules)', () => {
  let hookServer: Server;
  let answer: RawAnswer = { contentType: 'application/json', body: '{}' };
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    hookServer = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const { status = 200, contentType, body, delayMs = 0 } = answer;
        setTimeout(() => {
          res.writeHead(status, contentType ? { 'Content-Type': contentType } : {});
          res.end(body);
        }, delayMs);
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    const port = (hookServer.address() as AddressInfo).port;
    dir = await tempDir('tusgate-http-answers-');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'files',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [
            {
              type: 'http',
              url: `http://127.0.0.1:${port}/hooks`,
              events: ['pre-create'],
              timeout: '1s',
            },
          ],
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    hookServer?.closeAllConnections();
    await new Promise((resolve) => hookServer?.close(resolve));
    await dir?.remove();
  });

  const create = async (with_: RawAnswer) => {
    answer = with_;
    const response = await fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '10' },
    });
    return { status: response.status, text: await response.text() };
  };
  const json = (body: unknown, extra: Partial<RawAnswer> = {}): RawAnswer => ({
    contentType: 'application/json',
    body: JSON.stringify(body),
    ...extra,
  });
  const lastFailure = () =>
    JSON.stringify(gw.logs().findLast((line) => line.msg === 'pre-hook failed'));

  test('a JSON answer with Content-Type application/json (parameters allowed) is the response', async () => {
    assert.equal((await create(json({}))).status, 201);
    assert.equal((await create(json(null))).status, 201);
    const refused = await create(
      json(
        { RejectUpload: true, HTTPResponse: { StatusCode: 418, Body: 'no' } },
        { contentType: 'application/json; charset=utf-8' },
      ),
    );
    assert.equal(refused.status, 418);
    assert.equal(refused.text, 'TUSGATE_ERR_HOOK_REJECTED: no\n');
  });

  test('an answer without Content-Type application/json is a failure, even with a JSON body', async () => {
    for (const contentType of ['text/plain', 'text/html; charset=utf-8', undefined]) {
      const result = await create({ contentType, body: '{}' });
      assert.equal(result.status, 503, String(contentType));
      assert.match(result.text, /^TUSGATE_ERR_HOOK_UNAVAILABLE: /);
      assert.match(lastFailure(), /not application\/json/);
    }
  });

  test('an empty body or one that is not a JSON object is a failure', async () => {
    for (const body of ['', '[]', '"ok"', '{"RejectUpload":', '<html></html>']) {
      const result = await create({ contentType: 'application/json', body });
      assert.equal(result.status, 503, JSON.stringify(body));
    }
  });

  test('field names match case-insensitively, as Go decodes them; a field of the wrong type is a failure', async () => {
    const refused = await create(
      json({ rejectUpload: true, httpResponse: { statusCode: 413, body: 'quota' } }),
    );
    assert.equal(refused.status, 413);
    assert.equal(refused.text, 'TUSGATE_ERR_HOOK_REJECTED: quota\n');
    // Not a refusal that was misspelled into an acceptance: the hook failed.
    const wrongType = await create(json({ RejectUpload: 'true' }));
    assert.equal(wrongType.status, 503);
    assert.match(lastFailure(), /RejectUpload/);
  });

  test('an answer larger than sizeLimit (5 KiB) is a failure; one of exactly 5 KiB is not', async () => {
    const padded = (length: number) => {
      const base = JSON.stringify({ HTTPResponse: { Header: { 'X-Pad': '' } } });
      return json({ HTTPResponse: { Header: { 'X-Pad': 'x'.repeat(length - base.length) } } });
    };
    assert.equal(padded(5 * 1024).body.length, 5 * 1024);
    assert.equal((await create(padded(5 * 1024))).status, 201);
    assert.equal((await create(padded(5 * 1024 + 1))).status, 503);
    assert.match(lastFailure(), /larger than sizeLimit/);
  });

  test('no answer within timeout is a failure', async () => {
    const result = await create(json({}, { delayMs: 3_000 }));
    assert.equal(result.status, 503);
    assert.match(lastFailure(), /timeout|aborted/i);
  });

  test('a non-2xx answer is a failure', async () => {
    assert.equal((await create(json({}, { status: 500 }))).status, 503);
    assert.equal((await create(json({ RejectUpload: false }, { status: 302 }))).status, 503);
  });
});
