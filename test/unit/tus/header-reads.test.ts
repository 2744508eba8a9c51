import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { sep } from 'node:path';
import { test } from 'node:test';
import { TUS_REQUEST_HEADERS } from '../../../src/tus/constants.ts';
import { sourceFiles } from './source-files.ts';

/**
 * Only src/tus/ reads tus headers: a second parser elsewhere is how the ownership check and the
 * request a backend received came to disagree. Writing them in responses is fine.
 */
test('no file outside src/tus/ reads a tus request header', async () => {
  const names = TUS_REQUEST_HEADERS.join('|');
  const reads = [
    // headers['upload-length'], headers["tus-resumable"], headersDistinct['upload-concat']
    // (an assignment or delete writes a response header: allowed)
    new RegExp(`(?<!delete\\s+\\w+)\\[\\s*['"\`](?:${names})['"\`]\\s*\\](?!\\s*=[^=])`, 'i'),
    // headerValue(req, 'upload-length'), singleHeader(req, "upload-offset"), getHeader('upload-concat')
    new RegExp(`\\w+\\(\\s*\\w+\\s*,\\s*['"\`](?:${names})['"\`]`, 'i'),
    new RegExp(`(?:headers|getHeader|get)\\s*\\.?\\s*\\(?\\s*['"\`](?:${names})['"\`]`, 'i'),
    // headers.upload-... cannot be written; headers?.['upload-length'] is covered above
  ];
  const offenders: string[] = [];
  for (const file of await sourceFiles()) {
    if (file.includes(`${sep}src${sep}tus${sep}`)) continue;
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.forEach((line, index) => {
      if (reads.some((pattern) => pattern.test(line))) {
        offenders.push(`${file}:${index + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});
