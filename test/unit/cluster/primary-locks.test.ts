import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrimaryLockTable } from '../../../src/backends/locking/primary-lock-table.ts';
import {
  type PrimaryChannel,
  PrimaryLockClient,
} from '../../../src/backends/locking/primary-locker.ts';
import { restartDelay } from '../../../src/cluster/backoff.ts';
import { TusgateError } from '../../../src/errors.ts';

/**
 * The primary's lock table and the workers' clients, wired as node:cluster wires them but over
 * in-process channels that deliver asynchronously, like IPC.
 */
function cluster() {
  const listeners = new Map<number, (message: unknown) => void>();
  const connected = new Map<number, boolean>();
  const table = new PrimaryLockTable((worker, message) => {
    if (!connected.get(worker)) return false;
    setImmediate(() => listeners.get(worker)?.(structuredClone(message)));
    return true;
  });
  const worker = (id: number) => {
    connected.set(id, true);
    const channel: PrimaryChannel = {
      send: (message) => {
        setImmediate(() => table.handle(id, structuredClone(message)));
        return true;
      },
      onMessage: (listener) => listeners.set(id, listener),
      connected: () => connected.get(id) === true,
    };
    return new PrimaryLockClient(channel).table('/store');
  };
  /** The worker process exits: the primary forgets it. */
  const exit = (id: number) => {
    connected.set(id, false);
    table.forgetWorker(id);
  };
  return { table, worker, exit };
}

test('one holder per upload across workers; a waiter gets the lock when the holder releases', async () => {
  const { worker } = cluster();
  const [a, b] = [worker(1), worker(2)];
  const release = await a.acquire('u1', 0);
  assert.ok(release);
  assert.equal(a.isHeld('u1'), true);
  assert.equal(b.isHeld('u1'), false, 'isHeld is this process’s view');
  assert.deepEqual([...(await b.heldAnywhere())], ['u1'], 'heldAnywhere sees every worker');
  assert.equal(await b.acquire('u1', 0), null, 'held elsewhere: no wait, no lock');
  const other = await b.acquire('u2', 0);
  assert.ok(other, 'other uploads are independent');
  const waiting = b.acquire('u1', 60_000);
  release();
  const second = await waiting;
  assert.ok(second, 'the waiter got the lock once it was released');
  assert.equal(a.isHeld('u1'), false);
  assert.equal(b.isHeld('u1'), true);
  second();
  other();
  assert.deepEqual([...(await a.heldAnywhere())], []);
});

test('a waiter is refused after its timeout while the lock stays held', async () => {
  const { worker } = cluster();
  const [a, b] = [worker(1), worker(2)];
  const release = await a.acquire('u1', 0);
  assert.equal(await b.acquire('u1', 20), null);
  release!();
  assert.ok(await b.acquire('u1', 0), 'free again after the release');
});

test('the holder is asked to let go when another request waits', async () => {
  const { worker } = cluster();
  const [a, b] = [worker(1), worker(2)];
  let asked!: () => void;
  const askedToRelease = new Promise<void>((resolve) => {
    asked = resolve;
  });
  const release = await a.acquire('u1', 0, { onReleaseRequest: asked });
  const waiting = b.acquire('u1', 60_000);
  await askedToRelease;
  release!();
  assert.ok(await waiting);
});

test('a worker that exits loses its locks at once; its waiting requests leave the line', async () => {
  const { worker, exit, table } = cluster();
  const [a, b, c] = [worker(1), worker(2), worker(3)];
  assert.ok(await a.acquire('u1', 0));
  const bWaits = b.acquire('u1', 60_000).catch((error: unknown) => error);
  // Let b's request reach the primary before a dies.
  await new Promise((resolve) => setTimeout(resolve, 5));
  exit(2);
  const cWaits = c.acquire('u1', 60_000);
  await new Promise((resolve) => setTimeout(resolve, 5));
  exit(1);
  const release = await cWaits;
  assert.ok(release, 'the next live waiter got the dead holder’s lock');
  release();
  await c.heldAnywhere(); // the release reached the primary first
  assert.equal(table.size, 0);
  void bWaits;
});

test('a release with an old token does not free a newer holder', async () => {
  const { worker } = cluster();
  const [a, b] = [worker(1), worker(2)];
  const first = await a.acquire('u1', 0);
  const waiting = b.acquire('u1', 60_000);
  first!();
  const second = await waiting;
  first!(); // released twice: no effect
  assert.equal(await a.acquire('u1', 0), null, 'b still holds it');
  second!();
});

test('without the primary, acquiring fails closed (503)', async () => {
  const { worker, exit } = cluster();
  const a = worker(1);
  exit(1);
  await assert.rejects(
    a.acquire('u1', 0),
    (error: unknown) =>
      error instanceof TusgateError &&
      error.code === 'TUSGATE_ERR_LOCK_UNAVAILABLE' &&
      error.status === 503,
  );
});

test('worker restarts back off against crash loops: at once, then doubling up to 30 s', () => {
  assert.equal(restartDelay(1), 0);
  assert.equal(restartDelay(2), 250);
  assert.equal(restartDelay(3), 500);
  assert.equal(restartDelay(20), 30_000);
});
