import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { randomFile, sha256, sha256File, tempDir } from '../../helpers/files.ts';
import { metricValue, scrape } from '../../helpers/metrics.ts';
import { type NativeGateway, startNativeGateway } from '../../helpers/native.ts';

const run = promisify(execFile);
const nativeLabels = { route: 'uploads', backend: 'native' };
const tus = { 'Tus-Resumable': '1.0.0' };
const octets = { ...tus, 'Content-Type': 'application/offset+octet-stream' };

/** Mount points made by these tests, unmounted after each (the tests run as root). */
const mounted: string[] = [];

async function mountCommand(...args: string[]): Promise<void> {
  try {
    await run('mount', args);
  } catch (error) {
    // Never skip: without the mount there is no fault to test.
    throw new Error(`mount ${args.join(' ')} failed (these tests need root)`, { cause: error });
  }
}

async function mountTmpfs(dir: string, size: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await mountCommand('-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir);
  mounted.push(dir);
}

async function bindMount(source: string, target: string): Promise<void> {
  await mkdir(source, { recursive: true });
  await mkdir(target, { recursive: true });
  await mountCommand('--bind', source, target);
  mounted.push(target);
}

const remount = (dir: string, mode: 'ro' | 'rw') => mountCommand('-o', `remount,${mode},bind`, dir);

async function unmountAll(): Promise<void> {
  while (mounted.length > 0) {
    const dir = mounted.pop()!;
    await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
  }
}

/** Writes zeros into `path` until the file system is full (or `limit` bytes are written). */
async function fill(path: string, limit = Number.POSITIVE_INFINITY): Promise<void> {
  const handle = await open(path, 'w');
  const block = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    while (written < limit) {
      const length = Math.min(block.length, limit - written);
      written += (await handle.write(block, 0, length, written)).bytesWritten;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

/** Every file (not folder) under `dir`, relative. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

async function readiness(gw: NativeGateway) {
  const response = await fetch(`${gw.adminUrl}/readyz`);
  const body = (await response.json()) as {
    checks: { name: string; ok: boolean; error?: string }[];
  };
  return { status: response.status, native: body.checks.find((c) => c.name === 'uploads/native') };
}

function assertTusError(response: Response, text: string, status: number, code: string) {
  assert.equal(response.status, status, text);
  assert.match(text, new RegExp(`^${code}: `));
  assert.equal(response.headers.get('tus-resumable'), '1.0.0');
}

describe('native backend: storage faults', () => {
  let gw: NativeGateway | undefined;
  let dir: { path: string; remove: () => Promise<void> } | undefined;

  afterEach(async () => {
    await gw?.stopAndRemove();
    gw = undefined;
    await unmountAll();
    await dir?.remove();
    dir = undefined;
  });
  after(unmountAll);

  async function start(root: string) {
    dir ??= await tempDir('tusgate-faults-');
    gw = await startNativeGateway({ store: { root, handoffDir: join(dir.path, 'handoff') } });
    return gw;
  }

  const create = async (gw: NativeGateway, length: number) => {
    const response = await fetch(gw.endpoint, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': String(length) },
    });
    assert.equal(response.status, 201, await response.text());
    return response.headers.get('location')!;
  };
  const patch = (url: string, offset: number, body: Buffer | string) =>
    fetch(url, { method: 'PATCH', headers: { ...octets, 'Upload-Offset': String(offset) }, body });
  const headOffset = async (url: string) =>
    Number((await fetch(url, { method: 'HEAD', headers: tus })).headers.get('upload-offset'));

  test('a full disk mid-PATCH: 507, the offset is the bytes on disk, and the upload resumes', async () => {
    dir = await tempDir('tusgate-faults-');
    const mnt = join(dir.path, 'mnt');
    await mountTmpfs(mnt, '8m');
    const gw = await start(join(mnt, 'store'));
    // Most of the body is still to come when the disk fills: the client must get the answer,
    // not a reset connection.
    const source = await randomFile(dir.path, 6 * 1024 * 1024);
    const bytes = await readFile(source);
    const url = await create(gw, bytes.length);
    // Leave about 512 KiB: the body runs out of room early.
    const { bavail, bsize } = await statfs(mnt);
    await fill(join(mnt, 'filler'), bavail * bsize - 512 * 1024);

    const full = await patch(url, 0, bytes);
    assertTusError(full, await full.text(), 507, 'TUSGATE_ERR_STORAGE_FULL');
    const offset = await headOffset(url);
    assert.equal(offset, (await stat(gw.dataPath(url))).size, 'HEAD says what is on disk');
    assert.ok(offset > 0 && offset < bytes.length, `offset ${offset}`);
    assert.ok(bytes.subarray(0, offset).equals((await readFile(gw.dataPath(url))).subarray(0)));
    assert.deepEqual(await filesUnder(gw.handoffDir), [], 'nothing handed off');

    await rm(join(mnt, 'filler'));
    const resumed = await patch(url, offset, bytes.subarray(offset));
    assert.equal(resumed.status, 204, await resumed.text());
    assert.equal(resumed.headers.get('upload-offset'), String(bytes.length));
    assert.equal(await sha256File(gw.dataPath(url)), sha256(bytes));
    const id = url.slice(url.lastIndexOf('/') + 1);
    assert.equal(await sha256File(join(gw.handoffDir, id)), sha256(bytes));
    const logged = gw.logs().find((line) => line.msg === 'upload store fault');
    assert.equal(logged?.level, 50, 'logged at error level');
    const metrics = await scrape(gw.adminUrl);
    const errors = { ...nativeLabels, kind: 'storage_full' };
    assert.equal(metricValue(metrics, 'tusgate_backend_errors_total', errors), 1);
  });

  test('a full disk at creation: 507 and no file left behind', async () => {
    dir = await tempDir('tusgate-faults-');
    const mnt = join(dir.path, 'mnt');
    await mountTmpfs(mnt, '2m');
    const root = join(mnt, 'store');
    const gw = await start(root);
    await create(gw, 4); // today's folder exists: the creation fails on the info, not the folder
    const before = await filesUnder(root);
    await fill(join(mnt, 'filler'));

    for (const body of [undefined, 'abcd']) {
      const response = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...(body ? octets : tus), 'Upload-Length': '4' },
        body,
      });
      assertTusError(response, await response.text(), 507, 'TUSGATE_ERR_STORAGE_FULL');
      assert.equal(response.headers.get('location'), null);
      assert.deepEqual(await filesUnder(root), before, 'no orphan data or info file');
    }

    await rm(join(mnt, 'filler'));
    const url = await create(gw, 4);
    assert.equal((await patch(url, 0, 'abcd')).status, 204);
  });

  test('a creation-with-upload whose body runs out of room: 507 with Location, resumable', async () => {
    dir = await tempDir('tusgate-faults-');
    const mnt = join(dir.path, 'mnt');
    await mountTmpfs(mnt, '2m');
    const gw = await start(join(mnt, 'store'));
    await create(gw, 1);
    const bytes = await readFile(await randomFile(dir.path, 1024 * 1024));
    const { bavail, bsize } = await statfs(mnt);
    await fill(join(mnt, 'filler'), bavail * bsize - 256 * 1024);

    const response = await fetch(gw.endpoint, {
      method: 'POST',
      headers: { ...octets, 'Upload-Length': String(bytes.length) },
      body: bytes,
    });
    assertTusError(response, await response.text(), 507, 'TUSGATE_ERR_STORAGE_FULL');
    const url = response.headers.get('location') ?? '';
    assert.ok(url.startsWith(gw.endpoint), `Location: ${url}`);
    const offset = await headOffset(url);
    assert.equal(offset, (await stat(gw.dataPath(url))).size);

    await rm(join(mnt, 'filler'));
    assert.equal((await patch(url, offset, bytes.subarray(offset))).status, 204);
    assert.equal(await sha256File(gw.dataPath(url)), sha256(bytes));
  });

  test('a read-only store: 503 with Retry-After, not ready; writable again: works again', async () => {
    dir = await tempDir('tusgate-faults-');
    const root = join(dir.path, 'store');
    await bindMount(join(dir.path, 'volume'), root);
    const gw = await start(root);
    const url = await create(gw, 6);
    const doomed = await create(gw, 1);
    assert.equal((await patch(url, 0, 'abc')).status, 204);
    assert.equal((await readiness(gw)).status, 200);

    await remount(root, 'ro');
    const attempts = [
      () => fetch(gw.endpoint, { method: 'POST', headers: { ...tus, 'Upload-Length': '1' } }),
      () => patch(url, 3, 'def'),
      () => fetch(doomed, { method: 'DELETE', headers: tus }),
    ];
    for (const attempt of attempts) {
      const response = await attempt();
      assertTusError(response, await response.text(), 503, 'TUSGATE_ERR_STORAGE_UNAVAILABLE');
      assert.ok(Number(response.headers.get('retry-after')) > 0, 'Retry-After');
    }
    assert.equal(await headOffset(url), 3, 'reads still work, the offset is unchanged');
    const notReady = await readiness(gw);
    assert.equal(notReady.status, 503);
    assert.equal(notReady.native?.ok, false);
    assert.match(notReady.native?.error ?? '', /EROFS/);
    const metrics = await scrape(gw.adminUrl);
    assert.equal(metricValue(metrics, 'tusgate_backend_up', nativeLabels), 0);
    const errors = { ...nativeLabels, kind: 'storage_unavailable' };
    assert.equal(metricValue(metrics, 'tusgate_backend_errors_total', errors), 3);

    await remount(root, 'rw');
    assert.equal((await readiness(gw)).status, 200);
    assert.equal((await patch(url, 3, 'def')).status, 204);
    assert.equal((await fetch(doomed, { method: 'DELETE', headers: tus })).status, 204);
    await create(gw, 1);
  });

  test('a vanished store root: 503 and not ready, never silently recreated', async () => {
    dir = await tempDir('tusgate-faults-');
    const root = join(dir.path, 'store');
    const gw = await start(root);
    const url = await create(gw, 3);
    assert.equal((await readiness(gw)).status, 200);

    await rename(root, join(dir.path, 'unmounted'));
    const head = await fetch(url, { method: 'HEAD', headers: tus });
    assert.equal(head.status, 503, 'not a 404: the upload is not unknown, the store is gone');
    assert.ok(head.headers.get('retry-after'));
    const post = await fetch(gw.endpoint, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '1' },
    });
    assertTusError(post, await post.text(), 503, 'TUSGATE_ERR_STORAGE_UNAVAILABLE');
    const notReady = await readiness(gw);
    assert.equal(notReady.status, 503);
    assert.match(notReady.native?.error ?? '', /vanished/);
    await assert.rejects(stat(root), { code: 'ENOENT' }, 'the root was not recreated');

    await rename(join(dir.path, 'unmounted'), root);
    assert.equal((await readiness(gw)).status, 200);
    assert.equal((await patch(url, 0, 'abc')).status, 204);
  });
});
