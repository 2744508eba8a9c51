import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type HookReceiver, startHookReceiver } from '../helpers/hook-receiver.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

/**
 * A client still sending when tusgate answers (here a post-receive hook stops the upload) must be
 * able to read that answer: the rest of its body is read and dropped, never reset under it.
 */
describe('an answer that comes while the client is still sending', () => {
  let receiver: HookReceiver;
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    receiver = await startHookReceiver();
    tusd = await startTusd();
    receiver.answer('post-receive', 200, {
      StopUpload: true,
      HTTPResponse: { StatusCode: 400, Body: 'virus found' },
    });
    dir = await tempDir('tusgate-early-');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main', progressInterval: '1ms' } },
          hooks: [{ type: 'http', url: receiver.url, events: ['post-receive'] }],
        },
        {
          name: 'proxied',
          match: { pathPrefix: '/legacy/' },
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await receiver?.close();
    await dir?.remove();
  });

  test('a PATCH stopped by a hook mid-body: the client reads the whole 400, then the connection is cut', async () => {
    const size = 256 * 1024 * 1024;
    const created = await fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': String(size) },
    });
    assert.equal(created.status, 201);
    const path = new URL(created.headers.get('location') ?? '').pathname;
    const port = Number(new URL(gw.url).port);

    const socket = connect(port, '127.0.0.1');
    let received = '';
    let receivedBeforeReset: string | undefined;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {
      receivedBeforeReset ??= received;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      `PATCH ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTus-Resumable: 1.0.0\r\n` +
        `Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n` +
        `Content-Length: ${size}\r\n\r\n`,
    );
    // Keep sending, as a client that has not seen the answer yet does, until the gateway cuts.
    const piece = Buffer.alloc(64 * 1024, 0x61);
    const sending = setInterval(() => {
      if (!socket.destroyed) socket.write(piece);
    }, 5);
    const started = Date.now();
    await closed;
    clearInterval(sending);

    // The cut itself may be a reset (the client is still sending): by then it had the answer.
    const answer = receivedBeforeReset ?? received;
    assert.match(answer, /^HTTP\/1\.1 400 /, 'the answer arrived before the connection ended');
    assert.match(answer, /TUSGATE_ERR_UPLOAD_STOPPED: virus found\n$/, 'and all of it');
    assert.doesNotMatch(answer, /Connection: close/i);
    assert.ok(Date.now() - started < 15_000, 'a client that keeps sending is cut after a while');
  });

  test('tusd answers 409 before reading the body: the rest is drained and the connection serves the next request', async () => {
    const created = await fetch(`${gw.url}/legacy/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': String(4 * 1024 * 1024) },
    });
    assert.equal(created.status, 201);
    const path = new URL(created.headers.get('location') ?? '').pathname;
    const port = Number(new URL(gw.url).port);
    const body = Buffer.alloc(1024 * 1024, 0x63);
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    // A wrong offset, the whole body, then a HEAD on the same connection, as a keep-alive client
    // whose body fit in the socket buffers sends them.
    socket.write(
      `PATCH ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTus-Resumable: 1.0.0\r\n` +
        `Content-Type: application/offset+octet-stream\r\nUpload-Offset: 7\r\n` +
        `Content-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body);
    socket.write(
      `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTus-Resumable: 1.0.0\r\n\r\n`,
    );
    const deadline = Date.now() + 4_000;
    while (!/HTTP\/1\.1 200 [\s\S]*Upload-Offset: 0/i.test(received) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    socket.destroy();
    assert.match(received, /^HTTP\/1\.1 409 /, 'the PATCH got its 409');
    assert.match(
      received,
      /HTTP\/1\.1 200 [\s\S]*Upload-Offset: 0/i,
      'the HEAD behind it was answered',
    );
  });
});
