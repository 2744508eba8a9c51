import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { effectiveMethod, parseTusRequest } from '../../../src/tus/request.ts';
import { serializeTusRequestHeaders } from '../../../src/tus/serialize.ts';

const base = { origins: ['http://gw.example'], basePath: '/up/' };

function request(method: string, lines: [string, string][]): IncomingMessage {
  const headers: Record<string, string> = {};
  const distinct: Record<string, string[]> = {};
  for (const [name, value] of lines) {
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    distinct[name] = [...(distinct[name] ?? []), value];
  }
  return { method, headers, headersDistinct: distinct } as unknown as IncomingMessage;
}

test('a tus header sent twice is a 400, even when both copies agree', () => {
  const parsed = parseTusRequest(
    request('POST', [
      ['upload-length', '5'],
      ['upload-length', '5'],
    ]),
    'POST',
    base,
  );
  assert.equal(parsed.problem?.code, 'TUSGATE_ERR_INVALID_HEADER');
});

test('the first malformed header is kept as the problem; the rest still parse', () => {
  const parsed = parseTusRequest(
    request('POST', [
      ['upload-length', 'x'],
      ['upload-metadata', 'a YQ=='],
    ]),
    'POST',
    base,
  );
  assert.equal(parsed.problem?.code, 'TUSGATE_ERR_INVALID_LENGTH');
  assert.equal(parsed.metadata?.a, 'a');
});

test('bytes travel only as application/offset+octet-stream', () => {
  const patch = parseTusRequest(request('PATCH', [['upload-offset', '0']]), 'PATCH', base);
  assert.equal(patch.problem?.code, 'TUSGATE_ERR_INVALID_CONTENT_TYPE');
  const post = parseTusRequest(
    request('POST', [
      ['content-length', '3'],
      ['content-type', 'text/plain'],
    ]),
    'POST',
    base,
  );
  assert.equal(post.problem?.code, 'TUSGATE_ERR_INVALID_CONTENT_TYPE');
  const empty = parseTusRequest(request('POST', [['content-length', '0']]), 'POST', base);
  assert.equal(empty.problem, undefined);
});

test('X-HTTP-Method-Override changes the effective method of a POST only, never the wire method', () => {
  const req = request('POST', [['x-http-method-override', 'head']]);
  assert.equal(effectiveMethod(req), 'HEAD');
  assert.equal(req.method, 'POST');
  assert.equal(effectiveMethod(request('GET', [['x-http-method-override', 'DELETE']])), 'GET');
});

test('what is forwarded is serialized from what was parsed', () => {
  const parsed = parseTusRequest(
    request('POST', [
      ['tus-resumable', '1.0.0'],
      ['upload-length', '0010'],
      ['upload-metadata', 'name bmFtZQ==,empty'],
      ['upload-concat', 'final;http://gw.example/up/a /up/b'],
    ]),
    'POST',
    base,
  );
  assert.equal(parsed.problem, undefined);
  assert.deepEqual(
    serializeTusRequestHeaders(parsed, (id) => `/files/${id}`),
    {
      'tus-resumable': '1.0.0',
      'upload-length': '10',
      'upload-metadata': 'name bmFtZQ==,empty',
      'upload-concat': 'final;/files/a /files/b',
    },
  );
});
