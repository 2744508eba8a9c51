import assert from 'node:assert/strict';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { BodyBudget } from '../../../src/backends/native/body-budget.ts';
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
    await tick();
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

/** A file handle whose writes complete only when the test lets them (or fail when it says so). */
function gatedHandle() {
  const gates: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const handle = {
    writev(buffers: Buffer[]) {
      const bytesWritten = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
      return new Promise<{ bytesWritten: number }>((resolve, reject) => {
        gates.push({ resolve: () => resolve({ bytesWritten }), reject });
      });
    },
  } as unknown as FileHandle;
  const nextWrite = async () => {
    while (gates.length === 0) await tick();
    return gates.shift()!;
  };
  return { handle, nextWrite };
}

const kib = (count: number) => Buffer.alloc(count * 1024, 0x62);

/** A writer over a gated handle with a 64 KiB write in flight and the next 64 KiB waiting. */
async function writerWithOneWriteInFlight(budget: BodyBudget, signal?: AbortSignal) {
  const { handle, nextWrite } = gatedHandle();
  const source = new PassThrough();
  const limit = 10 * 1024 * 1024;
  const writing = writeBody(source, handle, { position: 0, limit, budget, signal });
  source.write(kib(64));
  const first = await nextWrite();
  source.write(kib(64));
  await tick();
  return { source, writing, first, nextWrite };
}

test('while a write is in flight, a writer keeps receiving up to 1 MiB when the budget allows', async () => {
  const budget = new BodyBudget(32 * 1024 * 1024);
  const { source, writing, first, nextWrite } = await writerWithOneWriteInFlight(budget);
  source.write(kib(64));
  await tick();
  assert.equal(source.isPaused(), false);
  assert.equal(budget.held, 192 * 1024, 'the budget counts the bytes in flight and waiting');
  first.resolve();
  (await nextWrite()).resolve();
  source.end();
  assert.equal((await writing).written, 192 * 1024);
  assert.equal(budget.held, 0);
});

test('once the shared budget is spent, a writer pauses its source after a small batch', async () => {
  const budget = new BodyBudget(256 * 1024);
  budget.take(256 * 1024); // other uploads hold it all
  const { source, writing, first, nextWrite } = await writerWithOneWriteInFlight(budget);
  assert.equal(source.isPaused(), true, 'paused at 64 KiB waiting, not 1 MiB');
  first.resolve();
  const second = await nextWrite();
  assert.equal(source.isPaused(), false, 'resumed once its own write completed');
  second.resolve();
  source.end();
  assert.equal((await writing).written, 128 * 1024);
  assert.equal(budget.held, 256 * 1024, 'only what the others hold is left');
});

test('a failed write gives its bytes and the waiting ones back to the budget', async () => {
  const budget = new BodyBudget(32 * 1024 * 1024);
  const { writing, first } = await writerWithOneWriteInFlight(budget);
  first.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
  await assert.rejects(writing, { code: 'ENOSPC' });
  assert.equal(budget.held, 0);
});

test('a client that leaves or a stop signal gives every byte back to the budget', async () => {
  for (const end of ['client closes', 'stop signal'] as const) {
    const budget = new BodyBudget(32 * 1024 * 1024);
    const stop = new AbortController();
    const { source, writing, first, nextWrite } = await writerWithOneWriteInFlight(
      budget,
      stop.signal,
    );
    if (end === 'client closes') source.destroy();
    else stop.abort(new Error('stopped by a hook'));
    await tick();
    first.resolve();
    (await nextWrite()).resolve();
    const result = await writing;
    assert.equal(result.written, 128 * 1024, `${end}: what arrived is written`);
    assert.ok(result.readError, end);
    assert.equal(budget.held, 0, end);
  }
});

/** Resolves once `source` has been read to its end by whoever reads it. */
const readToEnd = (source: PassThrough) =>
  new Promise<void>((resolve) => source.once('end', () => resolve()));

test('an overflow settles without waiting for the end of the body, and the rest is drained', async () => {
  await withOpenFile(async (handle, path) => {
    const source = new PassThrough();
    const writing = writeBody(source, handle, { position: 0, limit: 4 });
    source.write('abc');
    source.write('defg');
    const result = await writing; // the body has not ended: a writer waiting for it never settles
    assert.deepEqual(
      { written: result.written, overflowed: result.overflowed },
      {
        written: 4,
        overflowed: true,
      },
    );
    assert.equal(await readFile(path, 'utf8'), 'abcd');
    const drained = readToEnd(source);
    source.end(kib(1024)); // more than a PassThrough buffers: only read if someone drains it
    await drained;
    assert.equal(await readFile(path, 'utf8'), 'abcd', 'nothing after the overflow is written');
  });
});

test('a failed write rejects but leaves the body to be drained, not the connection cut', async () => {
  const { handle, nextWrite } = gatedHandle();
  const source = new PassThrough();
  const writing = writeBody(source, handle, { position: 0, limit: 10 * 1024 * 1024 });
  source.write(kib(64));
  (await nextWrite()).reject(Object.assign(new Error('no space left'), { code: 'ENOSPC' }));
  await assert.rejects(writing, { code: 'ENOSPC' });
  assert.equal(source.destroyed, false, 'the client can still read the answer');
  const drained = readToEnd(source);
  source.end(kib(1024));
  await drained;
});

test('once the fence fails (a lost lock), nothing more is written and the writer rejects', async () => {
  await withOpenFile(async (handle, path) => {
    const source = new PassThrough();
    let allowed = true;
    const lost = new Error('lock lost');
    const writing = writeBody(source, handle, {
      position: 0,
      limit: 100,
      fence: () => {
        if (!allowed) throw lost;
      },
    });
    source.write('first ');
    // Let the first batch reach the disk before the lock goes.
    while ((await readFile(path, 'utf8')) !== 'first ') await tick();
    allowed = false;
    source.write('second');
    source.end();
    await assert.rejects(writing, (error) => error === lost);
    assert.equal(await readFile(path, 'utf8'), 'first ');
  });
});

test('a stop asked for before the first byte ends the read at once, writing nothing', async () => {
  await withOpenFile(async (handle, path) => {
    const source = new PassThrough();
    const stop = new AbortController();
    stop.abort(new Error('another request wants this upload'));
    const result = await writeBody(source, handle, { position: 0, limit: 10, signal: stop.signal });
    assert.equal(result.written, 0);
    assert.equal(result.readError, stop.signal.reason);
    source.end('late');
    assert.equal(await readFile(path, 'utf8'), '');
  });
});
