import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfigText } from '../../../src/config/load.ts';

const readme = join(import.meta.dirname, '..', '..', '..', 'README.md');
const env = {
  TUSGATE_ADMIN_TOKEN: 'admin-token-0123456789',
  SENTRY_DSN: 'https://public@sentry.example.org/1',
  UPLOAD_TOKEN: 'upload-token-0123456789',
  HOOK_SECRET: 'hook-secret',
  AMQP_PASSWORD: 'amqp-password',
};
const route = (block: string) =>
  `routes:\n  - name: r\n    match: { pathPrefix: /files/ }\n    backends: { t: { type: tusd, url: "http://127.0.0.1:1081/files/" } }\n${block
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')}\n`;

test('every YAML example in the README is a valid config (or a valid route fragment)', async () => {
  const text = await readFile(readme, 'utf8');
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
  assert.ok(blocks.length >= 5, `only ${blocks.length} YAML examples found`);
  for (const block of blocks) {
    // Fragments a reader pastes into a route: auth and hooks blocks.
    let yaml = block;
    if (/^(?:auth|hooks):/m.test(block) && !/^routes:/m.test(block)) {
      yaml = route(block.replace('tokensFile: /etc/tusgate/tokens.yaml', ''));
    }
    assert.doesNotThrow(() => parseConfigText(yaml, env), `README example:\n${block}`);
  }
});
