import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clientResponseHeaders,
  upstreamRequestHeaders,
} from '../../../src/backends/proxy/headers.ts';

test('an HTTP/2 request goes upstream without its pseudo-headers or connection headers', () => {
  const headers = upstreamRequestHeaders(
    {
      ':method': 'PATCH',
      ':path': '/files/abc',
      ':authority': 'uploads.example.org',
      ':scheme': 'https',
      'content-type': 'application/offset+octet-stream',
      'transfer-encoding': 'chunked',
      te: 'trailers',
      'x-custom': 'kept',
    },
    { withBody: true },
  );
  assert.deepEqual(headers, {
    'content-type': 'application/offset+octet-stream',
    'x-custom': 'kept',
  });
});

test('a backend answer reaches the client without hop-by-hop headers', () => {
  assert.deepEqual(
    clientResponseHeaders({
      connection: 'keep-alive, x-drop',
      'keep-alive': 'timeout=5',
      'x-drop': '1',
      'upload-offset': '5',
    }),
    { 'upload-offset': '5' },
  );
});
