import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { validateConfig } from '../../../src/config/load.ts';
import { configCredentialHeaders } from '../../../src/config/secret-names.ts';
import { configSecrets } from '../../../src/config/secrets.ts';
import { TokensFileCache } from '../../../src/config/tokens-file.ts';
import { createScrubber, FILTERED } from '../../../src/observability/scrub.ts';
import { tempDir } from '../../helpers/files.ts';

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

  test("blanks the routes' own credential headers, named by the config", () => {
    const config = validateConfig({
      routes: [
        {
          name: 'jobs',
          match: { pathPrefix: '/jobs/' },
          auth: { type: 'static', header: 'X-Job-Files-Token', tokens: { 'job-token-123': 'job' } },
          backends: { a: { type: 'tusd', url: 'http://127.0.0.1:1/files/' } },
        },
      ],
    });
    const withNames = createScrubber({
      metadata: false,
      secretNames: () => configCredentialHeaders(config),
    });
    assert.deepEqual(
      withNames({ headers: { 'X-Job-Files-Token': 'j', 'X-Auth-Token': 'a', Accept: '*/*' } }),
      {
        headers: { 'X-Job-Files-Token': FILTERED, 'X-Auth-Token': FILTERED, Accept: '*/*' },
      },
    );
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

describe('scrubber secrets lookup', () => {
  /** One Sentry-like event with many strings, one of which quotes a token from the file. */
  const eventQuoting = (token: string) => ({
    message: `upload failed for ${token}`,
    breadcrumbs: Array.from({ length: 40 }, (_, index) => ({
      message: `step ${index}`,
      category: 'http',
      data: { url: `/files/${index}`, method: 'PATCH' },
    })),
  });

  test('lists the secrets once per event, and reads a tokens file again only when it changed', async () => {
    const dir = await tempDir('tusgate-scrub-');
    try {
      const tokensFile = join(dir.path, 'tokens.yaml');
      await writeFile(tokensFile, 'file-token-12345678: bob\n');
      const config = validateConfig({
        routes: [
          {
            name: 'a',
            match: { pathPrefix: '/a/' },
            auth: { type: 'static', tokensFile },
            backends: { t: { type: 'tusd', url: 'http://127.0.0.1:1/files/' } },
          },
        ],
      });
      let reads = 0;
      const files = new TokensFileCache((file) => {
        reads++;
        return readFileSync(file, 'utf8');
      });
      let lookups = 0;
      const scrub = createScrubber({
        metadata: true,
        secrets: () => {
          lookups++;
          return configSecrets(config, files);
        },
      });

      const first = scrub(eventQuoting('file-token-12345678'));
      assert.equal(first.message, `upload failed for ${FILTERED}`);
      assert.equal(lookups, 1);
      assert.equal(reads, 1);

      scrub(eventQuoting('file-token-12345678'));
      assert.equal(lookups, 2);
      assert.equal(reads, 1, 'an unchanged tokens file is not read again');

      await writeFile(tokensFile, 'other-token-87654321-longer: carol\n');
      const third = scrub(eventQuoting('other-token-87654321-longer'));
      assert.equal(third.message, `upload failed for ${FILTERED}`);
      assert.equal(reads, 2);
    } finally {
      await dir.remove();
    }
  });
});
