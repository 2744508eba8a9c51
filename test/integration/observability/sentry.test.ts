import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { type SentrySink, startSentrySink } from '../../helpers/sentry-sink.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const secrets = {
  bearer: 'bearer-secret-4f1d9c',
  cookie: 'cookie-secret-77a0b2',
  apiKey: 'apikey-secret-e5c3aa',
  query: 'query-secret-0b9e41',
  filename: 'patient-0042-genome.fastq',
};
const credentialHeaders = {
  Authorization: `Bearer ${secrets.bearer}`,
  Cookie: `galaxysession=${secrets.cookie}`,
  'X-Api-Key': secrets.apiKey,
  'Upload-Metadata': `filename ${Buffer.from(secrets.filename).toString('base64')}`,
};

describe('Sentry error reports', () => {
  let sink: SentrySink;
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    sink = await startSentrySink();
    tusd = await startTusd();
    dir = await tempDir('tusgate-sentry-');
    const unwritableRoot = join(dir.path, 'not-a-folder');
    await writeFile(unwritableRoot, 'a file where the store folder should be');
    gw = await startGateway({
      sentry: { dsn: sink.dsn, environment: 'ci', release: 'tusgate@test', throttle: '1ms' },
      stores: { broken: { type: 'date-sharded', root: unwritableRoot } },
      routes: [
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          backends: { store: { type: 'native', store: 'broken' } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await sink?.close();
    await dir?.remove();
  });

  const flush = () => gw.gateway.errors.flush(5000);

  test('client mistakes (4xx) send nothing', async () => {
    const missing = await fetch(`${gw.url}/legacy/0123456789abcdef`, {
      method: 'HEAD',
      headers: { ...tus, ...credentialHeaders },
    });
    assert.equal(missing.status, 404);
    const badVersion = await fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '0.2.2', 'Upload-Length': '1' },
    });
    assert.equal(badVersion.status, 412);
    const traversal = await fetch(`${gw.url}/files/..%2F..%2Fetc%2Fpasswd`, {
      method: 'HEAD',
      headers: tus,
    });
    assert.equal(traversal.status, 404);
    assert.equal(await flush(), true);
    assert.equal(sink.events().length, 0);
  });

  test('an unwritable store sends one event with its tags and no credentials', async () => {
    const response = await fetch(`${gw.url}/files/?token=${secrets.query}`, {
      method: 'POST',
      headers: { ...tus, ...credentialHeaders, 'Upload-Length': '10' },
    });
    assert.equal(response.status, 500);
    const requestId = response.headers.get('x-request-id');
    assert.equal(await flush(), true);
    const events = sink.events();
    assert.equal(events.length, 1);
    const tags = events[0]!.tags as Record<string, string>;
    assert.equal(tags.route, 'native');
    assert.equal(tags.backend, 'store');
    assert.equal(tags.method, 'POST');
    assert.equal(tags.request_id, requestId);
    assert.equal(events[0]!.environment, 'ci');
    assert.equal(events[0]!.release, 'tusgate@test');
    assertNoSecrets(sink);
  });

  test('a backend refusing connections sends one event with its tags and no credentials', async () => {
    await tusd.stop();
    const response = await fetch(`${gw.url}/legacy/?token=${secrets.query}`, {
      method: 'POST',
      headers: { ...tus, ...credentialHeaders, 'Upload-Length': '10' },
    });
    assert.equal(response.status, 502);
    assert.equal(await flush(), true);
    const events = sink.events();
    assert.equal(events.length, 2);
    const tags = events[1]!.tags as Record<string, string>;
    assert.deepEqual(
      { route: tags.route, backend: tags.backend, method: tags.method, kind: tags.kind },
      { route: 'legacy', backend: 'tusd', method: 'POST', kind: 'connect' },
    );
    assert.equal(tags.request_id, response.headers.get('x-request-id'));
    assertNoSecrets(sink);
  });
});

function assertNoSecrets(sink: SentrySink): void {
  const everything = sink.envelopes.map((envelope) => envelope.raw).join('\n');
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(!everything.includes(value), `${name} reached Sentry`);
    const encoded = Buffer.from(value).toString('base64');
    assert.ok(!everything.includes(encoded), `${name} (base64) reached Sentry`);
  }
}
