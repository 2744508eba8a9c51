import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { open, stat, writeFile } from 'node:fs/promises';
import { type IncomingMessage, request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import { cliEntry, nodeBinary } from '../../helpers/gateway.ts';
import { nativeConfig } from '../../helpers/native.ts';
import { freePort, waitForPort } from '../../helpers/ports.ts';

const size = 200 * 1024 * 1024;
const kills = 20;
/**
 * Where the server dies: after the first byte, just before the last, and evenly in between, off
 * any power-of-two boundary so no kill lines up with the server's chunks or writes.
 */
const killOffsets = Array.from({ length: kills }, (_, index) => {
  if (index === 0) return 1;
  if (index === kills - 1) return size - 1;
  return Math.floor((size * index) / (kills - 1)) + 4099 * index;
});

test('SIGKILL 20 times during a 200 MiB upload: each restart resumes at the true offset, the file is intact', {
  // 21 starts of the CLI dominate; each takes seconds when the machine is loaded.
  timeout: 300_000,
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
  const endpoint = `http://127.0.0.1:${port}/files/`;

  let server: ChildProcess | undefined;
  const startServer = async () => {
    server = spawn(nodeBinary, [cliEntry, 'serve', '--config', configFile], { stdio: 'ignore' });
    await waitForPort(port, 60_000);
  };
  const killServer = async () => {
    const child = server!;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  t.after(() => server?.kill('SIGKILL'));
  await startServer();

  const created = await fetch(endpoint, {
    method: 'POST',
    headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(size) },
  });
  assert.equal(created.status, 201);
  const url = new URL(created.headers.get('location')!, endpoint).href;
  const dataPath = store.pathsFor(url.slice(url.lastIndexOf('/') + 1)).data;

  let killed = 0;
  for (const killAt of killOffsets) {
    const offset = await headOffset(url);
    // The client sends up to the kill offset and pauses mid-body; once the data file holds every
    // byte sent, the server dies with the request still open.
    const patch = startPatch(url, offset);
    await sendRange(patch, source, offset, killAt);
    await waitForFileSize(dataPath, killAt);
    await killServer();
    killed++;
    await patch.closed;
    assert.equal((await stat(dataPath)).size, killAt, 'no byte the server had written was lost');
    await startServer();
    assert.equal(await headOffset(url), killAt, 'the restarted server resumes at the true offset');
  }

  const offset = await headOffset(url);
  const patch = startPatch(url, offset);
  await sendRange(patch, source, offset, size);
  patch.request.end();
  const response = await patch.response;
  assert.equal(response.statusCode, 204);
  assert.equal(Number(response.headers['upload-offset']), size);
  await killServer();

  assert.equal(killed, kills, 'the server was killed at every planned offset');
  assert.equal(await sha256File(dataPath), await sha256File(source), 'no byte lost or duplicated');
});

async function headOffset(url: string): Promise<number> {
  const response = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
  assert.equal(response.status, 200);
  return Number(response.headers.get('upload-offset'));
}

interface OpenPatch {
  request: ReturnType<typeof request>;
  response: Promise<IncomingMessage>;
  /** Settles once the connection is gone, answered or cut. */
  closed: Promise<void>;
}

/** A PATCH announcing the rest of the upload, whose body the caller writes. */
function startPatch(url: string, offset: number): OpenPatch {
  const req = request(url, {
    method: 'PATCH',
    agent: false,
    headers: {
      'Tus-Resumable': '1.0.0',
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': String(size - offset),
    },
  });
  const response = once(req, 'response').then(([res]) => {
    res.resume();
    return res as IncomingMessage;
  });
  // A killed server cuts the connection: expected, not a failure of the test.
  response.catch(() => {});
  const closed = new Promise<void>((resolve) => {
    req.once('close', resolve);
    req.on('error', () => {});
  });
  return { request: req, response, closed };
}

/** Writes the source's bytes [from, to) into the request body, in 256 KiB pieces. */
async function sendRange(patch: OpenPatch, path: string, from: number, to: number): Promise<void> {
  const handle = await open(path, 'r');
  try {
    for (let position = from; position < to; ) {
      const piece = Buffer.allocUnsafe(Math.min(256 * 1024, to - position));
      const { bytesRead } = await handle.read(piece, 0, piece.length, position);
      position += bytesRead;
      if (!patch.request.write(piece.subarray(0, bytesRead))) await once(patch.request, 'drain');
    }
  } finally {
    await handle.close();
  }
}

/** Resolves once the data file holds `bytes` bytes; the server cannot write more than was sent. */
async function waitForFileSize(path: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const current = (await stat(path)).size;
    if (current === bytes) return;
    assert.ok(current < bytes, `the data file grew past the ${bytes} bytes sent: ${current}`);
    if (Date.now() > deadline) throw new Error(`the data file stayed at ${current} of ${bytes}`);
    await sleep(10);
  }
}
