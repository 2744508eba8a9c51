import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectConfig, validateConfig } from '../../../src/config/load.ts';
import { isSecretName } from '../../../src/config/secret-names.ts';
import { configSecrets } from '../../../src/config/secrets.ts';
import { createScrubber, FILTERED } from '../../../src/observability/scrub.ts';

const s3Store = {
  type: 's3',
  bucket: 'uploads',
  prefix: 'tus/',
  endpoint: 'http://127.0.0.1:7070',
  accessKeyId: '${S3_KEY}',
  secretAccessKey: '${S3_SECRET}',
  forcePathStyle: true,
  expiresAfter: '7d',
};
/** A config whose one route stores on `store`. */
const configWith = (store: object) => ({
  stores: { objects: store },
  routes: [
    {
      name: 'a',
      match: { pathPrefix: '/a/' },
      backends: { n: { type: 'native', store: 'objects' } },
    },
  ],
});
const env = { S3_KEY: 'AKIAEXAMPLE123', S3_SECRET: 'very-secret-key-0123456789' };

test('an s3 store takes its keys from ${ENV}; they are listed for scrubbing', () => {
  const config = validateConfig(configWith(s3Store), env);
  const store = config.stores.objects;
  assert.equal(store?.type, 's3');
  assert.ok(configSecrets(config).includes('very-secret-key-0123456789'));
  assert.ok(configSecrets(config).includes('AKIAEXAMPLE123'));
  const scrub = createScrubber({ metadata: false, secrets: () => configSecrets(config) });
  const event = scrub({
    message: 'SignatureDoesNotMatch for very-secret-key-0123456789',
    extra: { secretAccessKey: 'x-y-z-w', accessKeyId: 'abcd1234' },
  });
  assert.equal(event.message, `SignatureDoesNotMatch for ${FILTERED}`);
  assert.deepEqual(event.extra, { secretAccessKey: FILTERED, accessKeyId: FILTERED });
});

test("the object stores' key names are on the one secret-names list (Sentry, hook journal)", () => {
  for (const name of [
    'secretAccessKey',
    'accessKeyId',
    'sessionToken',
    'SECRET_ACCESS_KEY',
    'private_key',
    'credentials',
  ]) {
    assert.ok(isSecretName(name), name);
  }
  for (const name of ['bucket', 'endpoint', 'keyFilename', 'region']) {
    assert.ok(!isSecretName(name), name);
  }
});

test('without keys the SDK default chain is used; one key without the other is refused', () => {
  const { accessKeyId: _a, secretAccessKey: _s, ...withoutKeys } = s3Store;
  assert.equal(inspectConfig(configWith(withoutKeys), env).issues.length, 0);
  const issues = inspectConfig(
    { stores: { objects: { ...withoutKeys, accessKeyId: 'a' } } },
    env,
  ).issues;
  assert.match(issues.map((issue) => issue.message).join('\n'), /go together/);
});

test('check-config refuses a Galaxy handoffDir on an object store and says why', () => {
  const report = inspectConfig(
    { stores: { objects: { ...s3Store, handoffDir: '/srv/galaxy' } } },
    env,
  );
  const issue = report.issues.find((found) => found.path.endsWith('handoffDir'));
  assert.ok(issue, JSON.stringify(report.issues));
  assert.match(issue.message, /POSIX folder/);
  assert.match(issue.message, /objects, not files/);
});

test('parts below S3’s 5 MiB floor are refused', () => {
  const report = inspectConfig(configWith({ ...s3Store, partSize: '1MiB' }), env);
  assert.match(report.issues.map((issue) => issue.message).join('\n'), /between 5MiB and 5GiB/);
});

test('the s3 defaults docs/object-storage.md states', () => {
  const {
    accessKeyId: _a,
    secretAccessKey: _s,
    endpoint: _e,
    prefix: _p,
    forcePathStyle: _f,
    expiresAfter: _x,
    ...minimal
  } = s3Store;
  const store = validateConfig(configWith(minimal), env).stores.objects;
  assert.equal(store?.type, 's3');
  if (store?.type !== 's3') return;
  assert.equal(store.prefix, '');
  assert.equal(store.layout, '{year}/{month}/{day}');
  assert.equal(store.region, 'us-east-1');
  assert.equal(store.forcePathStyle, false);
  assert.equal(store.partSize, 8 * 1024 * 1024);
  assert.equal(store.cleanupInterval, 3_600_000);
  assert.equal(store.expiresAfter, undefined);
  assert.equal(store.endpoint, undefined);
});

test('the gcs defaults docs/object-storage.md states; handoffDir refused there too', () => {
  const minimal = { type: 'gcs', bucket: 'uploads' };
  const store = validateConfig(configWith(minimal), env).stores.objects;
  assert.equal(store?.type, 'gcs');
  if (store?.type !== 'gcs') return;
  assert.equal(store.partSize, 8 * 1024 * 1024);
  assert.equal(store.prefix, '');
  assert.equal(store.endpoint, undefined);
  const report = inspectConfig(configWith({ ...minimal, handoffDir: '/srv/galaxy' }), env);
  assert.match(report.issues.map((issue) => issue.message).join('\n'), /POSIX folder/);
});
