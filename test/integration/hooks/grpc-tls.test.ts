import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../../helpers/files.ts';
import { type GatewayProcess, startGatewayProcess } from '../../helpers/gateway.ts';
import { type GrpcHookServer, startGrpcHookServer } from '../../helpers/grpc-hook-server.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

/**
 * `tls: true` checks the hook server's certificate against the system's roots (here a test CA
 * made trusted with NODE_EXTRA_CA_CERTS, as an operator would add a private CA).
 */
describe('gRPC hooks over TLS', () => {
  let server: GrpcHookServer;
  let dir: { path: string; remove: () => Promise<void> };
  let ca: string;
  const running: GatewayProcess[] = [];

  before(async () => {
    dir = await tempDir('tusgate-grpc-tls-');
    ca = join(dir.path, 'cert.pem');
    const key = join(dir.path, 'key.pem');
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-keyout',
      key,
      '-out',
      ca,
    ]);
    server = await startGrpcHookServer({
      tls: { cert: await readFile(ca), key: await readFile(key) },
    });
  });
  after(async () => {
    for (const gateway of running) await gateway.stop('SIGKILL');
    await server?.close();
    await dir?.remove();
  });

  const gateway = async (env: NodeJS.ProcessEnv) => {
    const port = server.address.slice(server.address.lastIndexOf(':') + 1);
    const started = await startGatewayProcess(
      {
        stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
        routes: [
          {
            name: 'files',
            match: { pathPrefix: '/files/' },
            backends: { native: { type: 'native', store: 'main' } },
            hooks: [{ type: 'grpc', url: `localhost:${port}`, tls: true, events: ['pre-create'] }],
          },
        ],
      },
      { env },
    );
    running.push(started);
    return started;
  };
  const create = (gw: GatewayProcess) =>
    fetch(`${gw.url}/files/`, { method: 'POST', headers: { ...tus, 'Upload-Length': '1' } });

  test('a server whose certificate the system trusts is asked', async () => {
    const gw = await gateway({ NODE_EXTRA_CA_CERTS: ca });
    const before = server.hooks.length;
    assert.equal((await create(gw)).status, 201);
    assert.equal(server.hooks.length, before + 1);
    assert.equal(server.hooks.at(-1)?.request.type, 'pre-create');
  });

  test('a server with a certificate the system does not trust is a failure (503)', async () => {
    const gw = await gateway({ NODE_EXTRA_CA_CERTS: '' });
    const before = server.hooks.length;
    assert.equal((await create(gw)).status, 503);
    assert.equal(server.hooks.length, before);
  });
});
