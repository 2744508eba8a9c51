import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { freePort, waitForPort } from './ports.ts';

const fakeGcs = join(import.meta.dirname, '..', '..', '.cache', 'bin', 'fake-gcs-server');

export interface GcsServer {
  endpoint: string;
  bucket: string;
  storage: Storage;
}

/**
 * fake-gcs-server (installed by scripts/ensure-test-deps.sh) in memory on a free loopback port,
 * with one bucket made; stopped when the test ends. A missing binary fails the test.
 */
export async function startGcsServer(t: Pick<TestContext, 'after'>): Promise<GcsServer> {
  await access(fakeGcs).catch(() => {
    throw new Error(`${fakeGcs} is missing: run scripts/ensure-test-deps.sh (npm test does)`);
  });
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let stderr = '';
  const child: ChildProcess = spawn(
    fakeGcs,
    [
      '-scheme',
      'http',
      '-host',
      '127.0.0.1',
      '-port',
      String(port),
      '-backend',
      'memory',
      '-public-host',
      `127.0.0.1:${port}`,
      '-external-url',
      endpoint,
      '-log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  try {
    await waitForPort(port, 20_000);
  } catch (error) {
    throw new Error(`fake-gcs-server did not start: ${stderr}`, { cause: error });
  }
  const storage = new Storage({ apiEndpoint: endpoint, projectId: 'test' });
  const bucket = `tusgate-${randomBytes(4).toString('hex')}`;
  await storage.createBucket(bucket);
  return { endpoint, bucket, storage };
}
