import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type HookReceiver, startHookReceiver } from '../helpers/hook-receiver.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const jobToken = 'job-files-token-3f9a1c7e5b';

/**
 * The hook journal is a file on disk: no credential the request carried may be written to it —
 * the route's own auth header (`auth.header`, docs' `X-Job-Files-Token`), nor any header error
 * reports treat as secret.
 */
describe('the hook journal keeps credentials off the disk', () => {
  let receiver: HookReceiver;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    receiver = await startHookReceiver();
    // Down: every event stays owed, on file.
    await receiver.stop();
    dir = await tempDir('tusgate-journal-credentials-');
    const hooks = [
      { type: 'http', url: receiver.url, events: ['post-create'], retries: 100, retryDelay: '10s' },
    ];
    gw = await startGateway({
      hookJournal: join(dir.path, 'journal'),
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'jobs',
          match: { pathPrefix: '/jobs/' },
          auth: { type: 'static', header: 'X-Job-Files-Token', tokens: { [jobToken]: 'job' } },
          backends: { native: { type: 'native', store: 'main' } },
          hooks,
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await dir?.remove();
  });

  test('neither the route auth header nor any secret header reaches the journal', async () => {
    const secrets: Record<string, string> = {
      'X-Job-Files-Token': jobToken,
      Authorization: 'Bearer authorization-secret-11',
      Cookie: 'galaxysession=cookie-secret-22',
      'X-Api-Key': 'api-key-secret-33',
      'Api-Key': 'api-key-secret-44',
      'Access-Token': 'access-token-secret-55',
      'X-Auth-Token': 'auth-token-secret-66',
      Password: 'password-secret-77',
      'Client-Secret': 'client-secret-88',
      Jwt: 'jwt-secret-99',
      Galaxysession: 'galaxysession-secret-00',
    };
    const response = await fetch(`${gw.url}/jobs/`, {
      method: 'POST',
      headers: { ...tus, ...secrets, 'Upload-Length': '4', 'X-Kept': 'not-a-secret' },
    });
    assert.equal(response.status, 201, await response.text());
    const files = await readdir(join(dir.path, 'journal'));
    const journal = (
      await Promise.all(files.map((file) => readFile(join(dir.path, 'journal', file), 'utf8')))
    ).join('');
    assert.match(journal, /not-a-secret/, 'the event is on file, with its other headers');
    for (const [name, value] of Object.entries(secrets)) {
      const secret = value.replace(/^Bearer |^galaxysession=/, '');
      assert.doesNotMatch(journal, new RegExp(secret), `${name} is not on disk`);
    }
  });
});
