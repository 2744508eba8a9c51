import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseConfigText } from '../../../src/config/load.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const env = {
  TUSGATE_ADMIN_TOKEN: 'admin-token-0123456789',
  SENTRY_DSN: 'https://public@sentry.example.org/1',
  UPLOAD_TOKEN: 'upload-token-0123456789',
  HOOK_SECRET: 'hook-secret',
  AMQP_PASSWORD: 'amqp-password',
  GALAXY_URL: 'https://galaxy.example.org',
  S3_KEY: 'AKIAEXAMPLE',
  S3_SECRET: 's3-secret-example',
};
/** Keys of a whole config file; a block with none of them is a fragment of a route. */
const topLevelKeys = new Set([
  'server',
  'logging',
  'stores',
  'affinity',
  'locking',
  'sentry',
  'hookJournal',
  'routes',
]);
const legacyBackend = '{ t: { type: tusd, url: "http://127.0.0.1:1081/files/" } }';

/** A block a reader pastes somewhere, made into a whole config. */
function asConfig(block: string): string {
  const keys = Object.keys((parse(block) as Record<string, unknown> | null) ?? {});
  if (keys.includes('routes')) return block;
  if (keys.every((key) => topLevelKeys.has(key))) {
    return `${block}\nroutes:\n  - name: r\n    match: { pathPrefix: /files/ }\n    backends: ${legacyBackend}\n`;
  }
  const indented = block
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  const backends = keys.includes('backends') ? '' : `    backends: ${legacyBackend}\n`;
  const match = keys.includes('match') ? '' : '    match: { pathPrefix: /files/ }\n';
  const name = keys.includes('name') ? '' : '    name: r\n';
  return `routes:\n  - ${(name + match + backends).trimStart()}${indented}\n`;
}

async function markdownFiles(): Promise<string[]> {
  const docs = await readdir(join(root, 'docs'), { recursive: true });
  return [
    join(root, 'README.md'),
    ...docs.filter((name) => name.endsWith('.md')).map((name) => join(root, 'docs', name)),
  ];
}

test('every YAML example in the README and docs/ is a valid config (or a valid fragment)', async () => {
  let count = 0;
  for (const file of await markdownFiles()) {
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      const block = match[1]!;
      // Not every YAML block is a tusgate config (alert rules, compose files): they say so.
      if (block.startsWith('# not a tusgate config')) continue;
      count++;
      const yaml = asConfig(block.replace(/^\s*tokensFile: .*$/m, ''));
      assert.doesNotThrow(
        () => parseConfigText(yaml, env),
        `${relative(root, file)} example:\n${block}`,
      );
    }
  }
  assert.ok(count >= 10, `only ${count} YAML examples found`);
});
