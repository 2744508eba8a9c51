import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hookSchema } from '../../../src/config/schema/hooks.ts';

test('http and grpc hooks: the defaults docs/hooks.md states', () => {
  const http = hookSchema.parse({
    type: 'http',
    url: 'http://127.0.0.1:8080/',
    events: ['pre-create'],
  });
  const grpc = hookSchema.parse({ type: 'grpc', url: '127.0.0.1:8000', events: ['pre-create'] });
  for (const hook of [http, grpc]) {
    assert.ok(hook.type === 'http' || hook.type === 'grpc');
    assert.equal(hook.sizeLimit, 5 * 1024);
    assert.equal(hook.timeout, 10_000);
    assert.equal(hook.retries, 5);
    assert.equal(hook.retryDelay, 500);
    assert.equal(hook.onError, 'reject');
  }
  assert.ok(grpc.type === 'grpc');
  assert.equal(grpc.tls, false);
});

test('a grpc hook: url is host:port; metadata keys are what gRPC carries', () => {
  const grpc = (extra: Record<string, unknown>) =>
    hookSchema.safeParse({
      type: 'grpc',
      url: 'hooks.internal:8000',
      events: ['post-finish'],
      ...extra,
    });
  assert.ok(grpc({}).success);
  assert.ok(grpc({ url: '[::1]:8000' }).success);
  assert.ok(
    grpc({ forwardHeaders: ['Authorization', 'X-Api-Key'], headers: { 'x-token': 't' } }).success,
  );
  for (const bad of [
    { url: 'http://127.0.0.1:8000' },
    { url: '127.0.0.1' },
    { forwardHeaders: ['X Api'] },
    { forwardHeaders: ['grpc-timeout'] },
    { headers: { 'x-key-bin': 'a' } },
    { headers: { 'x-token': 'caf\u00e9' } },
    { headers: { 'x-token': 'a\r\nb' } },
  ]) {
    assert.equal(grpc(bad).success, false, JSON.stringify(bad));
  }
});
