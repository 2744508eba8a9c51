import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { writeBody } from '../../../src/backends/native/body-writer.ts';
import { tempDir } from '../../helpers/files.ts';

async function withFile(run: (path: string) => Promise<void>) {
  const dir = await tempDir('tusgate-body-writer-');
  try {
    await run(join(dir.path, 'data'));
  } finally {
    await dir.remove();
  }
}

test('a body whose client is already gone settles at once, writing nothing', async () => {
  await withFile(async (path) => {
    const source = new PassThrough();
    source.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    const handle = await open(path, 'w+');
    try {
      const result = await writeBody(source, handle, { position: 0, limit: 10 });
      assert.equal(result.written, 0);
      assert.ok(result.readError);
    } finally {
      await handle.close();
    }
  });
});

test('a body that ended before writing began settles at once', async () => {
  await withFile(async (path) => {
    const source = new PassThrough();
    source.end();
    source.resume();
    await new Promise((resolve) => source.once('end', resolve));
    const handle = await open(path, 'w+');
    try {
      const result = await writeBody(source, handle, { position: 0, limit: 10 });
      assert.deepEqual(
        { written: result.written, readError: result.readError },
        {
          written: 0,
          readError: undefined,
        },
      );
    } finally {
      await handle.close();
    }
  });
});

test('bytes are written in order up to the limit; the rest is reported as overflow', async () => {
  await withFile(async (path) => {
    const source = new PassThrough();
    const handle = await open(path, 'w+');
    try {
      const writing = writeBody(source, handle, { position: 0, limit: 8 });
      source.write('hello ');
      source.end('world');
      const result = await writing;
      assert.equal(result.written, 8);
      assert.equal(result.overflowed, true);
      assert.equal(await readFile(path, 'utf8'), 'hello wo');
    } finally {
      await handle.close();
    }
  });
});
