import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { S3Store } from '../../../src/backends/native/object/s3-store.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { randomFile, sha256, sha256File, tempDir } from '../../helpers/files.ts';
import { cliEntry, nodeBinary, startGateway } from '../../helpers/gateway.ts';
import { freePort, waitForPort } from '../../helpers/ports.ts';
import { type S3Server, startS3Server } from '../../helpers/s3-server.ts';
import { tusUpload, tusUploadBuffer } from '../../helpers/tus-client.ts';

const MiB = 1024 * 1024;

/** A native route on an s3 store of `s3`. */
function s3Config(s3: S3Server, extra: Record<string, unknown> = {}) {
  return {
    stores: {
      objects: {
        type: 's3',
        bucket: s3.bucket,
        prefix: 'tus/',
        endpoint: s3.endpoint,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        forcePathStyle: true,
        partSize: '5MiB',
        expiresAfter: '2d',
        ...extra,
      },
    },
    routes: [
      {
        name: 'uploads',
        match: { pathPrefix: '/files/' },
        maxSize: '1GiB',
        backends: { native: { type: 'native', store: 'objects' } },
        create: 'native',
      },
    ],
  };
}

function storeOf(raw: Record<string, unknown>): S3Store {
  return new S3Store('objects', validateConfig(raw).stores.objects as never);
}

async function objectHash(s3: S3Server, store: S3Store, url: string): Promise<string> {
  const object = await s3.client.send(
    new GetObjectCommand({ Bucket: s3.bucket, Key: store.keyOf(idOf(url)) }),
  );
  const digest = createHash('sha256');
  for await (const chunk of object.Body as AsyncIterable<Buffer>) digest.update(chunk);
  return digest.digest('hex');
}

const idOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, headers: { 'Tus-Resumable': '1.0.0', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('tus-js-client through the native backend on S3 (Versity Gateway)', {
  timeout: 600_000,
}, async (t) => {
  const s3 = await startS3Server(t);
  const raw = s3Config(s3);
  const store = storeOf(raw);
  t.after(() => store.client.destroy());
  const gateway = await startGateway(raw);
  t.after(() => gateway.stop());
  t.after(() => {
    for (const line of gateway.logs())
      if (Number(line.level) >= 50) console.error(JSON.stringify(line).slice(0, 1500));
  });
  const endpoint = `${gateway.url}/files/`;
  const dir = await tempDir('tusgate-s3-e2e-');
  t.after(() => dir.remove());

  await t.test('empty and 1-byte uploads', async () => {
    for (const data of [Buffer.alloc(0), Buffer.from('x')]) {
      const { url } = await tusUploadBuffer(data, { endpoint });
      assert.equal(await objectHash(s3, store, url), sha256(data));
    }
  });

  await t.test('50 MiB in 5 MiB chunks; the object’s sha256 is the file’s', async () => {
    const file = await randomFile(dir.path, 50 * MiB);
    const { url } = await tusUpload(file, { endpoint, chunkSize: 5 * MiB });
    assert.equal(await objectHash(s3, store, url), await sha256File(file));
  });

  await t.test(
    '1 MiB chunks, smaller than a part, kept as the incomplete part between PATCHes',
    async () => {
      const file = await randomFile(dir.path, 12 * MiB + 7, 'small-chunks');
      const offsets: number[] = [];
      const { url } = await tusUpload(file, {
        endpoint,
        chunkSize: MiB,
        onAfterResponseOffset: (offset) => offsets.push(offset),
      });
      assert.equal(offsets.at(-1), 12 * MiB + 7);
      assert.equal(await objectHash(s3, store, url), await sha256File(file));
    },
  );

  await t.test('abort and resume from the offset HEAD reports', async () => {
    const file = await randomFile(dir.path, 14 * MiB, 'resume');
    const first = await tusUpload(file, { endpoint, chunkSize: 3 * MiB, abortAfterBytes: 6 * MiB });
    assert.ok(first.aborted);
    const head = await send(first.url, 'HEAD', {});
    assert.equal(head.headers['upload-offset'], String(6 * MiB));
    const { url } = await tusUpload(file, { endpoint, chunkSize: 3 * MiB, uploadUrl: first.url });
    assert.equal(url, first.url);
    assert.equal(await objectHash(s3, store, url), await sha256File(file));
  });

  await t.test('parallelUploads: partials concatenated on S3', async () => {
    const file = await randomFile(dir.path, 24 * MiB + 3, 'parallel');
    const { url } = await tusUpload(file, { endpoint, parallelUploads: 3, chunkSize: 6 * MiB });
    assert.equal(await objectHash(s3, store, url), await sha256File(file));
  });

  await t.test('a checksum mismatch keeps nothing of the body', async () => {
    const created = await send(endpoint, 'POST', { 'Upload-Length': String(7 * MiB) });
    const url = String(created.headers.location);
    const body = Buffer.alloc(6 * MiB, 1);
    const patch = await send(
      url,
      'PATCH',
      {
        'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': '0',
        'Upload-Checksum': `sha1 ${createHash('sha1').update('other').digest('base64')}`,
      },
      body,
    );
    assert.equal(patch.status, 460);
    const head = await send(url, 'HEAD', {});
    assert.equal(head.headers['upload-offset'], '0');
  });

  await t.test('DELETE leaves no object and no multipart upload', async () => {
    const file = await randomFile(dir.path, 8 * MiB, 'deleted');
    const { url } = await tusUpload(file, {
      endpoint,
      chunkSize: 6 * MiB,
      abortAfterBytes: 6 * MiB,
    });
    assert.equal((await send(url, 'DELETE', {})).status, 204);
    assert.equal((await send(url, 'HEAD', {})).status, 404);
    const left = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: store.keyOf(idOf(url)) }),
    );
    assert.deepEqual(left.Contents ?? [], []);
  });

  await t.test('expiry removes a whole day prefix', async () => {
    const { url } = await tusUploadBuffer(Buffer.from('expires'), { endpoint });
    const folder = store.folderOf(idOf(url));
    const report = await store.expire({ now: Date.now() + 4 * 24 * 3_600_000 });
    assert.ok(report.removedFolders.includes(folder));
    // Gone from the bucket (the server's own clock has not reached the TTL: 404, not 410).
    assert.equal((await send(url, 'HEAD', {})).status, 404);
  });
});

test('SIGKILL of tusgate mid-PATCH on S3: the client resumes, the object is intact', {
  timeout: 300_000,
}, async (t) => {
  const s3 = await startS3Server(t);
  const dir = await tempDir('tusgate-s3-kill-');
  t.after(() => dir.remove());
  const port = await freePort();
  const adminPort = await freePort();
  const raw = {
    ...s3Config(s3),
    server: { listen: `127.0.0.1:${port}`, admin: `127.0.0.1:${adminPort}` },
    logging: { level: 'warn', pretty: false },
  };
  const store = storeOf(raw);
  t.after(() => store.client.destroy());
  const configFile = join(dir.path, 'tusgate.yaml');
  await writeFile(configFile, stringify(raw));
  let server: ChildProcess | undefined;
  const startServer = async () => {
    server = spawn(nodeBinary, [cliEntry, 'serve', '--config', configFile], { stdio: 'ignore' });
    await waitForPort(port, 60_000);
  };
  t.after(() => server?.kill('SIGKILL'));
  await startServer();
  const file = await randomFile(dir.path, 30 * MiB);
  const endpoint = `http://127.0.0.1:${port}/files/`;
  let killed = false;
  const acknowledged: number[] = [];
  const { url } = await tusUpload(file, {
    endpoint,
    chunkSize: 30 * MiB,
    retryDelays: [200, 500, 1000, 2000, 3000, 5000],
    onAfterResponseOffset: (offset) => acknowledged.push(offset),
    onProgress: (sent) => {
      if (killed || sent < 13 * MiB) return;
      killed = true;
      const child = server!;
      void (async () => {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
        await startServer();
      })();
    },
  });
  assert.ok(killed);
  // The HEAD after the kill reported what S3 holds: whole parts (and a kept tail), never more.
  const resumedAt = acknowledged.find((offset) => offset > 0 && offset < 30 * MiB);
  assert.ok(resumedAt === undefined || resumedAt <= 13 * MiB + 2 * MiB, String(resumedAt));
  assert.equal(await objectHash(s3, store, url), await sha256File(file));
});
