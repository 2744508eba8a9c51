import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, appendFile, readFile, stat, unlink } from 'node:fs/promises';
import { test } from 'node:test';
import { readInfo } from '../../../../src/backends/native/info.ts';
import { type NativeTestEnv, nativeTestEnv } from '../../../helpers/native-env.ts';

const sha1 = (data: string) => `sha1 ${createHash('sha1').update(data).digest('base64')}`;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Everything a refused body must leave as it was. */
async function snapshot(native: NativeTestEnv, id: string) {
  return {
    data: await readFile(native.dataPath(id), 'utf8'),
    info: await readFile(native.infoPath(id), 'utf8'),
    handOff: await exists(native.handOffPath(id)),
  };
}

test('PATCH appends at the offset and answers the new one', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 9 });
  const first = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0 },
    body: ['abc', 'de'],
  });
  assert.equal(first.statusCode, 204);
  assert.equal(first.headers['upload-offset'], '5');
  assert.ok(first.headers['upload-expires']);
  const second = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 5 },
    body: ['fg'],
    chunked: true,
  });
  assert.equal(second.headers['upload-offset'], '7');
  assert.equal(await readFile(native.dataPath(id), 'utf8'), 'abcdefg');
  assert.equal(await exists(native.handOffPath(id)), false, 'not finished: no hand-off');
});

test('PATCH at the wrong offset is a 409 naming the current offset; nothing is written', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 9 }, ['abc']);
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 2 },
    body: ['xyz'],
  });
  assert.equal(res.statusCode, 409);
  assert.equal(res.headers['upload-offset'], '3');
  assert.match(res.body, /^TUSGATE_ERR_MISMATCHED_OFFSET: /);
  assert.equal(await readFile(native.dataPath(id), 'utf8'), 'abc');
});

test('a body running past the upload is a 413: data, info and hand-off are untouched', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 5 }, ['abc']);
  const before = await snapshot(native, id);
  // Chunked: nothing says in advance that it is too long, so bytes reach the disk first.
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 3 },
    body: ['d', 'efgh'],
    chunked: true,
  });
  assert.equal(res.statusCode, 413);
  assert.match(res.body, /^TUSGATE_ERR_SIZE_EXCEEDED: /);
  assert.deepEqual(await snapshot(native, id), before);
  assert.equal(native.hooks.of('post-finish').length, 0);
});

test('a declared Content-Length past the upload is a 413 before any byte is read', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 5 }, ['abc']);
  const before = await snapshot(native, id);
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 3 },
    body: ['def'],
  });
  assert.equal(res.statusCode, 413);
  assert.deepEqual(await snapshot(native, id), before);
});

test('a body failing its checksum is a 460 and leaves everything as it was, unfinished', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 6 }, ['abc']);
  const before = await snapshot(native, id);
  // The rest of the upload: had it been accepted, the upload would be finished and handed off.
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 3, 'Upload-Checksum': sha1('xyz') },
    body: ['de', 'f'],
  });
  assert.equal(res.statusCode, 460);
  assert.match(res.body, /^TUSGATE_ERR_CHECKSUM_MISMATCH: /);
  assert.deepEqual(await snapshot(native, id), before);
  assert.equal(native.hooks.of('post-finish').length, 0);

  const retry = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 3, 'Upload-Checksum': sha1('def') },
    body: ['de', 'f'],
  });
  assert.equal(retry.statusCode, 204);
  assert.equal(retry.headers['upload-offset'], '6');
});

test('an unsupported checksum algorithm is a 400 and writes nothing', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 6 });
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0, 'Upload-Checksum': 'crc32 AAAAAA==' },
    body: ['abc'],
  });
  assert.equal(res.statusCode, 400);
  assert.match(res.body, /^TUSGATE_ERR_UNSUPPORTED_CHECKSUM: /);
  assert.equal((await readFile(native.dataPath(id))).length, 0);
});

test('a PATCH may declare a deferred length, and finishes the upload when it reaches it', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Defer-Length': 1 }, ['abc']);
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 3, 'Upload-Length': 6 },
    body: ['def'],
  });
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['upload-offset'], '6');
  const info = await readInfo(native.infoPath(id));
  assert.deepEqual([info?.Size, info?.SizeIsDeferred, info?.Offset], [6, false, 6]);
  assert.equal(await readFile(native.handOffPath(id), 'utf8'), 'abcdef');
});

test('a refused body takes its length declaration with it', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Defer-Length': 1 });
  const before = await snapshot(native, id);
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0, 'Upload-Length': 3, 'Upload-Checksum': sha1('nope') },
    body: ['abc'],
  });
  assert.equal(res.statusCode, 460);
  assert.deepEqual(await snapshot(native, id), before);
  assert.equal((await readInfo(native.infoPath(id)))?.SizeIsDeferred, true);
});

test('Upload-Length cannot change once set', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 6 });
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0, 'Upload-Length': 7 },
    body: ['abc'],
  });
  assert.equal(res.statusCode, 400);
  assert.match(res.body, /^TUSGATE_ERR_INVALID_LENGTH: /);
});

test('the last byte finishes the upload: a hard link in the hand-off folder, then post-finish', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 6, 'Upload-Metadata': 'filename YS50eHQ=' });
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0 },
    body: ['abc', 'def'],
  });
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['upload-offset'], '6');
  assert.equal(res.headers['upload-expires'], undefined, 'a finished upload does not expire');
  const [data, handOff] = await Promise.all([
    stat(native.dataPath(id)),
    stat(native.handOffPath(id)),
  ]);
  assert.equal(handOff.ino, data.ino, 'the hand-off is the same file, not a copy');
  assert.equal((await readInfo(native.infoPath(id)))?.Offset, 6);
  const [finish] = native.hooks.of('post-finish');
  assert.equal(finish?.upload.ID, id);
  assert.equal(finish?.upload.Offset, 6);
  assert.equal(finish?.upload.MetaData.filename, 'a.txt');
  assert.equal(native.hooks.of('pre-finish').length, 1);
});

test('a client that leaves mid-body keeps the bytes it sent; no answer is written', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 100 });
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0 },
    body: ['abc', 'def'],
    end: 'leave',
  });
  assert.equal(res.headersSent, false);
  assert.equal(await readFile(native.dataPath(id), 'utf8'), 'abcdef');
  const head = await native.send({ method: 'HEAD', id });
  assert.equal(head.headers['upload-offset'], '6');
  const resume = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 6 },
    body: ['g'],
  });
  assert.equal(resume.headers['upload-offset'], '7');
});

test('a client that leaves after the last byte still finishes the upload', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 4 });
  await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0 },
    body: ['abcd'],
    chunked: true,
    end: 'leave',
  });
  assert.equal(await readFile(native.handOffPath(id), 'utf8'), 'abcd');
});

test('a second request asks the writer to hand over: the writer keeps its bytes and answers 400', async (t) => {
  const native = await nativeTestEnv(t, { lockTimeout: 2_000 });
  const id = await native.create({ 'Upload-Length': 10 });
  const first = native.start({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0 },
    body: ['abc'],
    chunked: true,
    end: 'hang',
  });
  await first.req.delivered;
  const second = native.start({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 3 },
    body: ['xyz'],
  });
  const interrupted = await first.done;
  assert.equal(interrupted.statusCode, 400);
  assert.match(interrupted.body, /^TUSGATE_ERR_UPLOAD_INTERRUPTED: /);
  assert.equal(interrupted.headers['upload-offset'], '3');
  const answer = await second.done;
  assert.equal(answer.statusCode, 204, 'it met the offset the first writer left');
  assert.equal(answer.headers['upload-offset'], '6');
  // What the first client sends after the hand-over is never read.
  first.req.send('de');
  first.req.finish();
  assert.equal(await readFile(native.dataPath(id), 'utf8'), 'abcxyz');
});

test('a holder that cannot hand over (an assembly) keeps the lock: 423 after lockTimeout', async (t) => {
  const native = await nativeTestEnv(t, { lockTimeout: 30 });
  const id = await native.create({ 'Upload-Length': 10 });
  const lease = await native.env.locker.acquire(id, { waitMs: 0 });
  assert.ok(lease);
  const started = performance.now();
  const answer = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0 },
    body: ['xyz'],
  });
  assert.equal(answer.statusCode, 423);
  assert.match(answer.body, /^TUSGATE_ERR_UPLOAD_LOCKED: /);
  assert.ok(performance.now() - started >= 25, 'it waited for the lock first');
  await lease.release();
  assert.equal(
    (await native.send({ method: 'PATCH', id, headers: { 'Upload-Offset': 0 }, body: ['xyz'] }))
      .statusCode,
    204,
  );
});

test("a post-receive hook's StopUpload ends the request and terminates the upload", async (t) => {
  const native = await nativeTestEnv(t, { progressInterval: 0 });
  const id = await native.create({ 'Upload-Length': 100 });
  native.hooks.stopOnReceive = {
    StopUpload: true,
    HTTPResponse: { StatusCode: 400, Body: 'no more', Header: { 'X-Why': 'quota' } },
  };
  // The body never ends: the stop alone must settle the request.
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0 },
    body: ['abc'],
    chunked: true,
    end: 'hang',
  });
  assert.equal(res.statusCode, 400);
  assert.equal(res.body, 'TUSGATE_ERR_UPLOAD_STOPPED: no more\n');
  assert.equal(res.headers['x-why'], 'quota');
  // No `Connection: close`: the gateway reads and drops the rest of the body after the answer, so
  // a client still sending reads the answer instead of a reset (gateway/early-answer.ts).
  assert.equal(res.headers.connection, undefined);
  assert.equal(await exists(native.dataPath(id)), false);
  assert.equal(await exists(native.infoPath(id)), false);
  const head = await native.send({ method: 'HEAD', id });
  assert.equal(head.statusCode, 404);
});

test('post-receive reports progress no more often than progressInterval', async (t) => {
  const native = await nativeTestEnv(t, { progressInterval: 1000 });
  const id = await native.create({ 'Upload-Length': 100 });
  const exchange = native.start({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 0 },
    body: ['a', 'b'],
    chunked: true,
    end: 'hang',
  });
  await exchange.req.delivered;
  assert.equal(native.hooks.of('post-receive').length, 0, 'the interval has not passed');
  native.clock.advance(1000);
  exchange.req.send('c');
  exchange.req.finish();
  await exchange.done;
  const progress = native.hooks.of('post-receive');
  assert.equal(progress.length, 1);
  assert.equal(progress[0]?.upload.Offset, 3);
});

test('a final upload cannot be patched', async (t) => {
  const native = await nativeTestEnv(t);
  const partial = await native.create({ 'Upload-Length': 1, 'Upload-Concat': 'partial' }, ['a']);
  const final = await native.create({ 'Upload-Concat': `final;/files/${partial}` });
  const res = await native.send({
    method: 'PATCH',
    id: final,
    headers: { 'Upload-Offset': 1 },
    body: ['b'],
  });
  assert.equal(res.statusCode, 403);
  assert.match(res.body, /^TUSGATE_ERR_MODIFY_FINAL: /);
});

test('an empty PATCH may declare the length of an upload that has all its bytes', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Defer-Length': 1 }, ['abc']);
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 3, 'Upload-Length': 3 },
    body: [],
  });
  assert.equal(res.statusCode, 204);
  assert.equal(res.headers['upload-offset'], '3');
  assert.equal(await readFile(native.handOffPath(id), 'utf8'), 'abc');
});

test('a client that leaves mid-body under a checksum keeps nothing of that body', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 10 }, ['abc']);
  const res = await native.send({
    method: 'PATCH',
    id,
    headers: { 'Upload-Offset': 3, 'Upload-Checksum': sha1('defghij') },
    body: ['de', 'f'],
    chunked: true,
    end: 'leave',
  });
  assert.equal(res.headersSent, false);
  assert.equal(await readFile(native.dataPath(id), 'utf8'), 'abc');
});

test('a PATCH to a finished upload is a 204 that changes nothing (as tusd): no second finish', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 3 }, ['abc']);
  assert.equal(native.hooks.of('post-finish').length, 1);
  // Galaxy took the hand-off; a client retrying its last PATCH must not bring it back.
  await unlink(native.handOffPath(id));
  for (const body of [[], ['x']]) {
    const res = await native.send({ method: 'PATCH', id, headers: { 'Upload-Offset': 3 }, body });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['upload-offset'], '3');
  }
  assert.equal(native.hooks.of('post-finish').length, 1, 'one upload, one post-finish');
  assert.equal(await exists(native.handOffPath(id)), false);
  assert.equal(await readFile(native.dataPath(id), 'utf8'), 'abc');
});

test('a PATCH to an upload whose finish step never ran mends it', async (t) => {
  const native = await nativeTestEnv(t);
  const id = await native.create({ 'Upload-Length': 6 }, ['abc']);
  // The process died after the last bytes reached the disk, before the finish step.
  await appendFile(native.dataPath(id), 'def');
  const res = await native.send({ method: 'PATCH', id, headers: { 'Upload-Offset': 6 }, body: [] });
  assert.equal(res.statusCode, 204);
  assert.equal(await readFile(native.handOffPath(id), 'utf8'), 'abcdef');
  assert.equal(native.hooks.of('post-finish').length, 1);
});
