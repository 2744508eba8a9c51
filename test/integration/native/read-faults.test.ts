import assert from 'node:assert/strict';
import { rmSync, truncateSync, watch } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { metricValue, scrape } from '../../helpers/metrics.ts';
import { type NativeGateway, startNativeGateway } from '../../helpers/native.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

async function createWithBody(
  endpoint: string,
  body: Buffer,
  headers: Record<string, string> = {},
) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      ...tus,
      'Upload-Length': String(body.length),
      'Content-Type': 'application/offset+octet-stream',
      ...headers,
    },
    body,
  });
  await response.arrayBuffer();
  assert.equal(response.status, 201);
  return response.headers.get('location') as string;
}

describe('native backend: files that change under a request', () => {
  let gw: NativeGateway;

  before(async () => {
    gw = await startNativeGateway();
  });

  after(async () => {
    await gw.stopAndRemove();
  });

  test('a final upload whose partial is deleted during the concatenation is a 404, and is not kept', {
    timeout: 30_000,
  }, async () => {
    const partial = { 'Upload-Concat': 'partial' };
    const first = await createWithBody(gw.endpoint, Buffer.alloc(16 * 1024 * 1024, 0x61), partial);
    const second = await createWithBody(gw.endpoint, Buffer.from('z'), partial);
    const secondData = gw.dataPath(second);
    const ids = [first, second].map((url) => url.slice(url.lastIndexOf('/') + 1));
    // The final upload's files appear after its partials were checked, before they are copied:
    // that is when the second one goes.
    let deleted = false;
    const watcher = watch(dirname(secondData), (_event, name) => {
      if (deleted || name === null || ids.some((id) => name.startsWith(id))) return;
      deleted = true;
      rmSync(`${secondData}.info`, { force: true });
      rmSync(secondData, { force: true });
    });
    try {
      const final = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...tus, 'Upload-Concat': `final;${first} ${second}` },
      });
      const body = await final.text();
      assert.equal(deleted, true, 'the partial was deleted during the request');
      assert.equal(final.status, 404, body);
      assert.match(body, /^TUSGATE_ERR_UPLOAD_NOT_FOUND: /);
      assert.equal(final.headers.get('location'), null);
      const left = (await readdir(dirname(secondData))).filter(
        (name) => !ids.some((id) => name.startsWith(id)),
      );
      assert.deepEqual(left, [], 'the final upload was removed');
    } finally {
      watcher.close();
    }
  });

  test('a download whose data is cut short on disk ends as an error, counted and logged', {
    timeout: 30_000,
  }, async () => {
    const length = 32 * 1024 * 1024;
    const url = await createWithBody(gw.endpoint, Buffer.alloc(length, 0x62));
    const target = new URL(url);
    const socket = connect(Number(target.port), target.hostname);
    socket.on('error', () => {});
    socket.write(
      `GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n${'Tus-Resumable: 1.0.0'}\r\n\r\n`,
    );
    let received = 0;
    let head = '';
    const headSeen = new Promise<void>((resolve) => {
      socket.once('data', (chunk: Buffer) => {
        socket.pause();
        const text = chunk.toString('latin1');
        head = text.slice(0, text.indexOf('\r\n\r\n'));
        received = chunk.length - head.length - 4;
        resolve();
      });
    });
    await headSeen;
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, new RegExp(`Content-Length: ${length}\\r?$`, 'mi'));
    // The file shrinks under the download (a volume fault, an operator's mistake).
    truncateSync(gw.dataPath(url), 1024 * 1024);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.resume();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the connection stayed open after ${received} bytes`)),
          10_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    assert.ok(received < length, `got ${received} of ${length} bytes: a response cut short`);
    const metrics = await scrape(gw.adminUrl);
    assert.equal(
      metricValue(metrics, 'tusgate_backend_errors_total', {
        route: 'uploads',
        backend: 'native',
        kind: 'read',
      }),
      1,
    );
    const logged = gw.logs().find((line) => line.msg === 'download read failed');
    assert.equal(logged?.level, 50);
  });
});
