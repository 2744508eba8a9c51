import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BodyLimiter } from '../../../src/backends/proxy/body-limiter.ts';

function admitted(limiter: BodyLimiter, client: string): () => void {
  const admission = limiter.admit(client);
  assert.equal(admission.admitted, true, `${client} admitted`);
  return admission.admitted ? admission.release : () => {};
}

test('one address is held to its share; other addresses are not', () => {
  const limiter = new BodyLimiter({ total: 10, perClient: 2 });
  admitted(limiter, '10.0.0.1');
  const release = admitted(limiter, '10.0.0.1');
  assert.deepEqual(limiter.admit('10.0.0.1'), { admitted: false, reason: 'client_limit' });
  admitted(limiter, '10.0.0.2');
  release();
  admitted(limiter, '10.0.0.1');
  assert.equal(limiter.bodiesInFlight, 3);
});

test('the backend-wide budget refuses once full, and a release makes room', () => {
  const limiter = new BodyLimiter({ total: 2, perClient: 2 });
  const release = admitted(limiter, 'a');
  admitted(limiter, 'b');
  assert.deepEqual(limiter.admit('c'), { admitted: false, reason: 'backend_busy' });
  release();
  admitted(limiter, 'c');
});

test('a client over its share is told so even when the backend is also full', () => {
  const limiter = new BodyLimiter({ total: 1, perClient: 1 });
  admitted(limiter, 'a');
  assert.deepEqual(limiter.admit('a'), { admitted: false, reason: 'client_limit' });
  assert.deepEqual(limiter.admit('b'), { admitted: false, reason: 'backend_busy' });
});

test('releasing twice frees one place, not two', () => {
  const limiter = new BodyLimiter({ total: 2, perClient: 2 });
  const release = admitted(limiter, 'a');
  admitted(limiter, 'a');
  release();
  release();
  assert.equal(limiter.bodiesInFlight, 1);
  admitted(limiter, 'a');
  assert.deepEqual(limiter.admit('a'), { admitted: false, reason: 'client_limit' });
});
