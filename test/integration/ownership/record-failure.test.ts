import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { createUpload } from '../../helpers/auth.ts';
import { startGateway } from '../../helpers/gateway.ts';
import { startTusd } from '../../helpers/tusd.ts';
import { alice, bob, cleanups, head, legacyRoute, tempFolder, tus } from './fixture.ts';

test('a creation whose owner cannot be written is refused (503) and its upload terminated', {
  timeout: 60_000,
}, async (t) => {
  const cleanup = cleanups(t);
  const dir = await tempFolder(t, 'tusgate-record-');
  const tusd = await startTusd();
  cleanup(() => tusd.stop());
  const path = join(dir, 'owners.sqlite');
  const gw = await startGateway({ affinity: { path }, routes: [legacyRoute(tusd.url)] });
  cleanup(() => gw.stop());
  const collection = `${gw.url}/files/`;
  const kept = await createUpload(collection, alice, 5);

  // Another writer holds the file's write lock: reads go on, the owner cannot be written.
  const intruder = new DatabaseSync(path);
  cleanup(async () => intruder.close());
  intruder.exec('BEGIN EXCLUSIVE');
  const created = await fetch(collection, {
    method: 'POST',
    headers: {
      ...tus,
      ...alice,
      'Upload-Length': '5',
      'Content-Type': 'application/offset+octet-stream',
    },
    body: 'hello',
  });
  assert.equal(created.status, 503);
  assert.equal(created.headers.get('retry-after'), '5');
  assert.equal(created.headers.get('location'), null);
  assert.match(await created.text(), /^TUSGATE_ERR_OWNERSHIP_UNAVAILABLE: /);
  const uploads = (await readdir(tusd.dir)).filter((name) => !name.endsWith('.info'));
  assert.deepEqual(uploads, [new URL(kept).pathname.split('/').pop()], 'tusd keeps no orphan');
  assert.equal((await head(kept, alice)).status, 200, 'lookups still work');
  assert.equal((await head(kept, bob)).status, 404);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /tusgate_ownership_store_errors_total\{operation="set"\} 1\b/);
  assert.match(
    metrics,
    /tusgate_uploads_created_total\{[^}]*\} 1\b/,
    'only the first creation counts',
  );

  intruder.exec('ROLLBACK');
  const retried = await createUpload(collection, alice, 5);
  assert.equal((await head(retried, bob)).status, 404);
  assert.equal((await head(retried, alice)).status, 200);
});
