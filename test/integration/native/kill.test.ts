import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import { cliEntry, nodeBinary } from '../../helpers/gateway.ts';
import { nativeConfig } from '../../helpers/native.ts';
import { freePort, waitForPort } from '../../helpers/ports.ts';
import { tusUpload } from '../../helpers/tus-client.ts';

const size = 200 * 1024 * 1024;
const kills = 20;

test('SIGKILL 20 times during a 200 MiB upload: each restart resumes, the file is intact', {
  timeout: 170_000,
}, async (t) => {
  const dir = await tempDir('tusgate-kill-');
  t.after(() => dir.remove());
  const port = await freePort();
  const adminPort = await freePort();
  const raw = {
    ...nativeConfig(dir.path),
    server: { listen: `127.0.0.1:${port}`, admin: `127.0.0.1:${adminPort}` },
    logging: { level: 'warn', pretty: false },
  };
  const configFile = join(dir.path, 'tusgate.yaml');
  await writeFile(configFile, stringify(raw));
  const store = new DateShardedStore('main', validateConfig(raw).stores.main!);
  const source = await randomFile(dir.path, size);

  let server: ChildProcess | undefined;
  const spawnServer = () => {
    server = spawn(nodeBinary, [cliEntry, 'serve', '--config', configFile], { stdio: 'ignore' });
  };
  const kill = async () => {
    const child = server!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  t.after(() => server?.kill('SIGKILL'));
  /** Bytes of the one upload in the store (0 before it exists). */
  const onDiskOffset = async () => {
    const found = await readdirRecursive(store.root);
    const data = found.find((path) => !path.endsWith('.info') && !path.endsWith('.tmp'));
    return data ? (await stat(data)).size : 0;
  };
  spawnServer();
  await waitForPort(adminPort, 15_000);

  // The client reads at 12 MiB/s so that the 20 kills, each 50-400 ms after the restarted
  // server listens, all land mid-upload; the retries find each new process once it listens.
  const uploading = tusUpload(source, {
    endpoint: `http://127.0.0.1:${port}/files/`,
    chunkSize: 32 * 2 ** 20,
    bytesPerSecond: 12 * 2 ** 20,
    retryDelays: Array(400).fill(100),
    onShouldRetry: () => true,
  });
  let finished = false;
  void uploading.finally(() => {
    finished = true;
  });
  let killed = 0;
  const offsetsAtKill: number[] = [];
  while (killed < kills && !finished) {
    await waitForPort(port, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 350));
    if (finished) break;
    await kill();
    killed++;
    offsetsAtKill.push(await onDiskOffset());
    spawnServer();
  }
  const result = await uploading;
  await kill();
  assert.equal(killed, kills, 'the server was killed 20 times mid-upload');
  const id = result.url.slice(result.url.lastIndexOf('/') + 1);
  assert.equal(await sha256File(store.pathsFor(id).data), await sha256File(source));
  assert.ok(
    offsetsAtKill.every((offset) => offset < size),
    'every kill came mid-upload',
  );
  assert.ok(offsetsAtKill.at(-1)! > 0, 'the upload made progress between kills');
});

async function readdirRecursive(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
