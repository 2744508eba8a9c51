import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileLayout, periodEnd } from '../../../src/backends/native/layout.ts';
import {
  isNativeUploadId,
  newUploadId,
  uploadIdTimestamp,
} from '../../../src/backends/native/upload-id.ts';
import {
  formatUploadMetadata,
  parseUploadMetadata,
} from '../../../src/tus/headers/upload-metadata.ts';

describe('UUIDv7 upload ids', () => {
  test('carry their creation time and are recognised', () => {
    const at = Date.UTC(2026, 10, 25, 13, 14, 15, 678);
    const id = newUploadId(at);
    assert.ok(isNativeUploadId(id), id);
    assert.equal(uploadIdTimestamp(id), at);
    assert.notEqual(newUploadId(at), id, 'random bits differ');
  });

  test('the first and last representable milliseconds round-trip; others are refused', () => {
    for (const at of [0, 2 ** 48 - 1]) assert.equal(uploadIdTimestamp(newUploadId(at)), at);
    for (const at of [-1, 2 ** 48, Number.NaN]) assert.throws(() => newUploadId(at), RangeError);
  });

  test('version 7 and variant 10 on every id, random bits differ', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newUploadId(1_700_000_000_000)));
    assert.equal(ids.size, 1000);
    for (const id of ids) {
      assert.equal(id[14], '7');
      assert.match(id[19]!, /[89ab]/);
    }
  });

  test('tusd ids, v4 UUIDs, upper case and traversal are not native ids', () => {
    for (const id of [
      '0123456789abcdef0123456789abcdef',
      '3b241101-e2bb-4255-8caf-4136c566a962',
      newUploadId().toUpperCase(),
      '../../etc/passwd',
      `${newUploadId()}/..`,
      '',
    ]) {
      assert.equal(isNativeUploadId(id), false, id);
    }
  });
});

describe('layouts', () => {
  test('the default layout is year/month/day in UTC', () => {
    const layout = compileLayout('{year}/{month}/{day}');
    assert.equal(layout.folderFor(Date.UTC(2026, 0, 2, 23, 59)), '2026/01/02');
  });

  test('hour tokens and literal text', () => {
    const layout = compileLayout('y{year}/{month}-{day}/{hour}');
    assert.equal(layout.folderFor(Date.UTC(2026, 11, 31, 7)), 'y2026/12-31/07');
    assert.ok(layout.levels[1]!.pattern.test('12-31'));
    assert.ok(!layout.levels[1]!.pattern.test('12-3x'));
  });

  test('period ends', () => {
    assert.equal(periodEnd({ year: 2026 }), Date.UTC(2027, 0, 1));
    assert.equal(periodEnd({ year: 2026, month: 12 }), Date.UTC(2027, 0, 1));
    assert.equal(periodEnd({ year: 2026, month: 2, day: 28 }), Date.UTC(2026, 2, 1));
    assert.equal(periodEnd({ year: 2026, month: 2, day: 28, hour: 23 }), Date.UTC(2026, 2, 1));
    assert.equal(periodEnd({ month: 2 }), null);
  });
});

describe('Upload-Metadata', () => {
  test('round-trips values, empty values and unicode', () => {
    const header = formatUploadMetadata({ filename: 'données.txt', empty: '' });
    assert.deepEqual({ ...parseUploadMetadata(header) }, { filename: 'données.txt', empty: '' });
  });

  test('refuses duplicates, bad base64 and extra parts', () => {
    for (const header of ['a YQ==,a Yg==', 'a !!', 'a b c', ' , ']) {
      assert.throws(
        () => parseUploadMetadata(header),
        /TUSGATE_ERR_INVALID_METADATA|Upload-Metadata/,
        header,
      );
    }
  });
});
