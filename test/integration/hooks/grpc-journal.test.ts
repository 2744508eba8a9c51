import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { randomFile, tempDir } from '../../helpers/files.ts';
import { type GatewayProcess, startGatewayProcess } from '../../helpers/gateway.ts';
import { type GrpcHookServer, startGrpcHookServer } from '../../helpers/grpc-hook-server.ts';
import { eventually } from '../../helpers/hook-receiver.ts';
import { tusUpload } from '../../helpers/tus-client.ts';

/** The built CLI (dist/, with the hook.proto the build copies) and the hook journal, over gRPC. */
describe('gRPC hooks: the journal', () => {
  let server: GrpcHookServer;
  let dir: { path: string; remove: () => Promise<void> };
  let file: string;
  let config: Record<string, unknown>;
  const running: GatewayProcess[] = [];

  before(async () => {
    server = await startGrpcHookServer();
    dir = await tempDir('tusgate-grpc-journal-');
    file = await randomFile(dir.path, 100_003);
    config = {
      hookJournal: join(dir.path, 'journal'),
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'files',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [
            {
              type: 'grpc',
              url: server.address,
              events: ['post-create', 'post-finish'],
              retries: 50,
              retryDelay: '50ms',
            },
          ],
        },
      ],
    };
  });
  after(async () => {
    for (const gateway of running) await gateway.stop('SIGKILL');
    await server?.close();
    await dir?.remove();
  });

  const start = async () => {
    const gateway = await startGatewayProcess(config);
    running.push(gateway);
    return gateway;
  };
  const typesOf = (id: string) =>
    server.hooks
      .filter((hook) => hook.request.event.upload.id === id)
      .map((hook) => hook.request.type);

  test('events owed when the process is killed go to the gRPC server after the restart', async () => {
    await server.stop();
    const first = await start();
    const result = await tusUpload(file, { endpoint: `${first.url}/files/` });
    const id = result.url.slice(result.url.lastIndexOf('/') + 1);
    await first.stop('SIGKILL');
    await server.start();
    assert.deepEqual(typesOf(id), []);
    const second = await start();
    await eventually(() => typesOf(id).includes('post-finish'), 15_000);
    assert.deepEqual(typesOf(id), ['post-create', 'post-finish']);
    await second.stop();
  });
});
