import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UrlMapper } from '../../../src/backends/proxy/url-mapping.ts';

const mapper = new UrlMapper(
  new URL('http://127.0.0.1:1081/files/'),
  '/api/upload/resumable_upload/',
);
const origin = 'https://galaxy.example';

test('backend Location, absolute or relative, becomes the public URL', () => {
  const id = '290e625bd9e67924d7443c020989a5f4';
  const expected = `${origin}/api/upload/resumable_upload/${id}`;
  assert.equal(mapper.toPublic(`http://127.0.0.1:1081/files/${id}`, origin), expected);
  assert.equal(mapper.toPublic(`/files/${id}`, origin), expected);
  // tusd behind a proxy builds its URL from X-Forwarded-Host; only the base path matters.
  assert.equal(mapper.toPublic(`https://galaxy.example/files/${id}`, origin), expected);
});

test('URLs outside the backend base or with bad ids are not mapped', () => {
  assert.equal(mapper.toPublic('http://127.0.0.1:1081/other/abc', origin), undefined);
  assert.equal(mapper.toPublic('http://127.0.0.1:1081/files/a/b', origin), undefined);
  assert.equal(mapper.toPublic('http://127.0.0.1:1081/files/..', origin), undefined);
});

test('public URLs map to backend paths', () => {
  assert.equal(
    mapper.toBackendPath(`${origin}/api/upload/resumable_upload/abc`, origin),
    '/files/abc',
  );
  assert.equal(mapper.toBackendPath('/api/upload/resumable_upload/abc', origin), '/files/abc');
  assert.equal(mapper.toBackendPath('/elsewhere/abc', origin), undefined);
  assert.equal(mapper.toBackendPath('/api/upload/resumable_upload/..%2F..', origin), undefined);
});

test('Upload-Concat lists map both ways; partial passes unchanged', () => {
  const toBackend = (url: string) => mapper.toBackendPath(url, origin);
  assert.equal(mapper.mapConcat('partial', toBackend), 'partial');
  assert.equal(
    mapper.mapConcat(
      `final;${origin}/api/upload/resumable_upload/a /api/upload/resumable_upload/b`,
      toBackend,
    ),
    'final;/files/a /files/b',
  );
  assert.equal(mapper.mapConcat('final;/elsewhere/a', toBackend), undefined);
  assert.equal(mapper.mapConcat('final;', toBackend), undefined);
  assert.equal(
    mapper.mapConcat('final;http://127.0.0.1:1081/files/a http://127.0.0.1:1081/files/b', (url) =>
      mapper.toPublic(url, origin),
    ),
    `final;${origin}/api/upload/resumable_upload/a ${origin}/api/upload/resumable_upload/b`,
  );
});
