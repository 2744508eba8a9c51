import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import type { UploadInfo } from '../../../src/backends/native/info.ts';
import { newUploadId } from '../../../src/backends/native/upload-id.ts';
import type { AppendOptions, UploadStore } from '../../../src/backends/native/upload-store.ts';

/**
 * The contract every upload store keeps, run against each store type by its own test file: a
 * new store proves itself by passing it. The stores are driven through the interface the native
 * handlers use, with sizes that cross S3's 5 MiB part size.
 */

export interface StoreUnderTest {
  store: UploadStore;
  /** A second instance of the same store (a restarted process). */
  reopen(): UploadStore;
  /** Keys or paths the store still holds for an upload: none after termination or expiry. */
  leftovers(id: string): Promise<string[]>;
}

export type StoreFactory = (
  t: TestContext,
  options: { expiresAfter?: number },
) => Promise<StoreUnderTest>;

const MiB = 1024 * 1024;
const day = 24 * 3_600_000;

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`upload store contract: ${name}`, () => {
    test('create, then append in several requests across part boundaries; read back whole', async (t) => {
      const { store } = await factory(t, {});
      const data = randomBytes(13 * MiB + 17);
      const info = await created(store, { Size: data.length });
      assert.deepEqual(await store.load(info.ID), { info, offset: 0 });
      let offset = 0;
      for (const length of [3 * MiB, 4 * MiB + 5, 6 * MiB + 12]) {
        offset = await append(store, info, data.subarray(offset, offset + length));
        assert.equal((await store.load(info.ID))?.offset, offset);
      }
      await finish(store, info);
      assert.equal((await store.load(info.ID))?.offset, data.length);
      assert.equal(await readHash(store, info.ID, data.length), hash(data));
    });

    test('the offset never runs ahead of what is stored, during and after a request', async (t) => {
      const { store } = await factory(t, {});
      const data = randomBytes(12 * MiB);
      const info = await created(store, { Size: data.length });
      const handle = await store.openAppend(info, { revocable: false });
      let written = 0;
      for (let at = 0; at < 9 * MiB; at += MiB) {
        await handle.writev([data.subarray(at, at + MiB)], at);
        written += MiB;
        const offset = (await store.load(info.ID))?.offset ?? -1;
        assert.ok(offset >= 0 && offset <= written, `offset ${offset} after ${written} bytes`);
      }
      await handle.close();
      // Closed: every acknowledged byte counts, and a resumed request continues from there.
      assert.equal((await store.load(info.ID))?.offset, written);
      await append(store, info, data.subarray(written));
      await finish(store, info);
      assert.equal(await readHash(store, info.ID, data.length), hash(data));
    });

    test('a short body is kept and resumed from (smaller than a part)', async (t) => {
      const { store, reopen } = await factory(t, {});
      const data = randomBytes(3 * MiB + 3);
      const info = await created(store, { Size: data.length });
      let offset = 0;
      for (let at = 0; at < data.length; at += MiB) {
        offset = await append(reopen(), info, data.subarray(at, at + MiB));
        assert.equal((await store.load(info.ID))?.offset, offset);
      }
      await finish(store, info);
      assert.equal(await readHash(store, info.ID, data.length), hash(data));
    });

    test('deferred length: the size is declared after some bytes', async (t) => {
      const { store } = await factory(t, {});
      const data = randomBytes(7 * MiB);
      const info = await created(store, { Size: 0, SizeIsDeferred: true });
      await append(store, info, data.subarray(0, 2 * MiB));
      const loaded = await store.load(info.ID);
      assert.equal(loaded?.offset, 2 * MiB);
      assert.equal(loaded?.info.SizeIsDeferred, true);
      info.Size = data.length;
      info.SizeIsDeferred = false;
      await store.saveInfo(info);
      await append(store, info, data.subarray(2 * MiB));
      await finish(store, info);
      assert.equal(await readHash(store, info.ID, data.length), hash(data));
    });

    test('a refused body (checksum) leaves nothing of itself; the upload goes on', async (t) => {
      const { store } = await factory(t, {});
      const data = randomBytes(8 * MiB);
      const info = await created(store, { Size: data.length });
      await append(store, info, data.subarray(0, MiB));
      const handle = await store.openAppend(info, { revocable: true });
      await handle.writev([randomBytes(6 * MiB)], MiB);
      await handle.truncate(MiB);
      await handle.close();
      assert.equal((await store.load(info.ID))?.offset, MiB);
      await append(store, info, data.subarray(MiB), { revocable: true });
      await finish(store, info);
      assert.equal(await readHash(store, info.ID, data.length), hash(data));
    });

    test('an empty upload finishes and reads back empty', async (t) => {
      const { store } = await factory(t, {});
      const info = await created(store, { Size: 0 });
      await finish(store, info);
      assert.equal((await store.load(info.ID))?.offset, 0);
      assert.equal(await readHash(store, info.ID, 0), hash(Buffer.alloc(0)));
    });

    test('termination removes everything, finished or not', async (t) => {
      const { store, leftovers } = await factory(t, {});
      const unfinished = await created(store, { Size: 10 * MiB });
      await append(store, unfinished, randomBytes(6 * MiB + 1));
      const done = await created(store, { Size: 3 });
      await append(store, done, Buffer.from('abc'));
      await finish(store, done);
      for (const info of [unfinished, done]) {
        await store.remove(info.ID);
        assert.equal(await store.load(info.ID), null);
        assert.deepEqual(await leftovers(info.ID), []);
      }
    });

    for (const sizes of [
      [6 * MiB, 5 * MiB, 1234],
      [1000, 1, 70_000],
    ]) {
      test(`concatenation of partials of ${sizes.join(', ')} bytes`, async (t) => {
        const { store } = await factory(t, {});
        const pieces = sizes.map((size) => randomBytes(size));
        const partials: string[] = [];
        for (const piece of pieces) {
          const partial = await created(store, { Size: piece.length, IsPartial: true });
          await append(store, partial, piece);
          await finish(store, partial);
          partials.push(partial.ID);
        }
        const whole = Buffer.concat(pieces);
        const final = await created(store, {
          Size: whole.length,
          IsFinal: true,
          PartialUploads: partials,
        });
        await store.addWaitingFinal(partials[0]!, final.ID);
        assert.deepEqual(await store.waitingFinals(partials[0]!), [final.ID]);
        await store.concatenate(final, partials, false);
        await finish(store, final);
        assert.equal((await store.load(final.ID))?.offset, whole.length);
        assert.equal(await readHash(store, final.ID, whole.length), hash(whole));
      });
    }

    test('a partial removed before concatenation: the upload is not found (404)', async (t) => {
      const { store } = await factory(t, {});
      const kept = await created(store, { Size: 3, IsPartial: true });
      await append(store, kept, Buffer.from('abc'));
      await finish(store, kept);
      const gone = await created(store, { Size: 2, IsPartial: true });
      await append(store, gone, Buffer.from('de'));
      await finish(store, gone);
      const final = await created(store, {
        Size: 5,
        IsFinal: true,
        PartialUploads: [kept.ID, gone.ID],
      });
      await store.remove(gone.ID);
      await assert.rejects(store.concatenate(final, [kept.ID, gone.ID], false), {
        code: 'TUSGATE_ERR_UPLOAD_NOT_FOUND',
      });
    });

    test('expiry removes whole day prefixes past the TTL and keeps the rest', async (t) => {
      const { store, leftovers } = await factory(t, { expiresAfter: 2 * day });
      const now = Date.now();
      const old = await created(store, { Size: 10 * MiB }, now - 5 * day);
      await append(store, old, randomBytes(5 * MiB + 1)); // parts of an unfinished upload too
      const oldDone = await created(store, { Size: 2 }, now - 5 * day + 1000);
      await append(store, oldDone, Buffer.from('ok'));
      await finish(store, oldDone);
      const fresh = await created(store, { Size: 2 }, now);
      await append(store, fresh, Buffer.from('hi'));
      const report = await store.expire({ now });
      assert.deepEqual(report.removedFolders, [store.folderOf(old.ID)]);
      assert.equal(report.removedUploads, 2);
      for (const info of [old, oldDone]) {
        assert.equal(await store.load(info.ID), null);
        assert.deepEqual(await leftovers(info.ID), []);
      }
      assert.equal((await store.load(fresh.ID))?.offset, 2);
      // A prefix with an upload being written is left for the next run.
      const busy = await created(store, { Size: 1 }, now - 4 * day);
      const skipped = await store.expire({ now, busyFolders: new Set([store.folderOf(busy.ID)]) });
      assert.deepEqual(skipped.skippedFolders, [store.folderOf(busy.ID)]);
      assert.ok(await store.load(busy.ID));
    });

    test('a reopened store sees the same uploads', async (t) => {
      const { store, reopen } = await factory(t, {});
      const data = randomBytes(6 * MiB + 100);
      const info = await created(store, { Size: data.length, MetaData: { filename: 'a.txt' } });
      await append(store, info, data.subarray(0, 5 * MiB + 50));
      const again = reopen();
      const loaded = await again.load(info.ID);
      assert.equal(loaded?.offset, 5 * MiB + 50);
      assert.deepEqual(loaded?.info.MetaData, { filename: 'a.txt' });
      await append(again, loaded!.info, data.subarray(5 * MiB + 50));
      await finish(again, loaded!.info);
      assert.equal(await readHash(store, info.ID, data.length), hash(data));
    });
  });
}

/**
 * An object store keeps a part in memory and uploads it later: the lock fence (the PATCH path's
 * `fence`) is checked before each part upload and the tail, so a request that lost its upload's
 * lock stores nothing more, even bytes it had taken in before it lost it.
 */
export function objectStoreFenceContract(name: string, factory: StoreFactory): void {
  test(`${name}: a failed fence stops the part upload and the tail; nothing more is stored`, async (t) => {
    const { store } = await factory(t, {});
    const info = await created(store, { Size: 12 * MiB });
    let held = true;
    const lost = new Error('lease lost');
    const fence = () => {
      if (!held) throw lost;
    };
    const handle = await store.openAppend(info, { revocable: false, fence });
    const chunk = () => randomBytes(MiB);
    for (let at = 0; at < 4; at++) await handle.writev([chunk()], at * MiB);
    held = false;
    // The fifth MiB fills the first part: its upload is refused.
    await assert.rejects(handle.writev([chunk()], 4 * MiB), lost);
    await assert.rejects(handle.close(), lost);
    assert.equal((await store.load(info.ID))?.offset, 0);

    // With the lock held throughout, the same bytes are stored: a part, and the tail at close.
    const again = await store.openAppend(info, { revocable: false, fence: () => {} });
    for (let at = 0; at < 6; at++) await again.writev([chunk()], at * MiB);
    await again.close();
    assert.equal((await store.load(info.ID))?.offset, 6 * MiB);
  });
}

async function created(
  store: UploadStore,
  fields: Partial<UploadInfo>,
  at = Date.now(),
): Promise<UploadInfo> {
  const info = store.newInfo(newUploadId(at), {
    Size: fields.Size ?? 0,
    SizeIsDeferred: fields.SizeIsDeferred ?? false,
    MetaData: fields.MetaData ?? {},
    IsPartial: fields.IsPartial ?? false,
    IsFinal: fields.IsFinal ?? false,
    PartialUploads: fields.PartialUploads ?? null,
    Principal: null,
  });
  await store.create(info);
  return info;
}

/** One request's body, in 1 MiB writes as the body writer makes them; resolves to the offset. */
async function append(
  store: UploadStore,
  info: UploadInfo,
  body: Buffer,
  options: AppendOptions = { revocable: false },
): Promise<number> {
  const start = (await store.load(info.ID))?.offset ?? 0;
  const handle = await store.openAppend(info, options);
  for (let at = 0; at < body.length; at += MiB) {
    // As the body writer does: the chunk's memory is freed once `writev` resolves, so a store
    // that keeps bytes for later must have copied them.
    const piece = body.subarray(at, at + MiB);
    const chunk = Buffer.alloc(piece.length); // never a view into Node's shared pool
    piece.copy(chunk);
    await handle.writev([chunk], start + at);
    chunk.buffer.transfer(0);
  }
  await handle.close();
  return start + body.length;
}

async function finish(store: UploadStore, info: UploadInfo): Promise<void> {
  await store.finish(info);
  info.Offset = info.Size;
  await store.saveInfo(info);
}

async function readHash(store: UploadStore, id: string, length: number): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of await store.read(id, length)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}

function hash(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
