import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { createUpload } from '../../helpers/auth.ts';
import { cliEntry, nodeBinary, startGateway } from '../../helpers/gateway.ts';
import { startTusd } from '../../helpers/tusd.ts';
import { alice, cleanups, legacyRoute, tempFolder, tus } from './fixture.ts';

async function creation(collection: string) {
  const created = await fetch(collection, {
    method: 'POST',
    headers: { ...tus, ...alice, 'Upload-Length': '5' },
  });
  await created.arrayBuffer();
  return created;
}

for (const fault of ['removed', 'replaced'] as const) {
  test(`an owner table file ${fault} while tusgate runs fails closed: /readyz 503, creations 503`, {
    timeout: 60_000,
  }, async (t) => {
    const cleanup = cleanups(t);
    const dir = await tempFolder(t, 'tusgate-table-file-');
    const tusd = await startTusd();
    cleanup(() => tusd.stop());
    const path = join(dir, 'owners.sqlite');
    const gw = await startGateway({ affinity: { path }, routes: [legacyRoute(tusd.url)] });
    cleanup(() => gw.stop());
    const collection = `${gw.url}/files/`;
    await createUpload(collection, alice, 5);
    assert.equal((await fetch(`${gw.adminUrl}/readyz`)).status, 200);

    if (fault === 'removed') {
      for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
    } else {
      // A restore: another SQLite file moved over it.
      const other = new DatabaseSync(join(dir, 'restored.sqlite'));
      other.exec('CREATE TABLE t (x)');
      other.close();
      await rename(join(dir, 'restored.sqlite'), path);
    }

    const ready = await fetch(`${gw.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), new RegExp(fault === 'removed' ? 'is gone' : 'was replaced'));
    const created = await creation(collection);
    assert.equal(created.status, 503);
    const uploads = await fetch(`${gw.adminUrl}/metrics`).then((response) => response.text());
    assert.match(uploads, /tusgate_uploads_created_total\{[^}]*\} 1\b/);
  });
}

test('a corrupt owner table at start: one line naming the file and what to do, exit 1', {
  timeout: 60_000,
}, async (t) => {
  const dir = await tempFolder(t, 'tusgate-table-corrupt-');
  const path = join(dir, 'owners.sqlite');
  await writeFile(path, 'this is not an SQLite database, it is a text file that got in the way\n');
  const configFile = join(dir, 'tusgate.yaml');
  await writeFile(
    configFile,
    stringify({
      server: { listen: '127.0.0.1:0', admin: '127.0.0.1:0' },
      affinity: { path },
      routes: [legacyRoute('http://127.0.0.1:9/files/')],
    }),
  );
  const run = spawnSync(nodeBinary, [cliEntry, 'serve', '--config', configFile], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(run.status, 1, run.stderr);
  const lines = run.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0] ?? '', /^tusgate: the owner table .*owners\.sqlite cannot be used/);
  assert.match(lines[0] ?? '', /restore it from a backup, or move it aside/);
});
