import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { UploadLease, UploadLocker } from '../../../src/backends/locking/locker.ts';
import { MemoryLocker } from '../../../src/backends/locking/memory-locker.ts';
import { RedisLocker } from '../../../src/backends/locking/redis-locker.ts';
import { primaryCluster } from '../../helpers/primary-cluster.ts';

/**
 * The contract every upload locker keeps, run against each of them: the in-process locker and
 * the Redis locker (the machine's Redis on 6379, a key prefix of this run's own). `open` gives a
 * handle on the lock space; two handles of one space stand for two requests' processes.
 */
interface LockerUnderTest {
  name: string;
  open(): UploadLocker;
  /** The lease length, for the renewal case; undefined when leases never expire. */
  ttlMs?: number;
}

const quiet = pino({ level: 'silent' });
const redisUrl = 'redis://127.0.0.1:6379/0';

function redisSpace(): LockerUnderTest['open'] {
  const keyPrefix = `tusgate-test:${randomUUID()}:`;
  return () => new RedisLocker(redisUrl, { keyPrefix, ttlMs: 3000, log: quiet });
}

/** Workers of `server.workers` with memory locking: each handle is another worker's locker. */
function primarySpace(): LockerUnderTest['open'] {
  const { worker } = primaryCluster();
  return () => worker();
}

function memorySpace(): LockerUnderTest['open'] {
  const shared = new MemoryLocker();
  return () => shared;
}

const lockers: { name: string; space: () => LockerUnderTest['open']; ttlMs?: number }[] = [
  { name: 'memory', space: memorySpace },
  { name: 'primary', space: primarySpace },
  { name: 'redis', space: redisSpace, ttlMs: 3000 },
];

/** A RedisLocker is ready once its connection is; memory at once. */
async function ready(locker: UploadLocker): Promise<UploadLocker> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await locker.checkReady();
      // The subscription is made beside the command connection: give it its first round trip.
      await locker.heldIds();
      return locker;
    } catch {
      await sleep(20);
    }
  }
  throw new Error(`${locker.kind} locker never became ready`);
}

for (const { name, space, ttlMs } of lockers) {
  describe(`locker contract: ${name}`, () => {
    const setUp = async (t: { after: (fn: () => Promise<void>) => void }) => {
      const open = space();
      const a = await ready(open());
      const b = await ready(open());
      t.after(async () => {
        await a.close();
        await b.close();
      });
      // Let the pub/sub subscriptions settle before a hand-over is asked for.
      if (name === 'redis') await sleep(50);
      return { a, b, id: randomUUID() };
    };

    test('a free lock is taken with a token of its own, and shows among the held ids', async (t) => {
      const { a, b, id } = await setUp(t);
      const lease = await a.acquire(id, { waitMs: 0 });
      assert.ok(lease);
      assert.equal(lease.id, id);
      assert.ok(lease.token.length >= 16);
      assert.equal(lease.isValid(), true);
      assert.equal(lease.lost.aborted, false);
      assert.ok((await b.heldIds()).includes(id));
      await lease.release();
      assert.equal(lease.isValid(), false);
      assert.ok(!(await b.heldIds()).includes(id));
      const again = await b.acquire(id, { waitMs: 0 });
      assert.ok(again);
      assert.notEqual(again.token, lease.token, 'every holding has a token of its own');
      await again.release();
    });

    test('with no wait, a held lock is not taken and its holder is not asked to let go', async (t) => {
      const { a, b, id } = await setUp(t);
      let asked = 0;
      const lease = await a.acquire(id, { waitMs: 0, onReleaseRequested: () => asked++ });
      assert.ok(lease);
      assert.equal(await b.acquire(id, { waitMs: 0 }), null);
      assert.equal(lease.isValid(), true);
      await sleep(100);
      assert.equal(asked, 0);
      await lease.release();
    });

    test('a request for a held lock asks the holder to hand it over, and gets it', async (t) => {
      const { a, b, id } = await setUp(t);
      let first: UploadLease | null = null;
      first = await a.acquire(id, {
        waitMs: 0,
        onReleaseRequested: () => void first?.release(),
      });
      assert.ok(first);
      const second = await b.acquire(id, { waitMs: 5000 });
      assert.ok(second, 'the holder handed the lock over');
      assert.equal(first.isValid(), false);
      assert.equal(second.isValid(), true);
      await second.release();
    });

    test('a holder that does not let go keeps the lock; the asker gives up after its wait', async (t) => {
      const { a, b, id } = await setUp(t);
      const lease = await a.acquire(id, { waitMs: 0 });
      assert.ok(lease);
      const started = performance.now();
      assert.equal(await b.acquire(id, { waitMs: 300 }), null);
      assert.ok(performance.now() - started >= 250, 'it waited');
      assert.equal(lease.isValid(), true);
      await lease.release();
      const after = await b.acquire(id, { waitMs: 0 });
      assert.ok(after);
      await after.release();
    });

    test('a waiter gets the lock as soon as the holder releases it on its own', async (t) => {
      const { a, b, id } = await setUp(t);
      const lease = await a.acquire(id, { waitMs: 0 });
      assert.ok(lease);
      const waiting = b.acquire(id, { waitMs: 5000 });
      await sleep(50);
      await lease.release();
      const next = await waiting;
      assert.ok(next);
      await next.release();
    });

    test('locks of different uploads are independent; release is idempotent', async (t) => {
      const { a, b, id } = await setUp(t);
      const one = await a.acquire(id, { waitMs: 0 });
      const other = await b.acquire(randomUUID(), { waitMs: 0 });
      assert.ok(one && other);
      await one.release();
      await one.release();
      // A second release must not free a lock someone else took meanwhile.
      const taken = await b.acquire(id, { waitMs: 0 });
      assert.ok(taken);
      await one.release();
      assert.equal(await a.acquire(id, { waitMs: 0 }), null);
      await taken.release();
      await other.release();
    });

    if (ttlMs !== undefined) {
      test('a lease is renewed while held, beyond its TTL', async (t) => {
        const { a, b, id } = await setUp(t);
        const lease = await a.acquire(id, { waitMs: 0 });
        assert.ok(lease);
        await sleep(ttlMs * 1.5);
        assert.equal(lease.isValid(), true);
        assert.equal(await b.acquire(id, { waitMs: 0 }), null);
        await lease.release();
      });

      test('the lock of a holder that died frees after the TTL', async (t) => {
        const open = space();
        const dying = await ready(open());
        const b = await ready(open());
        t.after(() => b.close());
        const id = randomUUID();
        const lease = await dying.acquire(id, { waitMs: 0 });
        assert.ok(lease);
        // Gone without releasing: the connection closes, the key stays until it expires.
        await dying.close();
        assert.equal(lease.isValid(), false, 'a holder without its connection may not write');
        assert.equal(await b.acquire(id, { waitMs: 0 }), null);
        const next = await b.acquire(id, { waitMs: ttlMs * 2 });
        assert.ok(next, 'taken once the dead holder’s lease expired');
        await next.release();
      });
    }
  });
}
