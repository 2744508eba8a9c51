import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..', '..');
const read = (path: string) => readFile(join(root, path), 'utf8');

test('README, package.json engines and the start-up check name the same minimum Node', async () => {
  const engines = (JSON.parse(await read('package.json')) as { engines: { node: string } }).engines
    .node;
  const minimum = Number(/^>=(\d+)$/.exec(engines)?.[1]);
  assert.ok(minimum >= 24, `engines.node is ${engines}`);
  const entry = await read('src/main.ts');
  assert.match(entry, new RegExp(`const minimumMajor = ${minimum};`));
  const readme = await read('README.md');
  assert.match(readme, new RegExp(`tusgate runs on Node ${minimum} or later`));
  // No statement that tusgate (or its quick start) runs on an older Node.
  for (const [, version] of readme.matchAll(/Node (?:≥|>=) ?(\d+)/g)) {
    assert.ok(Number(version) >= minimum, `README says Node ≥ ${version}`);
  }
});
