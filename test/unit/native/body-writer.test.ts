import assert from 'node:assert/strict';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { writeBody } from '../../../src/backends/native/body-writer.ts';
import { tempDir } from '../../helpers/files.ts';
import { listenOnLoopback } from '../../helpers/ports.ts';

/** Runs with a fresh empty file open for reading and writing; closes and removes it after. */
async function withOpenFile(run: (handle: FileHandle, path: string) => Promise<void>) {
  const dir = await tempDir('tusgate-body-writer-');
  const path = join(dir.path, 'data');
  const handle = await open(path, 'w+');
  try {
    await run(handle, path);
  } finally {
    await handle.close();
    await dir.remove();
  }
}

test('a body whose client is already gone settles at once, writing nothing', async () => {
  await withOpenFile(async (handle) => {
    const source = new PassThrough();
    source.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    const result = await writeBody(source, handle, { position: 0, limit: 10 });
    assert.equal(result.written, 0);
    assert.ok(result.readError);
  });
});

test('a body that ended before writing began settles at once', async () => {
  await withOpenFile(async (handle) => {
    const source = new PassThrough();
    source.end();
    source.resume();
    await new Promise((resolve) => source.once('end', resolve));
    const result = await writeBody(source, handle, { position: 0, limit: 10 });
    assert.deepEqual(
      { written: result.written, readError: result.readError },
      {
        written: 0,
        readError: undefined,
      },
    );
  });
});

test('bytes are written in order up to the limit; the rest is reported as overflow', async () => {
  await withOpenFile(async (handle, path) => {
    const source = new PassThrough();
    const writing = writeBody(source, handle, { position: 0, limit: 8 });
    source.write('hello ');
    source.end('world');
    const result = await writing;
    assert.equal(result.written, 8);
    assert.equal(result.overflowed, true);
    assert.equal(await readFile(path, 'utf8'), 'hello wo');
  });
});

test('with releaseWritten, chunks that own their memory are freed once written; views are kept', async () => {
  await withOpenFile(async (handle, path) => {
    const source = new PassThrough();
    const owned = Buffer.from(new ArrayBuffer(4));
    owned.write('abcd');
    const slab = Buffer.alloc(16, 0x78);
    const view = slab.subarray(0, 4);
    const writing = writeBody(source, handle, { position: 0, limit: 100, releaseWritten: true });
    source.write(owned);
    source.end(view);
    const result = await writing;
    assert.equal(result.written, 8);
    assert.equal(await readFile(path, 'utf8'), 'abcdxxxx');
    assert.equal(owned.buffer.byteLength, 0, 'the owned chunk is detached');
    assert.equal(slab.length, 16, 'the larger buffer a view points into is untouched');
    assert.equal(view.toString(), 'xxxx');
  });
});

test('without releaseWritten, written chunks are left as they were', async () => {
  await withOpenFile(async (handle) => {
    const source = new PassThrough();
    const owned = Buffer.from(new ArrayBuffer(4));
    owned.write('abcd');
    const writing = writeBody(source, handle, { position: 0, limit: 100 });
    source.end(owned);
    await writing;
    assert.equal(owned.toString(), 'abcd');
  });
});

test("Node's HTTP server hands each body chunk over in an ArrayBuffer of its own", async () => {
  // releaseWritten only frees chunks that own their memory: if Node ever pooled body chunks,
  // uploads would silently go back to costing a full garbage collection every 64 MB.
  const chunks: Buffer[] = [];
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => res.end());
  });
  const port = await listenOnLoopback(server);
  try {
    const body = Buffer.alloc(4 * 1024 * 1024, 0x61);
    await new Promise<void>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', method: 'PATCH' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.ok(chunks.length > 1);
    assert.equal(Buffer.concat(chunks).length, body.length);
    for (const chunk of chunks) {
      assert.equal(chunk.byteOffset, 0);
      assert.equal(chunk.buffer.byteLength, chunk.length);
    }
  } finally {
    server.close();
  }
});
