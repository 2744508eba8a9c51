import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { tempDir } from './files.ts';
import { freePort, waitForPort } from './ports.ts';

const versitygw = join(import.meta.dirname, '..', '..', '.cache', 'bin', 'versitygw');

export interface S3Server {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The folder versitygw keeps the bucket in (`<dir>/<bucket>/<key>`). */
  dir: string;
  /** A client with the server's root credentials. */
  client: S3Client;
  stop(): Promise<void>;
}

/**
 * Versity Gateway (installed by scripts/ensure-test-deps.sh) on a free loopback port over a fresh
 * folder, with one bucket made; stopped (and the folder removed) when the test ends. A missing
 * binary fails the test: it never skips.
 */
export async function startS3Server(t: Pick<TestContext, 'after'>): Promise<S3Server> {
  await access(versitygw).catch(() => {
    throw new Error(`${versitygw} is missing: run scripts/ensure-test-deps.sh (npm test does)`);
  });
  const dir = await tempDir('tusgate-s3-');
  const port = await freePort();
  const accessKeyId = `test${randomBytes(4).toString('hex')}`;
  const secretAccessKey = randomBytes(16).toString('hex');
  let stderr = '';
  const child: ChildProcess = spawn(versitygw, ['--port', `127.0.0.1:${port}`, 'posix', dir.path], {
    env: { ...process.env, ROOT_ACCESS_KEY: accessKeyId, ROOT_SECRET_KEY: secretAccessKey },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await dir.remove();
  };
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  t.after(stop);
  try {
    await waitForPort(port, 20_000);
  } catch (error) {
    throw new Error(`versitygw did not start: ${stderr}`, { cause: error });
  }
  const bucket = `tusgate-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return { endpoint, bucket, accessKeyId, secretAccessKey, dir: dir.path, client, stop };
}
