import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { randomFile, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import {
  type GrpcHookServer,
  type ReceivedGrpcHook,
  startGrpcHookServer,
} from '../../helpers/grpc-hook-server.ts';
import { eventually } from '../../helpers/hook-receiver.ts';
import { tusUpload } from '../../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

/**
 * The hook server of these tests, and tusgate's client, both use src/hooks/sinks/grpc/hook.proto.
 * Here the real tusd v2.10.0 (its own generated code for its hook.proto) is the client of that
 * same server: what tusd sends decodes, what the server answers means to tusd what it means to
 * tusgate, and tusgate's calls carry the same fields as tusd's. So a hook server written for tusd
 * works behind tusgate unchanged.
 */
describe('gRPC hooks: the same server behind tusd v2.10.0 and behind tusgate', () => {
  let server: GrpcHookServer;
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let file: string;

  before(async () => {
    server = await startGrpcHookServer();
    dir = await tempDir('tusgate-grpc-tusd-');
    file = await randomFile(dir.path, 200_001);
    tusd = await startTusd({
      extraArgs: [
        '-hooks-grpc',
        server.address,
        '-hooks-enabled-events',
        'pre-create,post-finish',
        '-hooks-grpc-forward-headers',
        'Authorization',
        '-hooks-grpc-retry',
        '0',
      ],
    });
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [
            {
              type: 'grpc',
              url: server.address,
              events: ['pre-create', 'post-finish'],
              forwardHeaders: ['Authorization'],
            },
          ],
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await server?.close();
    await dir?.remove();
  });

  const endpoints = () => ({ tusd: tusd.url, tusgate: `${gw.url}/files/` });
  const idOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);
  const hooksOf = (id: string) =>
    server.hooks.filter((hook) => hook.request.event.upload.id === id);
  /** Which fields a call set (proto3 leaves defaults off the wire), with their types. */
  const shape = (hook: ReceivedGrpcHook) => ({
    upload: Object.keys(hook.request.event.upload).sort(),
    httpRequest: Object.keys(hook.request.event.httpRequest).sort(),
    metadata: Object.keys(hook.metadata)
      .filter((key) => key === 'authorization')
      .sort(),
  });

  test('both send the same HookRequest fields for the same upload', async () => {
    const seen: Record<string, ReceivedGrpcHook> = {};
    for (const [name, endpoint] of Object.entries(endpoints())) {
      const result = await tusUpload(file, {
        endpoint,
        metadata: { filename: 'reads.fastq' },
        headers: { Authorization: 'Bearer t-1' },
      });
      const id = idOf(result.url);
      await eventually(() => hooksOf(id).some((hook) => hook.request.type === 'post-finish'));
      const finished = hooksOf(id).find((hook) => hook.request.type === 'post-finish')!;
      assert.equal(finished.request.event.upload.size, 200_001, name);
      assert.equal(finished.request.event.upload.offset, 200_001, name);
      assert.deepEqual(finished.request.event.upload.metaData, { filename: 'reads.fastq' }, name);
      assert.equal(finished.request.event.upload.storage?.Type, 'filestore', name);
      assert.equal(finished.request.event.httpRequest.method, 'PATCH', name);
      assert.equal(finished.request.event.httpRequest.header?.['Tus-Resumable'], '1.0.0', name);
      assert.deepEqual(finished.metadata.authorization, ['Bearer t-1'], name);
      seen[name] = finished;
    }
    assert.deepEqual(shape(seen.tusgate!), shape(seen.tusd!));
  });

  test('a pre-create rejection (status, body, header) means the same to tusd and tusgate', async () => {
    server.answer('pre-create', {
      response: {
        rejectUpload: true,
        httpResponse: { statusCode: 413, body: 'quota exceeded', header: { 'X-Quota': '0' } },
      },
    });
    try {
      for (const [name, endpoint] of Object.entries(endpoints())) {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers: { ...tus, 'Upload-Length': '10' },
        });
        assert.equal(response.status, 413, name);
        assert.equal(response.headers.get('x-quota'), '0', name);
        // tusd sends the hook's body as is; tusgate in its tus-style error body.
        assert.match(await response.text(), /quota exceeded/, name);
      }
    } finally {
      server.answer('pre-create', { response: {} });
    }
  });

  test('ChangeFileInfo metadata replaces the metadata in both', async () => {
    server.answer('pre-create', {
      response: { changeFileInfo: { metaData: { filename: 'renamed.txt' } } },
    });
    try {
      for (const [name, endpoint] of Object.entries(endpoints())) {
        const created = await fetch(endpoint, {
          method: 'POST',
          headers: {
            ...tus,
            'Upload-Length': '10',
            'Upload-Metadata': `filename ${Buffer.from('original.txt').toString('base64')}`,
          },
        });
        assert.equal(created.status, 201, name);
        const location = new URL(created.headers.get('location') ?? '', endpoint);
        const head = await fetch(location, { method: 'HEAD', headers: tus });
        assert.equal(
          head.headers.get('upload-metadata'),
          `filename ${Buffer.from('renamed.txt').toString('base64')}`,
          name,
        );
      }
    } finally {
      server.answer('pre-create', { response: {} });
    }
  });
});
