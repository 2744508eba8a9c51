import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { isNativeUploadId } from '../../../src/backends/native/upload-id.ts';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import { startGatewayProcess } from '../../helpers/gateway.ts';
import { nativeBase, nativeConfig } from '../../helpers/native.ts';
import { tusUpload } from '../../helpers/tus-client.ts';
import { startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('hot reload: a valid change applies to new requests without dropping an in-flight upload; an invalid file is refused', {
  timeout: 90_000,
}, async (t) => {
  const dir = await tempDir('tusgate-reload-');
  t.after(() => dir.remove());
  const tusd = await startTusd();
  t.after(() => tusd.stop());
  const raw = (create: string) =>
    nativeConfig(dir.path, { backends: { legacy: { type: 'tusd', url: tusd.url } }, create });
  const gw = await startGatewayProcess(raw('legacy'));
  t.after(() => gw.stop());
  const endpoint = `${gw.url}${nativeBase}`;
  const createdId = async () => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '1' },
    });
    return response.headers.get('location')!.split('/').pop()!;
  };
  const config = () => gw.configFile;
  // The test harness rewrites ports into the file; keep them when rewriting it.
  const { parse } = await import('yaml');
  const { readFile } = await import('node:fs/promises');
  const current = parse(await readFile(config(), 'utf8'));

  assert.ok(!isNativeUploadId(await createdId()), 'creations go to tusd first');
  const source = await randomFile(dir.path, 100 * 1024 * 1024);
  const inFlight = tusUpload(source, {
    endpoint,
    chunkSize: 100 * 2 ** 20,
    bytesPerSecond: 40 * 2 ** 20,
    retryDelays: null,
  });

  await new Promise((resolve) => setTimeout(resolve, 500));
  await writeFile(config(), stringify({ ...current, routes: raw('native').routes }));
  gw.process.kill('SIGHUP');
  await until(async () => isNativeUploadId(await createdId()), 'creations to go native');

  await writeFile(config(), stringify({ ...current, routes: [{ name: 'broken' }] }));
  gw.process.kill('SIGHUP');
  await until(() => gw.output().includes('configuration reload refused'), 'the refusal');
  assert.match(gw.output(), /routes\.0\.match|routes\[0\]\.match/);
  assert.ok(isNativeUploadId(await createdId()), 'the previous config still serves');
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /tusgate_config_reloads_total\{result="failure"\} 1/);
  assert.match(metrics, /tusgate_config_reloads_total\{result="success"\} 1/);

  const finished = await inFlight;
  assert.ok(
    !isNativeUploadId(finished.url.split('/').pop()!),
    'the in-flight upload stayed on tusd',
  );
  assert.equal(
    await sha256File(`${tusd.dir}/${finished.url.split('/').pop()}`),
    await sha256File(source),
  );
});
