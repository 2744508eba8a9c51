import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  type NativeEndpoint,
  type NativeGateway,
  startNativeGateway,
  startNativeGatewayWith,
} from '../../helpers/native.ts';
import { rawExchange, rawRequest } from '../../security/fixture.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const octets = { ...tus, 'Content-Type': 'application/offset+octet-stream' };

function digest(algorithm: string, data: string | Buffer): string {
  return createHash(algorithm).update(data).digest('base64');
}

/**
 * A chunked PATCH whose `Upload-Checksum` comes as a trailer (fetch cannot send trailers).
 * `announce` puts `Trailer: Upload-Checksum` in the headers, as the checksum extension asks.
 */
function patchWithTrailer(
  url: string,
  offset: number,
  chunks: string[],
  trailer: Record<string, string>,
  options: { announce?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PATCH',
      headers: {
        ...octets,
        'Upload-Offset': String(offset),
        ...(options.announce === false ? {} : { Trailer: 'Upload-Checksum' }),
        ...options.headers,
      },
    });
    req.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.addTrailers(trailer);
    req.end();
  });
}

/** Every file under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => `${entry.parentPath}/${entry.name}`.slice(dir.length + 1))
    .sort();
}

// The same protocol, served by one process and by two workers of `server.workers` (the second
// gateway is the built CLI: a primary and two processes sharing the listener and the locks).
for (const workers of [1, 2])
  describe(`native backend: tus 1.0.0 and its extensions (workers: ${workers})`, () => {
    let gw: NativeEndpoint;

    before(async () => {
      gw = await startNativeGatewayWith({ route: { maxSize: '1MiB' }, workers });
    });
    after(() => gw?.stopAndRemove());

    async function create(headers: Record<string, string>, body?: string): Promise<string> {
      const response = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...tus, ...headers },
        body,
      });
      assert.equal(response.status, 201, await response.text());
      return response.headers.get('location')!;
    }

    const head = (url: string) => fetch(url, { method: 'HEAD', headers: tus });
    const patch = (url: string, offset: number, body: string, headers = {}) =>
      fetch(url, {
        method: 'PATCH',
        headers: { ...octets, 'Upload-Offset': String(offset), ...headers },
        body,
      });

    test('OPTIONS advertises exactly the supported extensions, max size and algorithms', async () => {
      const response = await fetch(gw.endpoint, { method: 'OPTIONS' });
      // 200 with an empty body, as tusd answers it.
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-length'), '0');
      assert.equal(await response.text(), '');
      assert.equal(response.headers.get('tus-version'), '1.0.0');
      assert.deepEqual(response.headers.get('tus-extension')?.split(',').sort(), [
        'checksum',
        'checksum-trailer',
        'concatenation',
        'concatenation-unfinished',
        'creation',
        'creation-defer-length',
        'creation-with-upload',
        'expiration',
        'termination',
      ]);
      assert.equal(response.headers.get('tus-max-size'), String(1 << 20));
      assert.equal(response.headers.get('tus-checksum-algorithm'), 'md5,sha1,sha256');
    });

    test('creation: HEAD reports offset, length, metadata and expiry', async () => {
      const url = await create({
        'Upload-Length': '10',
        'Upload-Metadata': 'filename YS50eHQ=,empty',
      });
      assert.ok(url.startsWith(gw.endpoint));
      const response = await head(url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('upload-offset'), '0');
      assert.equal(response.headers.get('upload-length'), '10');
      assert.equal(response.headers.get('upload-metadata'), 'filename YS50eHQ=,empty');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const expires = Date.parse(response.headers.get('upload-expires') ?? '');
      assert.ok(expires > Date.now() + 6 * 86_400_000, 'expires in about 7 days');
    });

    test('creation: bad lengths and metadata are 400, too large is 413', async () => {
      const cases: [Record<string, string>, number][] = [
        [{}, 400],
        [{ 'Upload-Length': '-1' }, 400],
        [{ 'Upload-Length': '1.5' }, 400],
        [{ 'Upload-Length': '+5' }, 400],
        [{ 'Upload-Length': '5', 'Upload-Defer-Length': '1' }, 400],
        [{ 'Upload-Defer-Length': '2' }, 400],
        [{ 'Upload-Length': '5', 'Upload-Metadata': 'a b c' }, 400],
        [{ 'Upload-Length': '5', 'Upload-Metadata': 'a !!!' }, 400],
        [{ 'Upload-Length': String((1 << 20) + 1) }, 413],
      ];
      for (const [headers, status] of cases) {
        const response = await fetch(gw.endpoint, {
          method: 'POST',
          headers: { ...tus, ...headers },
        });
        assert.equal(response.status, status, JSON.stringify(headers));
        assert.match(await response.text(), /^TUSGATE_ERR_\w+: /);
        assert.equal(response.headers.get('tus-resumable'), '1.0.0');
      }
    });

    test('creation-with-upload stores the body and answers its offset', async () => {
      const response = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...octets, 'Upload-Length': '11' },
        body: 'hello world',
      });
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('upload-offset'), '11');
      const url = response.headers.get('location')!;
      assert.equal(await readFile(gw.dataPath(url), 'utf8'), 'hello world');
      assert.equal(response.headers.get('upload-expires'), null, 'finished uploads do not expire');
    });

    test('PATCH: wrong offset 409, wrong Content-Type 415, no Tus-Resumable 412', async () => {
      const url = await create({ 'Upload-Length': '6' });
      assert.equal((await patch(url, 3, 'abc')).status, 409);
      const wrongType = await fetch(url, {
        method: 'PATCH',
        headers: { ...tus, 'Upload-Offset': '0', 'Content-Type': 'text/plain' },
        body: 'abc',
      });
      assert.equal(wrongType.status, 415);
      const noVersion = await fetch(url, {
        method: 'PATCH',
        headers: { 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
        body: 'abc',
      });
      assert.equal(noVersion.status, 412);
      assert.equal(noVersion.headers.get('tus-version'), '1.0.0');
      const good = await patch(url, 0, 'abc');
      assert.equal(good.status, 204);
      assert.equal(good.headers.get('upload-offset'), '3');
      assert.equal((await patch(url, 3, 'defg')).status, 413, 'longer than the upload');
      assert.equal((await patch(url, 3, 'def')).status, 204);
      assert.equal(await readFile(gw.dataPath(url), 'utf8'), 'abcdef');
    });

    for (const algorithm of ['md5', 'sha1', 'sha256']) {
      test(`checksum ${algorithm}: a match is stored, a mismatch is 460 and writes nothing`, async () => {
        const url = await create({ 'Upload-Length': '8' });
        const ok = await patch(url, 0, 'good', {
          'Upload-Checksum': `${algorithm} ${digest(algorithm, 'good')}`,
        });
        assert.equal(ok.status, 204);
        const bad = await patch(url, 4, 'evil', {
          'Upload-Checksum': `${algorithm} ${digest(algorithm, 'nice')}`,
        });
        assert.equal(bad.status, 460);
        assert.match(await bad.text(), /TUSGATE_ERR_CHECKSUM_MISMATCH/);
        assert.equal((await head(url)).headers.get('upload-offset'), '4');
        assert.equal((await stat(gw.dataPath(url))).size, 4);
      });
    }

    for (const algorithm of ['md5', 'sha1', 'sha256']) {
      test(`checksum trailer ${algorithm}: verified after the body; a mismatch is 460 and keeps nothing`, async () => {
        const url = await create({ 'Upload-Length': '8' });
        const ok = await patchWithTrailer(url, 0, ['go', 'od'], {
          'Upload-Checksum': `${algorithm} ${digest(algorithm, 'good')}`,
        });
        assert.equal(ok.status, 204, ok.body);
        const bad = await patchWithTrailer(url, 4, ['ev', 'il'], {
          'Upload-Checksum': `${algorithm} ${digest(algorithm, 'nice')}`,
        });
        assert.equal(bad.status, 460);
        assert.match(bad.body, /^TUSGATE_ERR_CHECKSUM_MISMATCH: /);
        assert.equal((await head(url)).headers.get('upload-offset'), '4');
        assert.equal((await stat(gw.dataPath(url))).size, 4);
        // The last chunk with a wrong trailer does not finish the upload or hand it off.
        await assert.rejects(stat(`${gw.handoffDir}/${url.split('/').at(-1)}`), { code: 'ENOENT' });
        const last = await patchWithTrailer(url, 4, ['nice'], {
          'Upload-Checksum': `${algorithm} ${digest(algorithm, 'nice')}`,
        });
        assert.equal(last.status, 204);
        assert.equal(
          await readFile(`${gw.handoffDir}/${url.split('/').at(-1)}`, 'utf8'),
          'goodnice',
        );
      });
    }

    test('checksum trailer: missing, unannounced, malformed, unsupported or doubled is 400 and keeps nothing', async () => {
      const url = await create({ 'Upload-Length': '4' });
      const sha1 = `sha1 ${digest('sha1', 'abcd')}`;
      const cases: [string, () => Promise<{ status: number; body: string }>][] = [
        ['announced, never sent', () => patchWithTrailer(url, 0, ['abcd'], {})],
        [
          'sent, never announced',
          () =>
            patchWithTrailer(url, 0, ['abcd'], { 'Upload-Checksum': sha1 }, { announce: false }),
        ],
        ['malformed', () => patchWithTrailer(url, 0, ['abcd'], { 'Upload-Checksum': 'sha1' })],
        [
          'header and trailer',
          () =>
            patchWithTrailer(
              url,
              0,
              ['abcd'],
              { 'Upload-Checksum': sha1 },
              { headers: { 'Upload-Checksum': sha1 } },
            ),
        ],
      ];
      for (const [name, send] of cases) {
        const { status, body } = await send();
        assert.equal(status, 400, `${name}: ${body}`);
        assert.match(body, /^TUSGATE_ERR_INVALID_CHECKSUM: /, name);
        assert.equal((await head(url)).headers.get('upload-offset'), '0', name);
      }
      const unsupported = await patchWithTrailer(url, 0, ['abcd'], {
        'Upload-Checksum': 'crc32 AAAAAA==',
      });
      assert.equal(unsupported.status, 400);
      assert.match(unsupported.body, /^TUSGATE_ERR_UNSUPPORTED_CHECKSUM: /);
      assert.equal((await stat(gw.dataPath(url))).size, 0);
      const good = await patchWithTrailer(url, 0, ['abcd'], { 'Upload-Checksum': sha1 });
      assert.equal(good.status, 204);
    });

    test('checksum: unknown algorithm 400, malformed header 400', async () => {
      const url = await create({ 'Upload-Length': '4' });
      assert.equal(
        (await patch(url, 0, 'abcd', { 'Upload-Checksum': 'crc32 AAAAAA==' })).status,
        400,
      );
      assert.equal((await patch(url, 0, 'abcd', { 'Upload-Checksum': 'sha1' })).status, 400);
      assert.equal((await head(url)).headers.get('upload-offset'), '0');
    });

    test('creation-defer-length: the length arrives with a later PATCH', async () => {
      const url = await create({ 'Upload-Defer-Length': '1' });
      const first = await head(url);
      assert.equal(first.headers.get('upload-defer-length'), '1');
      assert.equal(first.headers.get('upload-length'), null);
      assert.equal((await patch(url, 0, 'abc')).status, 204);
      const last = await patch(url, 3, 'de', { 'Upload-Length': '5' });
      assert.equal(last.status, 204);
      const after = await head(url);
      assert.equal(after.headers.get('upload-length'), '5');
      assert.equal(after.headers.get('upload-offset'), '5');
    });

    test('concatenation: final upload joins finished partials; PATCH on it is 403', async () => {
      const a = await create({ 'Upload-Length': '3', 'Upload-Concat': 'partial' });
      const b = await create({ 'Upload-Length': '2', 'Upload-Concat': 'partial' });
      const notPartial = await create({ 'Upload-Length': '1' });
      const mixed = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...tus, 'Upload-Concat': `final;${a} ${notPartial}` },
      });
      assert.equal(mixed.status, 400, 'only partial uploads can be concatenated');
      await patch(a, 0, 'abc');
      await patch(b, 0, 'de');
      assert.equal((await head(a)).headers.get('upload-concat'), 'partial');
      const path = (url: string) => new URL(url).pathname;
      const final = await create({ 'Upload-Concat': `final;${path(a)} ${b}` });
      assert.equal(await readFile(gw.dataPath(final), 'utf8'), 'abcde');
      const finalHead = await head(final);
      assert.equal(finalHead.headers.get('upload-offset'), '5');
      // As tusd writes it: the partials' absolute URLs.
      assert.equal(finalHead.headers.get('upload-concat'), `final;${a} ${b}`);
      assert.equal((await patch(final, 5, 'x')).status, 403);
      const withLength = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': '5', 'Upload-Concat': `final;${a} ${b}` },
      });
      assert.equal(withLength.status, 400);
      const bogus = await fetch(gw.endpoint, {
        method: 'POST',
        headers: { ...tus, 'Upload-Concat': 'final;/files/../../etc/passwd' },
      });
      assert.equal(bogus.status, 400);
    });

    test('termination: DELETE then HEAD is 404, and the files are gone', async () => {
      const url = await create({ 'Upload-Length': '3' });
      await patch(url, 0, 'abc');
      const deleted = await fetch(url, { method: 'DELETE', headers: tus });
      assert.equal(deleted.status, 204);
      assert.equal((await head(url)).status, 404);
      assert.equal((await patch(url, 3, 'x')).status, 404);
      await assert.rejects(stat(gw.dataPath(url)), { code: 'ENOENT' });
      await assert.rejects(stat(`${gw.dataPath(url)}.info`), { code: 'ENOENT' });
    });

    test('GET downloads the bytes received so far', async () => {
      const url = await create({ 'Upload-Length': '6', 'Upload-Metadata': 'filename YS50eHQ=' });
      await patch(url, 0, 'abc');
      // A browser following a download link sends no Tus-Resumable: served, as tusd serves it.
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'abc');
      assert.match(
        response.headers.get('content-disposition') ?? '',
        /attachment; filename="a.txt"/,
      );
    });

    test('ids that are not native UUIDv7 ids, or try to escape, are 404 and touch no file', async () => {
      await create({ 'Upload-Length': '1' });
      const before = await filesUnder(gw.root);
      assert.notDeepEqual(before, []);
      for (const id of [
        '..%2F..%2Fetc%2Fpasswd',
        '%2Fetc%2Fpasswd',
        'abc%00def',
        '..',
        '0123456789abcdef0123456789abcdef',
        '01a210d4-2ebb-4f0c-996a-37ca9486b3b5',
      ]) {
        // A raw request: fetch would resolve `..` before the request left, testing nothing.
        const [response] = await rawExchange(
          Number(new URL(gw.url).port),
          rawRequest('GET', `/files/${id}`, { ...tus, Connection: 'close' }),
        );
        assert.equal(response?.status, 404, id);
        // The upload route saw the id (not some other route seeing a normalized path).
        assert.match(response?.body.toString() ?? '', /^TUSGATE_ERR_UPLOAD_NOT_FOUND: /, id);
      }
      assert.deepEqual(await filesUnder(gw.root), before, 'a file was touched');
    });
  });

describe('native backend: expiration', () => {
  let gw: NativeGateway;
  before(async () => {
    gw = await startNativeGateway({ store: { expiresAfter: '1s' } });
  });
  after(() => gw?.stopAndRemove());

  test('an unfinished upload past its TTL is 410 Gone', async () => {
    const created = await fetch(gw.endpoint, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '10' },
    });
    const url = created.headers.get('location')!;
    const expires = Date.parse(created.headers.get('upload-expires') ?? '');
    assert.ok(expires <= Date.now() + 1000);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await fetch(url, { method: 'HEAD', headers: tus })).status, 410);
    const late = await fetch(url, {
      method: 'PATCH',
      headers: { ...octets, 'Upload-Offset': '0' },
      body: 'abc',
    });
    assert.equal(late.status, 410);
    assert.match(await late.text(), /TUSGATE_ERR_UPLOAD_GONE/);
  });
});
