import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../../src/config/load.ts';
import { tempDir } from '../../helpers/files.ts';
import { startGateway, withFreePorts } from '../../helpers/gateway.ts';
import { startTusd } from '../../helpers/tusd.ts';

test('a reload whose pre-tusgate ids file cannot be read is refused, as it would be at start', async (t) => {
  const dir = await tempDir('tusgate-reload-owners-');
  t.after(() => dir.remove());
  const tusd = await startTusd();
  t.after(() => tusd.stop());
  const idsFile = join(dir.path, 'pre-tusgate-ids.txt');
  await writeFile(idsFile, '0123456789abcdef0123456789abcdef\n');
  const raw = (ids: string) => ({
    affinity: { type: 'sqlite', path: join(dir.path, 'owners.sqlite') },
    routes: [
      {
        name: 'legacy',
        match: { pathPrefix: '/files/' },
        auth: { type: 'static', tokens: { 'reload-token-0123456789': 'alice' } },
        backends: { tusd: { type: 'tusd', url: tusd.url } },
        unownedUploads: { idsFile: ids },
      },
    ],
  });
  const gw = await startGateway(raw(idsFile));
  t.after(() => gw.stop());
  const running = gw.gateway.currentConfig;

  const refused = gw.gateway.reload(
    validateConfig(withFreePorts(raw(join(dir.path, 'missing.txt')))),
  );
  assert.equal(refused, false);
  assert.equal(gw.gateway.currentConfig, running, 'the running config stays');
  assert.ok(
    gw.logs().some((line) => /configuration reload refused/.test(String(line.msg))),
    'the refusal is logged',
  );
});
