import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteConfig } from '../../src/config/schema/index.ts';
import { type ErrorCode, TusgateError } from '../../src/errors.ts';
import { hookRefusalFor, refusalFor } from '../../src/refusals.ts';

const galaxy = { refusals: 'galaxy' } as RouteConfig;
const tus = { refusals: 'tus' } as RouteConfig;

test('permanent refusals become 403 on a galaxy route; code, message and headers stay', () => {
  const error = new TusgateError('TUSGATE_ERR_UNAUTHORIZED', {
    headers: { 'WWW-Authenticate': 'Bearer realm="tusgate"' },
  });
  const sent = refusalFor(galaxy, error);
  assert.equal(sent.status, 403);
  assert.equal(sent.code, 'TUSGATE_ERR_UNAUTHORIZED');
  assert.equal(sent.message, 'authentication required');
  assert.deepEqual(sent.headers, error.headers);
  assert.equal(refusalFor(tus, error), error);
  assert.equal(refusalFor(undefined, error), error);
  for (const code of ['TUSGATE_ERR_SIZE_EXCEEDED', 'TUSGATE_ERR_HOOK_REJECTED'] as const) {
    assert.equal(refusalFor(galaxy, new TusgateError(code)).status, 403, code);
  }
});

test('what tus clients settle themselves, timeouts and 5xx keep their status', () => {
  const kept: ErrorCode[] = [
    'TUSGATE_ERR_UPLOAD_NOT_FOUND',
    'TUSGATE_ERR_UPLOAD_GONE',
    'TUSGATE_ERR_MISMATCHED_OFFSET',
    'TUSGATE_ERR_UPLOAD_LOCKED',
    'TUSGATE_ERR_UNSUPPORTED_VERSION',
    'TUSGATE_ERR_CHECKSUM_MISMATCH',
    'TUSGATE_ERR_REQUEST_TIMEOUT',
    'TUSGATE_ERR_AUTH_UNAVAILABLE',
    'TUSGATE_ERR_BACKEND_UNAVAILABLE',
    'TUSGATE_ERR_BACKEND_TIMEOUT',
    'TUSGATE_ERR_INTERNAL',
  ];
  for (const code of kept) {
    const error = new TusgateError(code);
    assert.equal(refusalFor(galaxy, error), error, code);
  }
});

test("a hook's rejection becomes 403 unless its status is one clients act on or a 5xx", () => {
  const answer = (StatusCode?: number) => ({
    RejectUpload: true,
    HTTPResponse: { StatusCode, Body: 'no\n' },
  });
  assert.equal(hookRefusalFor(galaxy, answer())?.HTTPResponse?.StatusCode, 403);
  assert.equal(hookRefusalFor(galaxy, answer(400))?.HTTPResponse?.StatusCode, 403);
  assert.equal(hookRefusalFor(galaxy, answer(422))?.HTTPResponse?.StatusCode, 403);
  assert.equal(hookRefusalFor(galaxy, answer(422))?.HTTPResponse?.Body, 'no\n');
  for (const status of [404, 409, 410, 423, 429, 500, 503]) {
    assert.equal(hookRefusalFor(galaxy, answer(status))?.HTTPResponse?.StatusCode, status);
  }
  assert.equal(hookRefusalFor(tus, answer(422))?.HTTPResponse?.StatusCode, 422);
});
