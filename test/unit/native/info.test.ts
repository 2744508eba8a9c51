import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { type UploadInfo, writeInfo } from '../../../src/backends/native/info.ts';
import { tempDir } from '../../helpers/files.ts';

function infoOf(size: number): UploadInfo {
  return {
    ID: 'x',
    Size: size,
    SizeIsDeferred: false,
    Offset: 0,
    MetaData: {},
    IsPartial: false,
    IsFinal: false,
    PartialUploads: null,
    Storage: { Type: 'filestore', Path: '/x', InfoPath: '/x.info' },
  };
}

test('concurrent info writes to one path each use a temporary file of their own', async () => {
  const dir = await tempDir('tusgate-info-');
  try {
    const path = join(dir.path, 'upload.info');
    await Promise.all(Array.from({ length: 50 }, (_, size) => writeInfo(path, infoOf(size))));
    assert.deepEqual(await readdir(dir.path), ['upload.info'], 'no temporary file is left');
    const written = JSON.parse(await readFile(path, 'utf8')) as UploadInfo;
    assert.ok(written.Size >= 0 && written.Size < 50, 'one whole info, not a mix');
  } finally {
    await dir.remove();
  }
});
