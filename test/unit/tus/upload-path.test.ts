import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidUploadId, parseUploadPath } from '../../../src/tus/upload-url.ts';

test('ids of tusd, rustus and native pass', () => {
  for (const id of [
    '290e625bd9e67924d7443c020989a5f4',
    '0193a5b2-7c4e-7d3a-9f1e-2b3c4d5e6f70',
    'abc+def',
    'a.b',
  ]) {
    assert.ok(isValidUploadId(id), id);
  }
});

test('traversal, encodings, separators and NUL are refused', () => {
  for (const id of [
    '..',
    '.',
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e',
    'a/b',
    'a\\b',
    'a\0b',
    '%00',
    '%252e%252e',
    '.hidden',
    'a..b',
    '/etc/passwd',
    'x'.repeat(201),
    '',
  ]) {
    assert.equal(isValidUploadId(id), false, JSON.stringify(id));
  }
});

test('parseUploadPath splits collection, upload and invalid', () => {
  assert.deepEqual(parseUploadPath(''), { kind: 'collection' });
  assert.deepEqual(parseUploadPath('abc'), { kind: 'upload', id: 'abc' });
  assert.deepEqual(parseUploadPath('abc/def'), { kind: 'invalid' });
  assert.deepEqual(parseUploadPath('..%2F..'), { kind: 'invalid' });
});
