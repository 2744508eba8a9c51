import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { hookEventTypes, hookSchema } from '../../../src/config/schema/hooks.ts';
import { GrpcHookSink } from '../../../src/hooks/sinks/grpc/sink.ts';
import { randomFile, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { type GrpcHookServer, startGrpcHookServer } from '../../helpers/grpc-hook-server.ts';
import { hookEvent } from '../../helpers/hook-event.ts';
import { eventually } from '../../helpers/hook-receiver.ts';
import { metricValue, scrape } from '../../helpers/metrics.ts';
import { tusUpload } from '../../helpers/tus-client.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const size = 3 * 1024 * 1024 + 5;
const secret = 'Bearer client-secret-token-7f3a';

describe('gRPC hooks (tusd hook.proto, tusgate as client)', () => {
  let server: GrpcHookServer;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let file: string;

  before(async () => {
    server = await startGrpcHookServer();
    dir = await tempDir('tusgate-grpc-hooks-');
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
              type: 'grpc',
              url: server.address,
              events: [...hookEventTypes],
              forwardHeaders: ['Authorization', 'X-Galaxy-User'],
              headers: { 'x-hook-secret': 'hook-secret-1' },
              timeout: '2s',
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
              type: 'grpc',
              url: server.address,
              events: ['post-create', 'post-finish'],
              retries: 8,
              retryDelay: '100ms',
            },
          ],
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await server?.close();
    await dir?.remove();
  });

  const eventsOf = (id: string) =>
    server.hooks.filter((hook) => hook.request.event.upload.id === id);
  const create = (headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '10', ...headers },
    });

  test('a tus-js-client upload sends every event in order, with tusd fields and metadata', async () => {
    const result = await tusUpload(file, {
      endpoint: `${gw.url}/files/`,
      chunkSize: 1024 * 1024,
      metadata: { filename: 'reads.fastq', filetype: 'text/plain' },
      headers: { 'X-Galaxy-User': 'alice', Authorization: secret },
    });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    await eventually(() => eventsOf(id).some((hook) => hook.request.type === 'post-finish'));
    const types = eventsOf(id).map((hook) => hook.request.type);
    const order = ['pre-create', 'post-create', 'post-receive', 'pre-finish', 'post-finish'];
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

    const created = eventsOf(id).find((hook) => hook.request.type === 'post-create')!;
    const upload = created.request.event.upload;
    assert.deepEqual(upload.metaData, { filename: 'reads.fastq', filetype: 'text/plain' });
    assert.equal(upload.size, size);
    assert.equal(upload.offset, undefined);
    // Like tusd, tusgate leaves false, 0 and empty lists off the wire.
    assert.equal(upload.sizeIsDeferred, undefined);
    assert.equal(upload.isPartial, undefined);
    assert.equal(upload.isFinal, undefined);
    assert.equal(upload.partialUploads, undefined);
    assert.equal(upload.storage?.Type, 'filestore');
    const request = created.request.event.httpRequest;
    assert.equal(request.method, 'POST');
    assert.equal(request.uri, '/files/');
    assert.ok(request.remoteAddr?.startsWith('127.0.0.1'));
    // One value per header, Go's canonical names, as tusd's gRPC hooks send them.
    assert.equal(request.header?.['Upload-Length'], String(size));
    assert.equal(request.header?.['X-Galaxy-User'], 'alice');
    // Forwarded client headers and fixed headers travel as call metadata.
    assert.deepEqual(created.metadata['x-galaxy-user'], ['alice']);
    assert.deepEqual(created.metadata.authorization, [secret]);
    assert.deepEqual(created.metadata['x-hook-secret'], ['hook-secret-1']);

    const finished = eventsOf(id).find((hook) => hook.request.type === 'post-finish')!;
    assert.equal(finished.request.event.upload.offset, size);
    assert.equal(finished.request.event.httpRequest.method, 'PATCH');
    const offsets = eventsOf(id)
      .filter((hook) => hook.request.type === 'post-receive')
      .map((hook) => hook.request.event.upload.offset ?? 0);
    assert.deepEqual(
      [...offsets].sort((a, b) => a - b),
      offsets,
      'progress offsets grow',
    );

    const removed = await fetch(result.url, { method: 'DELETE', headers: tus });
    assert.equal(removed.status, 204);
    await eventually(() => eventsOf(id).some((hook) => hook.request.type === 'post-terminate'));
    assert.deepEqual(
      eventsOf(id)
        .map((hook) => hook.request.type)
        .slice(-2),
      ['pre-terminate', 'post-terminate'],
    );
  });

  test('pre-create can reject with its own status, body and headers', async () => {
    server.answer('pre-create', {
      response: {
        rejectUpload: true,
        httpResponse: { statusCode: 413, body: 'quota exceeded', header: { 'X-Quota': '0' } },
      },
    });
    try {
      const response = await create();
      assert.equal(response.status, 413);
      assert.equal(await response.text(), 'TUSGATE_ERR_HOOK_REJECTED: quota exceeded\n');
      assert.equal(response.headers.get('x-quota'), '0');
    } finally {
      server.answer('pre-create', { response: {} });
    }
  });

  test('pre-create ChangeFileInfo replaces the metadata and adds headers to the 201', async () => {
    server.answer('pre-create', {
      response: {
        changeFileInfo: { metaData: { filename: 'renamed.txt', owner: 'galaxy' } },
        httpResponse: { header: { 'X-Hooked': 'yes' } },
      },
    });
    try {
      const created = await create({
        'Upload-Metadata': `filename ${Buffer.from('original.txt').toString('base64')}`,
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
    } finally {
      server.answer('pre-create', { response: {} });
    }
  });

  test('an error status or no answer within timeout is a failure: 503, and no secret in the logs', async () => {
    // A server that echoes the credential it was sent in its error text.
    server.answer('pre-create', {
      error: { code: status.INTERNAL, details: `database down (caller ${secret})` },
    });
    try {
      const calls = server.hooks.length;
      const failed = await create({ Authorization: secret });
      assert.equal(failed.status, 503);
      // A pre-* call is made once, not retried.
      assert.equal(server.hooks.length, calls + 1);
      assert.match(await failed.text(), /^TUSGATE_ERR_HOOK_UNAVAILABLE: /);
      server.answer('pre-create', { delayMs: 4_000, response: {} });
      const slow = await create({ Authorization: secret });
      assert.equal(slow.status, 503);
      const failures = gw.logs().filter((line) => line.msg === 'pre-hook failed');
      assert.ok(
        failures.some((line) =>
          JSON.stringify(line).includes('INTERNAL database down (caller [redacted])'),
        ),
        JSON.stringify(failures),
      );
      assert.ok(failures.some((line) => JSON.stringify(line).includes('DEADLINE_EXCEEDED')));
      const all = JSON.stringify(gw.logs());
      assert.ok(!all.includes('client-secret-token-7f3a'), 'a forwarded credential was logged');
    } finally {
      server.answer('pre-create', { response: {} });
    }
  });

  test('an answer larger than sizeLimit (5 KiB) is a failure', async () => {
    server.answer('pre-create', {
      response: { httpResponse: { header: { 'X-Padding': 'x'.repeat(6 * 1024) } } },
    });
    try {
      const response = await create();
      assert.equal(response.status, 503);
      const failure = gw.logs().findLast((line) => line.msg === 'pre-hook failed');
      assert.match(JSON.stringify(failure), /RESOURCE_EXHAUSTED/);
    } finally {
      server.answer('pre-create', { response: {} });
    }
  });

  test('pre-terminate cannot refuse over gRPC (no field for it), but a failing one does', async () => {
    const created = await create();
    const url = created.headers.get('location') ?? '';
    server.answer('pre-terminate', { error: { code: status.UNAVAILABLE, details: 'busy' } });
    try {
      const refused = await fetch(url, { method: 'DELETE', headers: tus });
      assert.equal(refused.status, 503);
      assert.equal((await fetch(url, { method: 'HEAD', headers: tus })).status, 200);
    } finally {
      server.answer('pre-terminate', { response: {} });
    }
    assert.equal((await fetch(url, { method: 'DELETE', headers: tus })).status, 204);
  });

  test('post-receive StopUpload ends the PATCH with the hook answer and removes the upload', async () => {
    server.answer('post-receive', {
      response: { stopUpload: true, httpResponse: { statusCode: 400, body: 'virus found' } },
    });
    try {
      const created = await fetch(`${gw.url}/files/`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': String(64 * 1024 * 1024) },
      });
      const url = created.headers.get('location') ?? '';
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
      server.answer('post-receive', { response: {} });
    }
  });

  test('a forwarded header goes as its first value, and only when metadata can carry it', async () => {
    const config = hookSchema.parse({
      type: 'grpc',
      url: server.address,
      events: ['post-create'],
      forwardHeaders: ['X-Galaxy-User', 'X-Label'],
    });
    assert.ok(config.type === 'grpc');
    const sink = new GrpcHookSink(config, 'grpc#test');
    try {
      await sink.send(hookEvent('post-create', 'forwarded-1'), {
        'X-Galaxy-User': ['bob', 'alice'],
        'X-Label': ['caf\u00e9'],
      });
    } finally {
      await sink.close();
    }
    const call = server.hooks.find((hook) => hook.request.event.upload.id === 'forwarded-1')!;
    assert.deepEqual(call.metadata['x-galaxy-user'], ['bob']);
    assert.equal(call.metadata['x-label'], undefined);
  });

  test('a dead hook server does not hold uploads back, and gets the events in order when it returns', async () => {
    const retries = async () =>
      metricValue(await scrape(gw.adminUrl), 'tusgate_hook_deliveries_total', {
        route: 'posts',
        sink: 'grpc#0',
        event: 'post-create',
        result: 'retry',
      });
    await server.stop();
    let id = '';
    try {
      // Only post-* hooks on this route: nothing the upload waits for.
      const result = await tusUpload(file, { endpoint: `${gw.url}/posts/`, chunkSize: size });
      id = result.url.slice(result.url.lastIndexOf('/') + 1);
      const deadline = Date.now() + 10_000;
      while ((await retries()) < 2) {
        assert.ok(Date.now() < deadline, 'the queue never retried');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(eventsOf(id).length, 0);
    } finally {
      await server.start();
    }
    await eventually(
      () => eventsOf(id).some((hook) => hook.request.type === 'post-finish'),
      15_000,
    );
    assert.deepEqual(
      eventsOf(id).map((hook) => hook.request.type),
      ['post-create', 'post-finish'],
      'each event once, in order',
    );
  });
});
