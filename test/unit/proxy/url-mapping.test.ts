import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UrlMapper } from '../../../src/backends/proxy/url-mapping.ts';

const mapper = new UrlMapper(
  new URL('http://127.0.0.1:1081/files/'),
  '/api/upload/resumable_upload/',
);
const origin = 'https://galaxy.example';
const id = '290e625bd9e67924d7443c020989a5f4';

test('backend Location, absolute or path-only, becomes the public URL', () => {
  const expected = `${origin}/api/upload/resumable_upload/${id}`;
  assert.equal(mapper.toPublic(`http://127.0.0.1:1081/files/${id}`, origin), expected);
  assert.equal(mapper.toPublic(`/files/${id}`, origin), expected);
  // tusd behind a proxy builds its URL from X-Forwarded-Host/-Proto: the public origin.
  assert.equal(mapper.toPublic(`https://galaxy.example/files/${id}`, origin), expected);
});

test('backend URLs that do not parse strictly are not mapped', () => {
  for (const url of [
    'http://127.0.0.1:1081/other/abc',
    'http://127.0.0.1:1081/files/a/b',
    'http://127.0.0.1:1081/files/..',
    `http://127.0.0.1:1081/files/${id}?x`,
    `http://127.0.0.1:1081/files/${id}#x`,
    `http://other.host/files/${id}`,
    `http://127.0.0.1:1081/files/x/../${id}`,
    `/files/%32${id.slice(1)}`,
  ]) {
    assert.equal(mapper.toPublic(url, origin), undefined, url);
  }
});

test('ids map to backend paths', () => {
  assert.equal(mapper.backendPath('abc'), '/files/abc');
});

test('a backend Upload-Concat maps to public URLs; anything loose is dropped', () => {
  assert.equal(mapper.concatToPublic('partial', origin), 'partial');
  assert.equal(
    mapper.concatToPublic(
      'final;http://127.0.0.1:1081/files/a https://galaxy.example/files/b',
      origin,
    ),
    `final;${origin}/api/upload/resumable_upload/a ${origin}/api/upload/resumable_upload/b`,
  );
  assert.equal(mapper.concatToPublic('final;/files/a?x', origin), undefined);
  assert.equal(mapper.concatToPublic('final;/files/a  /files/b', origin), undefined);
  assert.equal(mapper.concatToPublic('FINAL;/files/a', origin), undefined);
});
