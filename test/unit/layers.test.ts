import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { projectRoot, sourceFiles } from './tus/source-files.ts';

/**
 * The layers of src/, lowest first. A module may import its own layer and the ones below it,
 * never one above: backends never reach into the gateway, hooks and observability never into
 * backends (README, "Where a change goes"; DESIGN.md, Layout).
 */
const layers: ReadonlyArray<readonly string[]> = [
  ['tus/', 'errors.ts', 'config/', 'version.ts'],
  // refusals.ts restates errors and hook answers (hooks/types.ts), for backends and the gateway.
  ['hooks/', 'observability/', 'refusals.ts'],
  ['backends/'],
  ['gateway/'],
  ['commands/', 'cli.ts', 'cluster/', 'main.ts'],
];

function layerOf(pathInSrc: string): number {
  const index = layers.findIndex((prefixes) =>
    prefixes.some((prefix) => pathInSrc === prefix || pathInSrc.startsWith(prefix)),
  );
  assert.notEqual(
    index,
    -1,
    `${pathInSrc} belongs to no layer: add it to test/unit/layers.test.ts`,
  );
  return index;
}

test('imports in src/ point down the layers, never up', async () => {
  const src = join(projectRoot, 'src');
  const upward: string[] = [];
  for (const file of await sourceFiles()) {
    const from = relative(src, file);
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gms)) {
      const to = relative(src, resolve(dirname(file), match[1]!));
      if (layerOf(to) > layerOf(from)) upward.push(`${from} imports ${to}`);
    }
  }
  assert.deepEqual(upward, []);
});

test('the layer check sees an upward import', () => {
  assert.ok(layerOf('backends/native/store.ts') < layerOf('gateway/pipeline.ts'));
  assert.ok(layerOf('hooks/payload.ts') < layerOf('backends/types.ts'));
});
