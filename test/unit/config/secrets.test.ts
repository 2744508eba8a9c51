import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../../src/config/load.ts';
import { configSecrets } from '../../../src/config/secrets.ts';
import { tempDir } from '../../helpers/files.ts';

test('every secret the config holds or names is listed for scrubbing', async () => {
  const dir = await tempDir('tusgate-secrets-');
  try {
    const tokensFile = join(dir.path, 'tokens.yaml');
    await writeFile(tokensFile, 'file-token-12345678: bob\n');
    const config = validateConfig({
      server: { adminToken: 'admin-token-0123456789' },
      affinity: { redis: 'redis://:redis-pass@127.0.0.1:6379/0' },
      routes: [
        {
          name: 'a',
          match: { pathPrefix: '/a/' },
          auth: { type: 'static', tokens: { 'inline-token-1234': 'alice' } },
          backends: { t: { type: 'tusd', url: 'http://127.0.0.1:1/files/' } },
          hooks: [
            {
              type: 'http',
              url: 'http://127.0.0.1:2/',
              events: ['post-finish'],
              headers: { 'X-S': 'hook-secret' },
            },
            { type: 'amqp', url: 'amqp://u:amqp-pass@127.0.0.1:5672', events: ['post-finish'] },
            {
              type: 'grpc',
              url: '127.0.0.1:3',
              events: ['post-finish'],
              headers: { 'x-hook-token': 'grpc-hook-secret' },
            },
          ],
        },
        {
          name: 'b',
          match: { pathPrefix: '/b/' },
          auth: { type: 'static', tokensFile },
          backends: { t: { type: 'tusd', url: 'http://127.0.0.1:1/files/' } },
        },
        {
          name: 'c',
          match: { pathPrefix: '/c/' },
          auth: { type: 'jwt', secret: 'jwt-secret-0123456789-0123456789-01' },
          backends: { t: { type: 'tusd', url: 'http://127.0.0.1:1/files/' } },
        },
      ],
    });
    assert.deepEqual(
      new Set(configSecrets(config)),
      new Set([
        'admin-token-0123456789',
        'redis-pass',
        'inline-token-1234',
        'hook-secret',
        'amqp-pass',
        'grpc-hook-secret',
        'file-token-12345678',
        'jwt-secret-0123456789-0123456789-01',
      ]),
    );
  } finally {
    await dir.remove();
  }
});
