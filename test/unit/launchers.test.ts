import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gatewayNodeFlags } from '../../bench/lib/servers.ts';

const projectRoot = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFile(join(projectRoot, path), 'utf8');

test('every shipped launcher starts Node with the flags the benchmarks measure', async () => {
  const flags = gatewayNodeFlags.join(' ');
  assert.match(flags, /--max-semi-space-size=\d+/);
  const packageJson = JSON.parse(await read('package.json')) as { scripts: Record<string, string> };
  const launchers: Record<string, string> = {
    'npm start': packageJson.scripts.start!,
    Dockerfile: (await read('Dockerfile'))
      .split('\n')
      .find((line) => line.startsWith('ENTRYPOINT'))!,
    'systemd unit': (await read('deploy/systemd/tusgate.service'))
      .split('\n')
      .find((line) => line.startsWith('ExecStart='))!,
  };
  for (const [launcher, line] of Object.entries(launchers)) {
    const words = line.replace(/[[\]",]/g, ' ').split(/\s+/);
    for (const flag of gatewayNodeFlags) {
      assert.ok(words.includes(flag), `${launcher} lacks ${flag}: ${line}`);
    }
  }
});
