import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNonNegativeInteger } from '../../../src/tus/headers/integer.ts';
import { checkTusResumable } from '../../../src/tus/headers/tus-resumable.ts';
import {
  parseChecksumTrailerAnnounced,
  parseUploadChecksum,
} from '../../../src/tus/headers/upload-checksum.ts';
import { formatUploadConcat, parseUploadConcat } from '../../../src/tus/headers/upload-concat.ts';
import { parseUploadDeferLength } from '../../../src/tus/headers/upload-defer-length.ts';
import { parseUploadLength } from '../../../src/tus/headers/upload-length.ts';
import {
  formatUploadMetadata,
  parseUploadMetadata,
} from '../../../src/tus/headers/upload-metadata.ts';
import { parseUploadUrl } from '../../../src/tus/upload-url.ts';

const code = (expected: string) => (error: unknown) =>
  (error as { code?: string }).code === expected;

describe('non-negative integers', () => {
  test('decimal digits only, up to a safe integer', () => {
    assert.equal(parseNonNegativeInteger('0'), 0);
    assert.equal(parseNonNegativeInteger('007'), 7);
    assert.equal(parseNonNegativeInteger(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
    for (const bad of ['', '-1', '+1', ' 1', '1 ', '1.0', '1e3', '0x10', '١', '9007199254740992']) {
      assert.equal(parseNonNegativeInteger(bad), undefined, bad);
    }
  });

  test('Upload-Length: malformed is 400, well-formed but unrepresentable is 413', () => {
    assert.equal(parseUploadLength(undefined), undefined);
    assert.throws(() => parseUploadLength('5, 5'), code('TUSGATE_ERR_INVALID_LENGTH'));
    assert.throws(() => parseUploadLength('-5'), code('TUSGATE_ERR_INVALID_LENGTH'));
    assert.throws(() => parseUploadLength('100000000000000000'), code('TUSGATE_ERR_SIZE_EXCEEDED'));
  });

  test('Upload-Defer-Length is 1 or absent', () => {
    assert.equal(parseUploadDeferLength('1'), true);
    assert.equal(parseUploadDeferLength(undefined), false);
    assert.throws(() => parseUploadDeferLength('true'), code('TUSGATE_ERR_INVALID_LENGTH'));
  });
});

describe('Upload-Metadata', () => {
  test('__proto__ and constructor are keys like any other', () => {
    const metadata = parseUploadMetadata('__proto__ dmFs,constructor eA==,empty');
    assert.ok(metadata);
    assert.equal(Object.getPrototypeOf(metadata), null);
    assert.deepEqual(Object.keys(metadata), ['__proto__', 'constructor', 'empty']);
    assert.equal(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value, 'val');
    assert.equal(formatUploadMetadata(metadata), '__proto__ dmFs,constructor eA==,empty');
  });

  test('refuses duplicates, bad base64, spaces and empty keys', () => {
    for (const header of ['a YQ==,a Yg==', 'a !!', 'a b c', ' , ', 'a YQ', 'a Y===']) {
      assert.throws(
        () => parseUploadMetadata(header),
        code('TUSGATE_ERR_INVALID_METADATA'),
        header,
      );
    }
  });
});

describe('Upload-Checksum', () => {
  test('"<algorithm> <base64>" exactly', () => {
    const checksum = parseUploadChecksum('sha1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=');
    assert.equal(checksum?.algorithm, 'sha1');
    assert.equal(checksum?.digest.length, 20);
    for (const bad of [
      'sha1',
      'sha1  qZk+',
      'sha1 qZk',
      'SHA1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0=',
      ' sha1 YQ==',
      'sha1 YQ== x',
    ]) {
      assert.throws(() => parseUploadChecksum(bad), code('TUSGATE_ERR_INVALID_CHECKSUM'), bad);
    }
  });
});

describe('upload URLs and Upload-Concat', () => {
  const base = { origins: ['https://galaxy.example'], basePath: '/up/' };

  test('only plain upload URLs of the route name an id', () => {
    assert.equal(parseUploadUrl('/up/abc', base), 'abc');
    assert.equal(parseUploadUrl('https://galaxy.example/up/abc', base), 'abc');
    assert.equal(parseUploadUrl('HTTPS://Galaxy.Example/up/abc', base), 'abc');
    for (const bad of [
      '/up/abc?',
      '/up/abc#x',
      '/up/x/../abc',
      '/up/%61bc',
      '/up/',
      '//evil.example/up/abc',
      'http://galaxy.example/up/abc',
      'https://galaxy.example.evil/up/abc',
      'https://galaxy.example:444/up/abc',
      '/UP/abc',
      'abc',
    ]) {
      assert.equal(parseUploadUrl(bad, base), undefined, bad);
    }
  });

  test('partial, or final; with single-space separated URLs', () => {
    assert.deepEqual(parseUploadConcat('partial', base), { kind: 'partial' });
    assert.deepEqual(parseUploadConcat('final;/up/a https://galaxy.example/up/b', base), {
      kind: 'final',
      ids: ['a', 'b'],
    });
    for (const bad of [
      'Partial',
      'FINAL;/up/a',
      'final;',
      'final; /up/a',
      'final;/up/a ',
      'final;/up/a  /up/b',
      'final;/up/a\t/up/b',
      'final;/up/a?',
      'final;/up/a#x',
      'final;http://other.host/up/a',
      'final;/up/x/../a',
      'final;/up/%61',
    ]) {
      assert.throws(() => parseUploadConcat(bad, base), code('TUSGATE_ERR_INVALID_CONCAT'), bad);
    }
  });

  test('serialized with the URLs the receiver expects', () => {
    const concat = parseUploadConcat('final;/up/a /up/b', base);
    assert.equal(
      formatUploadConcat(concat, (id) => `/files/${id}`),
      'final;/files/a /files/b',
    );
    assert.equal(formatUploadConcat({ kind: 'partial' }, String), 'partial');
    assert.equal(formatUploadConcat({ kind: 'none' }, String), undefined);
  });
});

describe('Tus-Resumable', () => {
  test('a GET or HEAD without it is served (as tusd); other methods get "missing", not "unsupported"', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) checkTusResumable(undefined, method);
    for (const method of ['POST', 'PATCH', 'DELETE']) {
      assert.throws(
        () => checkTusResumable(undefined, method),
        code('TUSGATE_ERR_MISSING_VERSION'),
      );
      checkTusResumable('1.0.0', method);
    }
  });

  test('a version other than 1.0.0 is "unsupported" on every method but OPTIONS', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE']) {
      for (const version of ['0.2.2', '', '1.0.0, 1.0.0']) {
        assert.throws(
          () => checkTusResumable(version, method),
          code('TUSGATE_ERR_UNSUPPORTED_VERSION'),
          `${method} ${version}`,
        );
      }
    }
    checkTusResumable('0.2.2', 'OPTIONS');
  });
});

describe('Upload-Checksum as a trailer', () => {
  test('announced by Trailer (any case, among others) on a chunked body only, never beside the header', () => {
    assert.equal(parseChecksumTrailerAnnounced(undefined, true, undefined), false);
    assert.equal(parseChecksumTrailerAnnounced('X-Other', true, undefined), false);
    assert.equal(parseChecksumTrailerAnnounced('upload-checksum', true, undefined), true);
    assert.equal(parseChecksumTrailerAnnounced('X-Other, Upload-Checksum', true, undefined), true);
    assert.throws(
      () => parseChecksumTrailerAnnounced('Upload-Checksum', false, undefined),
      code('TUSGATE_ERR_INVALID_CHECKSUM'),
    );
    assert.throws(
      () => parseChecksumTrailerAnnounced('Upload-Checksum', true, 'sha1 AAAA'),
      code('TUSGATE_ERR_INVALID_CHECKSUM'),
    );
  });
});
