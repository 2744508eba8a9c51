import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { stringify } from 'yaml';
import { DateShardedStore } from '../../src/backends/native/store.ts';
import { validateConfig } from '../../src/config/load.ts';
import { sha256, tempDir } from '../helpers/files.ts';
import { cliEntry, nodeBinary } from '../helpers/gateway.ts';
import { freePort, waitForPort } from '../helpers/ports.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const cycles = 100;
const tus = { 'Tus-Resumable': '1.0.0' };
const sizes = [200 * 1024, 1024 * 1024, 3 * 1024 * 1024, 6 * 1024 * 1024, 10 * 1024 * 1024];

interface TrackedUpload {
  route: '/files/' | '/legacy/';
  data: Buffer;
  url?: string;
  cycles: number;
}

test(`${cycles} SIGKILL/restart cycles of tusgate and tusd mid-body: every upload resumes from the true offset`, {
  timeout: 600_000,
}, async (t) => {
  const dir = await tempDir('tusgate-chaos-');
  t.after(() => dir.remove());
  const port = await freePort();
  const adminPort = await freePort();
  let tusd: RunningTusd = await startTusd();
  const tusdDir = tusd.dir;
  const tusdPort = tusd.port;
  t.after(() => tusd.stop());
  const raw = {
    server: { listen: `127.0.0.1:${port}`, admin: `127.0.0.1:${adminPort}` },
    logging: { level: 'warn', pretty: false },
    stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
    routes: [
      {
        name: 'native',
        match: { pathPrefix: '/files/' },
        backends: { native: { type: 'native', store: 'main' } },
      },
      {
        name: 'legacy',
        match: { pathPrefix: '/legacy/' },
        backends: { tusd: { type: 'tusd', url: tusd.url } },
      },
    ],
  };
  const configFile = join(dir.path, 'tusgate.yaml');
  await writeFile(configFile, stringify(raw));
  const store = new DateShardedStore('main', validateConfig(raw).stores.main!);

  let gateway: ChildProcess | undefined;
  const startGateway = async () => {
    gateway = spawn(nodeBinary, [cliEntry, 'serve', '--config', configFile], {
      cwd: dir.path,
      stdio: 'ignore',
    });
    await waitForPort(port, 15_000);
  };
  const killGateway = async () => {
    const child = gateway!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  t.after(() => gateway?.kill('SIGKILL'));
  await startGateway();

  const uploads: TrackedUpload[] = [];
  for (const size of sizes) {
    for (const route of ['/files/', '/legacy/'] as const) {
      uploads.push({ route, data: randomBytes(size), cycles: 0 });
    }
  }
  const onDisk = async (upload: TrackedUpload): Promise<number> => {
    const id = upload.url!.slice(upload.url!.lastIndexOf('/') + 1);
    const path = upload.route === '/files/' ? store.pathsFor(id).data : join(tusdDir, id);
    return (await stat(path).catch(() => ({ size: 0 }))).size;
  };
  const headOffset = async (url: string): Promise<number> => {
    const response = await request(url, { method: 'HEAD', headers: tus });
    await response.body.dump();
    assert.equal(response.statusCode, 200, `HEAD ${url}`);
    return Number(response.headers['upload-offset']);
  };

  let gatewayKills = 0;
  let tusdKills = 0;
  for (let cycle = 0; cycle < cycles; cycle++) {
    const upload = uploads[cycle % uploads.length]!;
    if (upload.url === undefined) {
      const created = await request(`http://127.0.0.1:${port}${upload.route}`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': String(upload.data.length) },
      });
      await created.body.dump();
      assert.equal(created.statusCode, 201);
      upload.url = new URL(created.headers.location as string, `http://127.0.0.1:${port}`).href;
    }
    const offset = await headOffset(upload.url);
    const size = upload.data.length;
    // Each cycle sends about a twelfth of the file, so ten cycles never finish an upload.
    const step = Math.max(1, Math.min(Math.floor(size / 12), size - offset - 1));
    const patch = httpRequest(upload.url, {
      method: 'PATCH',
      headers: {
        ...tus,
        'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': String(offset),
        'Content-Length': String(size - offset),
      },
    });
    patch.on('error', () => {});
    patch.on('response', (response) => response.resume());
    patch.write(upload.data.subarray(offset, offset + step));
    // Kill only once the server has the bytes, so the restart must resume exactly there.
    const deadline = Date.now() + 15_000;
    while ((await onDisk(upload)) < offset + step) {
      assert.ok(Date.now() < deadline, `cycle ${cycle}: bytes never reached the disk`);
      await sleep(5);
    }
    const killTusd = upload.route === '/legacy/' && upload.cycles % 2 === 1;
    if (killTusd) {
      await tusd.kill();
      tusdKills++;
      tusd = await startTusd({ dir: tusdDir, port: tusdPort });
    } else {
      await killGateway();
      gatewayKills++;
      await startGateway();
    }
    patch.destroy();
    upload.cycles++;
    assert.equal(
      await headOffset(upload.url),
      offset + step,
      `cycle ${cycle}: the offset after the kill is the bytes the server had`,
    );
  }

  for (const upload of uploads) {
    const offset = await headOffset(upload.url!);
    const rest = await request(upload.url!, {
      method: 'PATCH',
      headers: {
        ...tus,
        'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': String(offset),
      },
      body: upload.data.subarray(offset),
    });
    assert.equal(rest.statusCode, 204, await rest.body.text());
    const id = upload.url!.slice(upload.url!.lastIndexOf('/') + 1);
    const path = upload.route === '/files/' ? store.pathsFor(id).data : join(tusdDir, id);
    assert.equal(sha256(await readFile(path)), sha256(upload.data), `${upload.route}${id}`);
  }
  assert.equal(gatewayKills + tusdKills, cycles);
  assert.ok(tusdKills >= 20, `tusd was killed ${tusdKills} times`);
  t.diagnostic(`killed tusgate ${gatewayKills} times and tusd ${tusdKills} times`);
});
