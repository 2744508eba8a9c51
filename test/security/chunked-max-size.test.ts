import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { alice, type HostileSetup, maxSize, startHostileSetup, tus } from './fixture.ts';

/** A chunked body: no Content-Length, so nobody declared how long it is. */
function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) {
        controller.close();
        return;
      }
      const piece = Math.min(64 * 1024, bytes - sent);
      sent += piece;
      controller.enqueue(new Uint8Array(piece).fill(0x62));
    },
  });
}

/** maxSize holds for chunked bodies too, on the proxied route where tusd cannot know it. */
describe('a chunked body past maxSize on a proxied route', () => {
  let setup: HostileSetup;
  before(async () => {
    setup = await startHostileSetup();
  });
  after(async () => {
    await setup?.stop();
  });

  for (const offset of [0, 300 * 1024]) {
    test(`deferred-length upload, PATCH at ${offset}: 413, and tusd never holds more than maxSize`, async () => {
      const created = await fetch(`${setup.origin}/prx/`, {
        method: 'POST',
        headers: { ...tus, ...alice, 'Upload-Defer-Length': '1' },
      });
      assert.equal(created.status, 201, await created.text());
      const url = new URL(created.headers.get('location') ?? '', setup.origin).href;
      const patch = (from: number, body: Buffer | ReadableStream<Uint8Array>, length?: number) =>
        fetch(url, {
          method: 'PATCH',
          headers: {
            ...tus,
            ...alice,
            'Upload-Offset': String(from),
            'Content-Type': 'application/offset+octet-stream',
            ...(length === undefined ? {} : { 'Content-Length': String(length) }),
          },
          body,
          duplex: 'half',
        } as RequestInit);
      if (offset > 0) {
        const first = await patch(0, Buffer.alloc(offset, 0x61), offset);
        assert.equal(first.status, 204, await first.text());
      }

      const over = await patch(offset, chunkedBody(2 * maxSize));
      assert.equal(over.status, 413);
      assert.match(await over.text(), /^TUSGATE_ERR_SIZE_EXCEEDED: /);

      const head = await fetch(url, { method: 'HEAD', headers: { ...tus, ...alice } });
      assert.equal(head.status, 200);
      const kept = Number(head.headers.get('upload-offset'));
      assert.ok(kept >= offset && kept <= maxSize, `tusd kept ${kept} bytes`);
      const id = url.slice(url.lastIndexOf('/') + 1);
      const onDisk = (await stat(join(setup.tusd.dir, id))).size;
      assert.ok(onDisk <= maxSize, `tusd's file holds ${onDisk} bytes, maxSize is ${maxSize}`);
    });
  }

  test('a chunked body within maxSize passes whole', async () => {
    const created = await fetch(`${setup.origin}/prx/`, {
      method: 'POST',
      headers: { ...tus, ...alice, 'Upload-Defer-Length': '1' },
    });
    const url = new URL(created.headers.get('location') ?? '', setup.origin).href;
    const within = await fetch(url, {
      method: 'PATCH',
      headers: {
        ...tus,
        ...alice,
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
      },
      body: chunkedBody(maxSize),
      duplex: 'half',
    } as RequestInit);
    assert.equal(within.status, 204, await within.text());
    assert.equal(within.headers.get('upload-offset'), String(maxSize));
  });
});
