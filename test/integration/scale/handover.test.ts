import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { sha256, tempDir } from '../../helpers/files.ts';
import { type GatewayProcess, startGatewayProcess } from '../../helpers/gateway.ts';
import { nativeConfig } from '../../helpers/native.ts';
import {
  createUpload,
  headOffset,
  idOf,
  patch,
  stalledPatch,
  storeOf,
  waitForSize,
} from './fixture.ts';

/**
 * The hand-over in one real tusgate process (memory locking): idle and lock timeouts far longer
 * than the test may take, so only a hand-over lets a resuming client on.
 */
async function startOne(t: { after: (fn: () => Promise<unknown>) => void }) {
  const dir = await tempDir('tusgate-handover-');
  const raw = {
    ...nativeConfig(dir.path, { backend: { lockTimeout: '60s' } }),
    server: { idleTimeout: '60s' },
  };
  const gw: GatewayProcess = await startGatewayProcess(raw);
  t.after(async () => {
    await gw.stop();
    await dir.remove();
  });
  return { gw, store: storeOf(raw), endpoint: `${gw.url}/files/` };
}

test('a stalled PATCH hands over to the resuming client at once, keeping its bytes', {
  timeout: 30_000,
}, async (t) => {
  const { gw, store, endpoint } = await startOne(t);
  const body = randomBytes(4 * 1024 * 1024);
  const url = await createUpload(endpoint, body.length);
  const sent = 1024 * 1024 + 123;
  const stalled = stalledPatch(url, 0, body.length, body.subarray(0, sent));
  t.after(() => stalled.destroy());
  await waitForSize(store.pathsFor(idOf(url)).data, sent);

  // The client reconnected: HEAD, then the rest from the offset it learns.
  const started = performance.now();
  const head = await headOffset(url);
  const handOverMs = performance.now() - started;
  assert.equal(head.status, 200);
  assert.equal(head.offset, sent, 'the stalled request kept every byte it wrote');
  const interrupted = await stalled.answer;
  assert.equal(interrupted.status, 400, 'the stale request was told, not timed out');
  assert.match(interrupted.body, /TUSGATE_ERR_UPLOAD_INTERRUPTED/);
  const rest = await patch(url, head.offset, body.subarray(head.offset));
  assert.equal(rest.status, 204);
  assert.equal(rest.offset, body.length);
  assert.equal(sha256(await readFile(store.pathsFor(idOf(url)).data)), sha256(body));
  t.diagnostic(`hand-over (HEAD on a held upload) took ${handOverMs.toFixed(1)} ms`);
  assert.match(gw.output(), /handed the upload over to a newer request/);
});

test('two clients racing one upload: the file is a prefix of one body, never a mix', {
  timeout: 60_000,
}, async (t) => {
  const { store, endpoint } = await startOne(t);
  const size = 8 * 1024 * 1024;
  for (let round = 0; round < 8; round++) {
    const a = Buffer.alloc(size, 0x61);
    const b = Buffer.alloc(size, 0x62);
    const url = await createUpload(endpoint, size);
    const answers = await Promise.all([patch(url, 0, a), patch(url, 0, b)]);
    const statuses = answers.map((answer) => answer.status);
    assert.ok(statuses.filter((status) => status === 204).length <= 1, `${statuses}`);
    for (const status of statuses) assert.ok([204, 400, 409, 423].includes(status), `${statuses}`);
    const data = await readFile(store.pathsFor(idOf(url)).data);
    const winner = data.length === 0 ? a : data[0] === 0x61 ? a : b;
    assert.ok(data.equals(winner.subarray(0, data.length)), `round ${round}: bytes interleaved`);
    const head = await headOffset(url);
    assert.equal(head.offset, data.length, 'the offset is the bytes on disk');
    if (statuses.includes(204)) assert.equal(data.length, size);
  }
});
