import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hookEventTypes } from '../../../src/config/schema/hooks.ts';
import { randomFile, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { eventually, type HookReceiver, startHookReceiver } from '../../helpers/hook-receiver.ts';
import { metricValue, scrape } from '../../helpers/metrics.ts';
import { tusUpload } from '../../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const size = 3 * 1024 * 1024 + 5;

describe('HTTP hooks', () => {
  let receiver: HookReceiver;
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let file: string;

  before(async () => {
    receiver = await startHookReceiver();
    tusd = await startTusd();
    dir = await tempDir('tusgate-http-hooks-');
    file = await randomFile(dir.path, size);
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main', progressInterval: '1ms' } },
          hooks: [
            {
              type: 'http',
              url: receiver.url,
              events: [...hookEventTypes],
              forwardHeaders: ['X-Galaxy-User'],
              headers: { 'X-Hook-Secret': 'hook-secret-1' },
              retries: 8,
              retryDelay: '100ms',
            },
          ],
        },
        {
          name: 'posts',
          match: { pathPrefix: '/posts/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [
            {
              type: 'http',
              url: receiver.url,
              events: ['post-create', 'post-finish'],
              retries: 8,
              retryDelay: '100ms',
            },
          ],
        },
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          backends: { tusd: { type: 'tusd', url: tusd.url } },
          hooks: [
            {
              type: 'http',
              url: receiver.url,
              events: ['post-create', 'post-finish', 'post-terminate'],
              observeLegacy: true,
            },
          ],
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

  const eventsOf = (id: string) => receiver.hooks.filter((hook) => hook.Event.Upload.ID === id);

  test('a tus-js-client upload sends every event in order, with tusd fields', async () => {
    const result = await tusUpload(file, {
      endpoint: `${gw.url}/files/`,
      chunkSize: 1024 * 1024,
      metadata: { filename: 'reads.fastq', filetype: 'text/plain' },
      headers: { 'X-Galaxy-User': 'alice' },
    });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    // pre-create runs before the id is final; its ID is the proposed one.
    await eventually(() => eventsOf(id).some((hook) => hook.Type === 'post-finish'));
    const types = eventsOf(id).map((hook) => hook.Type);
    const order: typeof types = [
      'pre-create',
      'post-create',
      'post-receive',
      'pre-finish',
      'post-finish',
    ];
    const firstSeen = order.map((type) => types.indexOf(type));
    assert.ok(
      firstSeen.every((index) => index >= 0),
      `events: ${types.join(', ')}`,
    );
    assert.deepEqual(
      [...firstSeen].sort((a, b) => a - b),
      firstSeen,
      `order: ${types.join(', ')}`,
    );

    const created = eventsOf(id).find((hook) => hook.Type === 'post-create')!;
    assert.deepEqual(created.Event.Upload.MetaData, {
      filename: 'reads.fastq',
      filetype: 'text/plain',
    });
    assert.equal(created.Event.Upload.Size, size);
    assert.equal(created.Event.Upload.SizeIsDeferred, false);
    assert.equal(created.Event.Upload.Offset, 0);
    assert.equal(created.Event.Upload.IsPartial, false);
    assert.equal(created.Event.Upload.IsFinal, false);
    assert.equal(created.Event.Upload.PartialUploads, null);
    assert.equal(created.Event.Upload.Storage?.Type, 'filestore');
    assert.equal(created.Event.HTTPRequest.Method, 'POST');
    assert.equal(created.Event.HTTPRequest.URI, '/files/');
    assert.equal(created.Event.HTTPRequest.RemoteAddr.startsWith('127.0.0.1'), true);
    assert.deepEqual(created.Event.HTTPRequest.Header['Upload-Length'], [String(size)]);
    // Forwarded and fixed headers reach the receiver on the hook request itself.
    assert.equal(created.headers['x-galaxy-user'], 'alice');
    assert.equal(created.headers['x-hook-secret'], 'hook-secret-1');
    assert.equal(created.headers['content-type'], 'application/json');

    const finished = eventsOf(id).find((hook) => hook.Type === 'post-finish')!;
    assert.equal(finished.Event.Upload.Offset, size);
    assert.equal(finished.Event.HTTPRequest.Method, 'PATCH');
    const progress = eventsOf(id).filter((hook) => hook.Type === 'post-receive');
    const offsets = progress.map((hook) => hook.Event.Upload.Offset);
    assert.deepEqual(
      [...offsets].sort((a, b) => a - b),
      offsets,
      'progress offsets grow',
    );
    assert.ok(offsets.every((offset) => offset > 0 && offset <= size));

    const removed = await fetch(result.url, { method: 'DELETE', headers: tus });
    assert.equal(removed.status, 204);
    await eventually(() => eventsOf(id).some((hook) => hook.Type === 'post-terminate'));
    const tail = eventsOf(id)
      .map((hook) => hook.Type)
      .slice(-2);
    assert.deepEqual(tail, ['pre-terminate', 'post-terminate']);
  });

  test('pre-create can reject with its own status, body and headers', async () => {
    receiver.answer('pre-create', 200, {
      RejectUpload: true,
      HTTPResponse: { StatusCode: 413, Body: 'quota exceeded', Header: { 'X-Quota': '0' } },
    });
    try {
      const response = await fetch(`${gw.url}/files/`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': '10' },
      });
      assert.equal(response.status, 413);
      // The hook's status and message; the body's shape and code are the catalogue's.
      assert.equal(await response.text(), 'TUSGATE_ERR_HOOK_REJECTED: quota exceeded\n');
      assert.equal(response.headers.get('x-quota'), '0');
    } finally {
      receiver.answer('pre-create', 200, {});
    }
  });

  test('pre-create ChangeFileInfo replaces the metadata; pre-terminate can refuse', async () => {
    receiver.answer('pre-create', 200, {
      ChangeFileInfo: { MetaData: { filename: 'renamed.txt', owner: 'galaxy' } },
      HTTPResponse: { Header: { 'X-Hooked': 'yes' } },
    });
    receiver.answer('pre-terminate', 200, {
      RejectTermination: true,
      HTTPResponse: { StatusCode: 409, Body: 'still needed' },
    });
    try {
      const created = await fetch(`${gw.url}/files/`, {
        method: 'POST',
        headers: {
          ...tus,
          'Upload-Length': '10',
          'Upload-Metadata': `filename ${Buffer.from('original.txt').toString('base64')}`,
        },
      });
      assert.equal(created.status, 201);
      assert.equal(created.headers.get('x-hooked'), 'yes');
      const url = created.headers.get('location') ?? '';
      const head = await fetch(url, { method: 'HEAD', headers: tus });
      const metadata = Object.fromEntries(
        (head.headers.get('upload-metadata') ?? '').split(',').map((pair) => {
          const [key = '', value = ''] = pair.split(' ');
          return [key, Buffer.from(value, 'base64').toString()];
        }),
      );
      assert.deepEqual(metadata, { filename: 'renamed.txt', owner: 'galaxy' });
      const refused = await fetch(url, { method: 'DELETE', headers: tus });
      assert.equal(refused.status, 409);
      assert.equal(await refused.text(), 'TUSGATE_ERR_HOOK_REJECTED: still needed\n');
      assert.equal((await fetch(url, { method: 'HEAD', headers: tus })).status, 200);
    } finally {
      receiver.answer('pre-create', 200, {});
      receiver.answer('pre-terminate', 200, {});
    }
  });

  test('a failing pre-create hook rejects with 503 (onError: reject)', async () => {
    receiver.answer('pre-create', 500, { error: 'boom' });
    try {
      const response = await fetch(`${gw.url}/files/`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': '10' },
      });
      assert.equal(response.status, 503);
      assert.match(await response.text(), /^TUSGATE_ERR_HOOK_UNAVAILABLE: /);
    } finally {
      receiver.answer('pre-create', 200, {});
    }
  });

  test('a failing pre-finish hook refuses nothing: the upload is complete (onError: reject)', async () => {
    receiver.answer('pre-finish', 500, { error: 'boom' });
    try {
      const created = await fetch(`${gw.url}/files/`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': '3' },
      });
      assert.equal(created.status, 201);
      const url = created.headers.get('location') ?? '';
      const finished = await fetch(url, {
        method: 'PATCH',
        headers: {
          ...tus,
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: 'abc',
      });
      assert.equal(finished.status, 204);
      assert.equal(finished.headers.get('upload-offset'), '3');
      const download = await fetch(url, { headers: tus });
      assert.equal(await download.text(), 'abc');
      assert.ok(
        gw.logs().some((entry) => entry.msg === 'pre-hook failed' && entry.event === 'pre-finish'),
      );
    } finally {
      receiver.answer('pre-finish', 200, {});
    }
  });

  test('post-receive StopUpload ends the PATCH with the hook answer and removes the upload', async () => {
    receiver.answer('post-receive', 200, {
      StopUpload: true,
      HTTPResponse: { StatusCode: 400, Body: 'virus found' },
    });
    try {
      const created = await fetch(`${gw.url}/files/`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': String(64 * 1024 * 1024) },
      });
      const url = created.headers.get('location') ?? '';
      // A slow body: the hook's answer arrives while it is still being sent.
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          controller.enqueue(new Uint8Array(64 * 1024));
        },
      });
      const response = await fetch(url, {
        method: 'PATCH',
        headers: {
          ...tus,
          'Upload-Offset': '0',
          'Content-Type': 'application/offset+octet-stream',
        },
        body,
        duplex: 'half',
      } as RequestInit);
      assert.equal(response.status, 400);
      assert.equal(await response.text(), 'TUSGATE_ERR_UPLOAD_STOPPED: virus found\n');
      assert.equal((await fetch(url, { method: 'HEAD', headers: tus })).status, 404);
    } finally {
      receiver.answer('post-receive', 200, {});
    }
  });

  test('a dead receiver does not hold uploads back, and gets the event when it returns, across a reload', async () => {
    await receiver.stop();
    let id = '';
    try {
      // Only post-* hooks on this route: nothing the upload waits for.
      const result = await tusUpload(file, { endpoint: `${gw.url}/posts/`, chunkSize: size });
      id = result.url.slice(result.url.lastIndexOf('/') + 1);
      assert.equal(eventsOf(id).length, 0);
      // A reload that leaves the hooks alone keeps their queue: a replaced queue would give up
      // on its events 5 s after the reload.
      gw.gateway.reload(gw.gateway.currentConfig);
      await new Promise((resolve) => setTimeout(resolve, 5_500));
    } finally {
      await receiver.start();
    }
    await eventually(() => eventsOf(id).some((hook) => hook.Type === 'post-finish'), 15_000);
    assert.deepEqual(
      eventsOf(id).map((hook) => hook.Type),
      ['post-create', 'post-finish'],
      'each event once, in order',
    );
    const text = await scrape(gw.adminUrl);
    const retries = metricValue(text, 'tusgate_hook_deliveries_total', {
      route: 'posts',
      sink: 'http#0',
      event: 'post-create',
      result: 'retry',
    });
    assert.ok(retries >= 1, `retries: ${retries}`);
  });

  test('uploads on a legacy backend give observed post-create, post-finish and post-terminate', async () => {
    const result = await tusUpload(file, { endpoint: `${gw.url}/legacy/`, chunkSize: 1024 * 1024 });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    assert.equal((await fetch(result.url, { method: 'DELETE', headers: tus })).status, 204);
    await eventually(() => eventsOf(id).some((hook) => hook.Type === 'post-terminate'));
    const events = eventsOf(id);
    assert.deepEqual(
      events.map((hook) => hook.Type),
      ['post-create', 'post-finish', 'post-terminate'],
    );
    assert.ok(events.every((hook) => hook.Observed === true));
    assert.equal(events[1]!.Event.Upload.Offset, size);
    assert.equal(events[0]!.Event.Upload.Storage?.Backend, 'tusd');
  });
});
