import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createUpload } from '../../helpers/auth.ts';
import { startGateway, startGatewayProcess } from '../../helpers/gateway.ts';
import { startTusd } from '../../helpers/tusd.ts';
import { alice, bob, cleanups, head, legacyRoute, patch, tempFolder } from './fixture.ts';

test('owners of proxied uploads survive a restart with the default (sqlite) store', {
  timeout: 60_000,
}, async (t) => {
  const cleanup = cleanups(t);
  const dir = await tempFolder(t, 'tusgate-owners-');
  const tusd = await startTusd();
  cleanup(() => tusd.stop());
  // No affinity type: the default store, in a file of this test's own.
  const path = join(dir, 'state', 'owners.sqlite');
  const config = { affinity: { path }, routes: [legacyRoute(tusd.url)] };

  const first = await startGateway(config);
  const url = await createUpload(`${first.url}/files/`, alice, 10);
  assert.equal((await head(url, bob)).status, 404, 'Bob before the restart');
  await first.stop();
  assert.ok(existsSync(path), 'the owner file was created with its folder');

  const second = await startGateway(config);
  cleanup(() => second.stop());
  const again = url.replace(first.url, second.url);
  assert.equal((await head(again, bob)).status, 404, 'Bob after the restart');
  assert.equal((await patch(again, bob, 0, 'evil!')).status, 404);
  const own = await head(again, alice);
  assert.equal(own.status, 200, 'Alice after the restart');
  assert.equal(own.headers.get('upload-offset'), '0');
  assert.equal((await patch(again, alice, 0, 'hello')).status, 204);
});

test('a killed tusgate process with no affinity config keeps owners in ./data', {
  timeout: 90_000,
}, async (t) => {
  const cleanup = cleanups(t);
  const cwd = await tempFolder(t, 'tusgate-cwd-');
  const tusd = await startTusd();
  cleanup(() => tusd.stop());
  const config = { routes: [legacyRoute(tusd.url)] };

  const first = await startGatewayProcess(config, { cwd });
  cleanup(() => first.stop('SIGKILL'));
  const url = await createUpload(`${first.url}/files/`, alice, 10);
  assert.equal(await first.stop('SIGKILL'), null, 'killed, no clean shutdown');
  assert.ok(existsSync(join(cwd, 'data', 'tusgate-affinity.sqlite')));

  const second = await startGatewayProcess(config, { cwd });
  cleanup(() => second.stop());
  const again = url.replace(first.url, second.url);
  assert.equal((await head(again, bob)).status, 404, 'Bob after the crash');
  assert.equal((await head(again, alice)).status, 200, 'Alice after the crash');
  assert.equal((await patch(again, alice, 0, 'hello')).status, 204);
});
