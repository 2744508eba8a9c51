import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LockStoreUnavailableError } from '../../../src/backends/locking/locker.ts';
import { restartDelay } from '../../../src/cluster/backoff.ts';
import { primaryCluster } from '../../helpers/primary-cluster.ts';

/** What the primary's lock table adds to the locker contract (test/integration/locking/). */

test('one holder per upload across workers; a waiter gets the lock when the holder releases', async () => {
  const { worker } = primaryCluster();
  const [a, b] = [worker(1), worker(2)];
  const lease = await a.acquire('u1', { waitMs: 0 });
  assert.ok(lease);
  assert.deepEqual(await b.heldIds(), ['u1'], 'heldIds sees every worker');
  assert.equal(await b.acquire('u1', { waitMs: 0 }), null, 'held elsewhere: no wait, no lock');
  const other = await b.acquire('u2', { waitMs: 0 });
  assert.ok(other, 'other uploads are independent');
  const waiting = b.acquire('u1', { waitMs: 60_000 });
  await lease.release();
  const second = await waiting;
  assert.ok(second, 'the waiter got the lock once it was released');
  await second.release();
  await other.release();
  assert.deepEqual(await a.heldIds(), []);
});

test('a worker that exits loses its locks at once; its waiting requests leave the line', async () => {
  const { worker, exit, table } = primaryCluster();
  const [a, b, c] = [worker(1), worker(2), worker(3)];
  const held = await a.acquire('u1', { waitMs: 0 });
  assert.ok(held);
  const bWaits = b.acquire('u1', { waitMs: 60_000 }).catch((error: unknown) => error);
  // Let b's request reach the primary before a dies.
  await new Promise((resolve) => setTimeout(resolve, 5));
  exit(2);
  const cWaits = c.acquire('u1', { waitMs: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 5));
  exit(1);
  assert.equal(held.isValid(), false, 'the dead worker’s lease is lost');
  assert.equal(held.lost.aborted, true);
  const lease = await cWaits;
  assert.ok(lease, 'the next live waiter got the dead holder’s lock');
  await lease.release();
  await c.heldIds(); // the release reached the primary first
  assert.equal(table.size, 0);
  void bWaits;
});

test('a release with an old token does not free a newer holder', async () => {
  const { worker } = primaryCluster();
  const [a, b] = [worker(1), worker(2)];
  const first = await a.acquire('u1', { waitMs: 0 });
  const waiting = b.acquire('u1', { waitMs: 60_000 });
  await first!.release();
  const second = await waiting;
  await first!.release(); // released twice: no effect
  assert.equal(await a.acquire('u1', { waitMs: 0 }), null, 'b still holds it');
  await second!.release();
});

test('without the primary, acquiring fails closed', async () => {
  const { worker, exit } = primaryCluster();
  const a = worker(1);
  exit(1);
  await assert.rejects(a.acquire('u1', { waitMs: 0 }), LockStoreUnavailableError);
  await assert.rejects(a.checkReady(), LockStoreUnavailableError);
});

test('worker restarts back off against crash loops: at once, then doubling up to 30 s', () => {
  assert.equal(restartDelay(1), 0);
  assert.equal(restartDelay(2), 250);
  assert.equal(restartDelay(3), 500);
  assert.equal(restartDelay(20), 30_000);
});
