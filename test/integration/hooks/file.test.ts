import assert from 'node:assert/strict';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const metadata = (name: string) => `filename ${Buffer.from(name).toString('base64')}`;

describe('file hooks', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let received: string;

  before(async () => {
    dir = await tempDir('tusgate-file-hooks-');
    received = join(dir.path, 'received');
    const script = join(dir.path, 'on-upload');
    // tusd-style: the event name as argument, the JSON on stdin, the answer on stdout.
    await writeFile(
      script,
      `#!/bin/sh
set -e
mkdir -p '${received}'
payload=$(cat)
printf '%s' "$payload" > '${received}'/"$1-$(date +%s%N)".json
case "$payload" in
  *"$(printf 'forbidden.exe' | base64)"*|*'"forbidden.exe"'*) echo "no executables" >&2; exit 3 ;;
esac
if [ "$1" = "pre-create" ]; then
  echo '{"ChangeFileInfo":{"MetaData":{"filename":"checked.txt"}}}'
fi
`,
    );
    await chmod(script, 0o755);
    // A hook that hangs, with a child of its own that keeps stdout open.
    const slow = join(dir.path, 'slow-hook');
    await writeFile(slow, '#!/bin/sh\nsleep 300 &\nsleep 300\n');
    await chmod(slow, 0o755);
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'files',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [{ type: 'file', command: script, events: ['pre-create', 'post-finish'] }],
        },
        {
          name: 'slow',
          match: { pathPrefix: '/slow/' },
          backends: { native: { type: 'native', store: 'main' } },
          hooks: [{ type: 'file', command: slow, events: ['pre-create'], timeout: '300ms' }],
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await dir?.remove();
  });

  const receivedOf = async (event: string) => {
    const names = await readdir(received).catch(() => [] as string[]);
    return Promise.all(
      names
        .filter((name) => name.startsWith(`${event}-`))
        .sort()
        .map(async (name) => JSON.parse(await readFile(join(received, name), 'utf8'))),
    );
  };

  test('the script gets the hook JSON on stdin, and its stdout answers pre-create', async () => {
    const created = await fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: {
        ...tus,
        'Upload-Length': '5',
        'Upload-Metadata': metadata('notes.txt'),
        'Content-Type': 'application/offset+octet-stream',
      },
      body: 'hello',
    });
    assert.equal(created.status, 201);
    const id = (created.headers.get('location') ?? '').split('/').pop();
    const [pre] = await receivedOf('pre-create');
    assert.equal(pre.Type, 'pre-create');
    assert.equal(pre.Event.Upload.Size, 5);
    assert.deepEqual(pre.Event.Upload.MetaData, { filename: 'notes.txt' });
    assert.equal(pre.Event.HTTPRequest.Method, 'POST');
    let finished: { Event: { Upload: { ID: string; MetaData: Record<string, string> } } }[] = [];
    for (let attempt = 0; attempt < 200 && finished.length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      finished = await receivedOf('post-finish');
    }
    assert.equal(finished.length, 1);
    assert.equal(finished[0]!.Event.Upload.ID, id);
    assert.deepEqual(finished[0]!.Event.Upload.MetaData, { filename: 'checked.txt' });
  });

  test('a non-zero exit on pre-create rejects the upload', async () => {
    const response = await fetch(`${gw.url}/files/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '5', 'Upload-Metadata': metadata('forbidden.exe') },
    });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /^TUSGATE_ERR_HOOK_REJECTED: /);
  });

  test('a hook that outlives its timeout is stopped with everything it started: 503', async () => {
    const response = await fetch(`${gw.url}/slow/`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '5' },
      // Far beyond the hook's 300 ms: only a hook whose children kept its pipes open gets here.
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(response.status, 503);
    assert.match(await response.text(), /^TUSGATE_ERR_HOOK_UNAVAILABLE: /);
  });
});
