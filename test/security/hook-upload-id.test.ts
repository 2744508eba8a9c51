import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newUploadId } from '../../src/backends/native/upload-id.ts';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { type HookReceiver, startHookReceiver } from '../helpers/hook-receiver.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const hour = 3_600_000;

/**
 * `ChangeFileInfo.ID` from a pre-create hook: a native upload's id is also its creation date (its
 * folder and expiry come from it), and the id must name no other upload. An id that is taken, not
 * a UUIDv7, or dated away from now refuses the creation (409) and creates nothing.
 */
describe('a pre-create hook choosing the upload id', () => {
  let receiver: HookReceiver;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  const storeRoot = () => join(dir.path, 'store');

  before(async () => {
    receiver = await startHookReceiver();
    dir = await tempDir('tusgate-hook-id-');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store'), expiresAfter: '2h' } },
      routes: [
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [{ type: 'http', url: receiver.url, events: ['pre-create'] }],
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await receiver?.close();
    await dir?.remove();
  });

  const uploads = async () => {
    const entries = await readdir(storeRoot(), { recursive: true }).catch(() => []);
    return entries.filter((entry) => String(entry).endsWith('.info')).sort();
  };
  const createWithHookId = async (id: string, body = '') => {
    receiver.answer('pre-create', 200, { ChangeFileInfo: { ID: id } });
    try {
      return await fetch(`${gw.url}/files/`, {
        method: 'POST',
        headers: {
          ...tus,
          'Upload-Length': '5',
          ...(body ? { 'Content-Type': 'application/offset+octet-stream' } : {}),
        },
        body: body || undefined,
      });
    } finally {
      receiver.answer('pre-create', 200, {});
    }
  };

  test('a free id dated now is used', async () => {
    const id = newUploadId();
    const response = await createWithHookId(id);
    assert.equal(response.status, 201, await response.text());
    assert.equal(new URL(response.headers.get('location') ?? '').pathname, `/files/${id}`);
    const expires = Date.parse(response.headers.get('upload-expires') ?? '');
    assert.ok(expires > Date.now() + hour, 'it expires two hours after its creation');
  });

  test('an id that is already taken refuses the creation and leaves that upload alone', async () => {
    const id = newUploadId();
    const first = await createWithHookId(id, 'hello');
    assert.equal(first.status, 201, await first.text());
    const infoFile = (await uploads()).find((file) => file.includes(id));
    assert.ok(infoFile);
    const infoBefore = await readFile(join(storeRoot(), infoFile), 'utf8');
    const before = await uploads();

    const second = await createWithHookId(id);
    const body = await second.text();
    assert.equal(second.status, 409, body);
    assert.match(body, /^TUSGATE_ERR_HOOK_INVALID_ID: /);
    assert.deepEqual(await uploads(), before);
    assert.equal(await readFile(join(storeRoot(), infoFile), 'utf8'), infoBefore);
    const head = await fetch(`${gw.url}/files/${id}`, { method: 'HEAD', headers: tus });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('upload-offset'), '5', 'the first upload keeps its bytes');
    const line = gw.logs().findLast((entry) => entry.hookId === id);
    assert.equal(line?.level, 50, 'logged as an error of the hook');
  });

  const unusable = {
    'dated a day ago (it would expire at once)': () => newUploadId(Date.now() - 24 * hour),
    'dated in the year 10889 (never cleaned)': () => newUploadId(Date.UTC(10889, 0, 1)),
    'dated an hour ahead': () => newUploadId(Date.now() + hour),
    'not a UUIDv7': () => '5f0c6c0e-8d3a-4f5e-9b1a-2c3d4e5f6a7b',
    'a path': () => '../../etc/passwd',
  };
  for (const [name, make] of Object.entries(unusable)) {
    test(`an id ${name} refuses the creation with a 409 and creates nothing`, async () => {
      const before = await uploads();
      const id = make();
      const response = await createWithHookId(id);
      const body = await response.text();
      assert.equal(response.status, 409, body);
      assert.match(body, /^TUSGATE_ERR_HOOK_INVALID_ID: /);
      assert.deepEqual(await uploads(), before);
      assert.ok(gw.logs().some((entry) => entry.hookId === id && entry.level === 50));
    });
  }
});
