import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createScrubber, FILTERED } from '../../../src/observability/scrub.ts';

describe('scrubber', () => {
  const scrub = createScrubber({ metadata: true, secrets: () => ['static-token-abcdef'] });

  test('blanks credential headers in any case, wherever they are nested', () => {
    const event = {
      request: {
        headers: { Authorization: 'Bearer a', cookie: 'c=1', 'X-Api-Key': 'k', Accept: '*/*' },
      },
      extra: { deep: [{ access_token: 't', password: 'p', keep: 'ok' }] },
    };
    assert.deepEqual(scrub(event), {
      request: {
        headers: {
          Authorization: FILTERED,
          cookie: FILTERED,
          'X-Api-Key': FILTERED,
          Accept: '*/*',
        },
      },
      extra: { deep: [{ access_token: FILTERED, password: FILTERED, keep: 'ok' }] },
    });
  });

  test('blanks bearer tokens and query tokens inside free text', () => {
    const message = 'GET /files/x?key=abc&token=s3cret&n=1 failed, sent Bearer eyJ.abc.def';
    const result = scrub(message);
    assert.ok(!result.includes('s3cret'));
    assert.ok(!result.includes('eyJ.abc.def'));
    assert.ok(!result.includes('key=abc'));
    assert.ok(result.includes('n=1'));
  });

  test('blanks secret values from the config anywhere', () => {
    assert.equal(scrub('used static-token-abcdef here'), `used ${FILTERED} here`);
  });

  test('metadata: true blanks all of it, a list only the named keys, false none', () => {
    assert.equal(scrub({ 'upload-metadata': 'filename ZmlsZQ==' })['upload-metadata'], FILTERED);
    const some = createScrubber({ metadata: ['filename'] });
    assert.equal(
      some({ 'Upload-Metadata': 'filename ZmlsZQ==,filetype dGV4dA==' })['Upload-Metadata'],
      `filename ${FILTERED},filetype dGV4dA==`,
    );
    assert.deepEqual(some({ metadata: { filename: 'a.txt', filetype: 'text' } }).metadata, {
      filename: FILTERED,
      filetype: 'text',
    });
    const none = createScrubber({ metadata: false });
    assert.equal(none({ metadata: 'filename ZmlsZQ==' }).metadata, 'filename ZmlsZQ==');
  });

  test('leaves numbers, booleans and null alone and does not mutate its input', () => {
    const input = { n: 1, b: true, z: null, token: 'x' };
    assert.deepEqual(scrub(input), { n: 1, b: true, z: null, token: FILTERED });
    assert.equal(input.token, 'x');
  });
});
