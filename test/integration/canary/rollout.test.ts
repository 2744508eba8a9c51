import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DateShardedStore } from '../../../src/backends/native/store.ts';
import { isNativeUploadId } from '../../../src/backends/native/upload-id.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway, withFreePorts } from '../../helpers/gateway.ts';
import { nativeBase, nativeConfig } from '../../helpers/native.ts';
import { tusUpload } from '../../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

describe('rolling out: existing uploads never move, parallel uploads stay together', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let store: DateShardedStore;
  let source: string;

  const config = (canary: Record<string, unknown> | undefined) =>
    nativeConfig(dir.path, {
      backends: { legacy: { type: 'tusd', url: tusd.url } },
      create: 'legacy',
      route: canary ? { canary: { backend: 'native', ...canary } } : {},
    });
  const reload = (canary: Record<string, unknown> | undefined) =>
    gw.gateway.reload(validateConfig(withFreePorts(config(canary))));
  const endpoint = () => `${gw.url}${nativeBase}`;
  const stored = (url: string) => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return isNativeUploadId(id) ? store.pathsFor(id).data : join(tusd.dir, id);
  };

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-rollout-');
    gw = await startGateway(config({ weight: 50, sticky: 'principal', stickyHeader: 'x-user' }));
    store = new DateShardedStore(
      'main',
      validateConfig(withFreePorts(config(undefined))).stores.main!,
    );
    source = await randomFile(dir.path, 12 * 1024 * 1024);
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  test('uploads begun on each backend at weight 50 complete after 0 %, 100 % and no canary', async () => {
    const begun: string[] = [];
    for (let i = 0; begun.length < 6 && i < 100; i++) {
      const started = await tusUpload(source, {
        endpoint: endpoint(),
        chunkSize: 2 << 20,
        abortAfterBytes: 4 << 20,
        headers: { 'X-User': `user-${i}` },
      });
      const native = isNativeUploadId(started.url.split('/').pop()!);
      if (begun.filter((url) => isNativeUploadId(url.split('/').pop()!) === native).length < 3) {
        begun.push(started.url);
      }
    }
    assert.equal(begun.filter((url) => isNativeUploadId(url.split('/').pop()!)).length, 3);
    const steps = [{ weight: 0 }, { weight: 100 }, undefined];
    for (const [index, url] of begun.entries()) {
      reload(steps[index % 3] === undefined ? undefined : { sticky: 'none', ...steps[index % 3] });
      const done = await tusUpload(source, {
        endpoint: endpoint(),
        uploadUrl: url,
        chunkSize: 2 << 20,
      });
      assert.equal(done.url, url);
      assert.equal(await sha256File(stored(url)), await sha256File(source), url);
    }
  });

  test('50 parallel uploads (4 partials each) at weight 50: partials and final share a backend', async () => {
    // Without auth, partials are placed by the sticky header (else the client address).
    reload({ weight: 50, sticky: 'none', stickyHeader: 'x-user' });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        tusUpload(source, {
          endpoint: endpoint(),
          parallelUploads: 4,
          headers: { 'X-User': `parallel-${i}` },
        }),
      ),
    );
    const expected = await sha256File(source);
    let nativeFinals = 0;
    for (const { url, seenUrls } of results) {
      assert.equal(await sha256File(stored(url)), expected);
      const native = isNativeUploadId(url.split('/').pop()!);
      if (native) nativeFinals++;
      for (const partial of seenUrls) {
        assert.equal(isNativeUploadId(partial.split('/').pop()!), native, 'partials beside final');
      }
    }
    assert.ok(nativeFinals > 0 && nativeFinals < 50, `${nativeFinals} of 50 finals are native`);
  });
});
