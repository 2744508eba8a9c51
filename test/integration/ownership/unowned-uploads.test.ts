import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startGateway } from '../../helpers/gateway.ts';
import { startTusd } from '../../helpers/tusd.ts';
import { alice, bob, cleanups, head, staticAuth, tempFolder, tus } from './fixture.ts';

/** An upload made at tusd directly, as before tusgate: no owner on record. Returns its id. */
async function preTusgateUpload(tusdUrl: string): Promise<string> {
  const response = await fetch(tusdUrl, {
    method: 'POST',
    headers: { ...tus, 'Upload-Length': '5' },
  });
  assert.equal(response.status, 201);
  return new URL(response.headers.get('location') ?? '', tusdUrl).pathname.split('/').pop()!;
}

test('an upload with no owner on record is a 404 unless the route declares it pre-tusgate', {
  timeout: 60_000,
}, async (t) => {
  const cleanup = cleanups(t);
  const dir = await tempFolder(t, 'tusgate-unowned-');
  const tusd = await startTusd();
  cleanup(() => tusd.stop());
  const [listed, unlisted] = [await preTusgateUpload(tusd.url), await preTusgateUpload(tusd.url)];
  const idsFile = join(dir, 'pre-tusgate-ids');
  // As `ls` of tusd's folder gives it: data files, .info files, a comment.
  await writeFile(idsFile, `# before the switch\n${listed}\n${listed}.info\n`);
  const hour = 3_600_000;
  const route = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    match: { pathPrefix: `/${name}/` },
    auth: staticAuth,
    backends: { tusd: { type: 'tusd', url: tusd.url } },
    ...extra,
  });
  const gw = await startGateway({
    affinity: { path: join(dir, 'owners.sqlite') },
    routes: [
      route('closed'),
      route('before', {
        unownedUploads: { allowUntil: new Date(Date.now() + hour).toISOString() },
      }),
      route('after', { unownedUploads: { allowUntil: new Date(Date.now() - hour).toISOString() } }),
      route('listed', { unownedUploads: { idsFile } }),
      { ...route('open'), auth: { type: 'none' } },
    ],
  });
  cleanup(() => gw.stop());
  const status = async (routeName: string, id: string, who: Record<string, string>) =>
    (await head(`${gw.url}/${routeName}/${id}`, who)).status;

  // Default: fail closed.
  assert.equal(await status('closed', listed, alice), 404);
  const body = await (
    await fetch(`${gw.url}/closed/${listed}`, { headers: { ...tus, ...alice } })
  ).text();
  assert.match(body, /^TUSGATE_ERR_UPLOAD_NOT_FOUND: /);
  // Before the cut-off: open to any authenticated principal; after it: gone.
  assert.equal(await status('before', unlisted, alice), 200);
  assert.equal(await status('before', unlisted, bob), 200);
  assert.equal(await status('after', unlisted, alice), 404);
  // Listed ids only.
  assert.equal(await status('listed', listed, bob), 200);
  assert.equal(await status('listed', unlisted, bob), 404);
  // A route without auth has no owner to check.
  assert.equal(await status('open', unlisted, {}), 200);
  // Uploads made through tusgate keep their owner whatever the cut-off says.
  const created = await fetch(`${gw.url}/before/`, {
    method: 'POST',
    headers: { ...tus, ...alice, 'Upload-Length': '5' },
  });
  assert.equal(created.status, 201);
  const own = new URL(created.headers.get('location') ?? '').pathname.split('/').pop()!;
  assert.equal(await status('before', own, bob), 404);
  assert.equal(await status('before', own, alice), 200);
});
