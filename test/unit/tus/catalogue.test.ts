import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorCatalogue } from '../../../src/errors.ts';
import { projectRoot as root, sourceFiles } from './source-files.ts';

/** Configuration errors are not HTTP answers; they are documented under the table. */
const notAnswers = new Set(['TUSGATE_ERR_CONFIG']);

test('every TUSGATE_ERR_* in src/ is in the catalogue and documented; every catalogue code is used', async () => {
  const docs = await readFile(join(root, 'docs', 'errors.md'), 'utf8');
  const catalogue = new Set(Object.keys(errorCatalogue));
  const used = new Set<string>();
  for (const file of await sourceFiles()) {
    const text = await readFile(file, 'utf8');
    for (const [code] of text.matchAll(/TUSGATE_ERR_[A-Z_]+/g)) {
      if (notAnswers.has(code)) continue;
      assert.ok(catalogue.has(code), `${code} (in ${file}) is not in src/errors.ts`);
    }
    // The catalogue itself is not a use; errors.ts's helpers after it are.
    const uses = file.endsWith(join('src', 'errors.ts'))
      ? text.slice(text.indexOf('export type ErrorCode'))
      : text;
    for (const [code] of uses.matchAll(/TUSGATE_ERR_[A-Z_]+/g)) used.add(code);
  }
  for (const code of catalogue) {
    assert.ok(used.has(code), `${code} is in the catalogue but nothing in src/ uses it`);
    const { status } = errorCatalogue[code as keyof typeof errorCatalogue];
    const row = new RegExp(`^\\|\\s*${code}\\s*\\|\\s*${status}\\s*\\|`, 'm');
    assert.match(docs, row, `${code} is not documented (with its status) in docs/errors.md`);
  }
  for (const code of notAnswers) assert.match(docs, new RegExp(code));
});
