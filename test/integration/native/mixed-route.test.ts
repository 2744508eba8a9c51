import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isNativeUploadId } from '../../../src/backends/native/upload-id.ts';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import { startGateway } from '../../helpers/gateway.ts';
import { nativeBase, startNativeGateway } from '../../helpers/native.ts';
import { tusUpload } from '../../helpers/tus-client.ts';
import { startTusd } from '../../helpers/tusd.ts';

test('adding native to a tusd route: old uploads finish on tusd, new ones go native', {
  timeout: 60_000,
}, async (t) => {
  const files = await tempDir();
  t.after(() => files.remove());
  const tusd = await startTusd();
  t.after(() => tusd.stop());
  const source = await randomFile(files.path, 20 * 1024 * 1024);

  // Before: the route has only tusd.
  const legacyOnly = await startGateway({
    routes: [
      {
        name: 'uploads',
        match: { pathPrefix: nativeBase },
        backends: { legacy: { type: 'tusd', url: tusd.url } },
      },
    ],
  });
  const started = await tusUpload(source, {
    endpoint: `${legacyOnly.url}${nativeBase}`,
    chunkSize: 4 << 20,
    abortAfterBytes: 8 << 20,
  });
  await legacyOnly.stop();
  const legacyId = started.url.slice(started.url.lastIndexOf('/') + 1);
  assert.equal(isNativeUploadId(legacyId), false);

  // After: native is added and takes the creations; the same public URL keeps working.
  const mixed = await startNativeGateway({
    backends: { legacy: { type: 'tusd', url: tusd.url } },
    create: 'native',
  });
  t.after(() => mixed.stopAndRemove());
  const resumedUrl = started.url.replace(legacyOnly.url, mixed.url);
  const resumed = await tusUpload(source, { endpoint: mixed.endpoint, uploadUrl: resumedUrl });
  assert.equal(resumed.url, resumedUrl);
  assert.equal(await sha256File(join(tusd.dir, legacyId)), await sha256File(source));

  const fresh = await tusUpload(source, { endpoint: mixed.endpoint });
  const freshId = fresh.url.slice(fresh.url.lastIndexOf('/') + 1);
  assert.ok(isNativeUploadId(freshId), `${freshId} is a native id`);
  assert.equal(await sha256File(mixed.dataPath(fresh.url)), await sha256File(source));
  const served = mixed.logs().filter((line) => line.msg === 'request');
  assert.ok(served.some((line) => line.backend === 'legacy' && line.method === 'PATCH'));
  assert.ok(served.some((line) => line.backend === 'native' && line.method === 'PATCH'));
});
