import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { type ClientHttp2Session, constants } from 'node:http2';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256, tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { h2Connect, h2Request } from '../helpers/h2.ts';
import { dataFrame, headersFrame, type RawOutcome, rawH2Exchange } from '../helpers/h2-raw.ts';
import { createTestCa, type TestCa } from '../helpers/tls.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const tus = { 'tus-resumable': '1.0.0' };
const octets = { 'content-type': 'application/offset+octet-stream' };
const maxSize = 1024 * 1024;

/** A clear refusal: a 4xx answer, a reset stream, or (for a connection-level error) a GOAWAY. */
function assertRefused(outcome: RawOutcome, what: string): void {
  const refused =
    (outcome.status >= 400 && outcome.status < 500) ||
    outcome.rstCode !== undefined ||
    (outcome.goawayCode !== undefined && outcome.goawayCode !== 0);
  assert.ok(refused, `${what}: ${JSON.stringify(outcome)}`);
  assert.ok(outcome.status < 500, `${what}: a ${outcome.status}`);
}

/**
 * The HTTP/2 counterparts of the hostile suite's framing cases, over h2 on the TLS listener and
 * over h2c (prior knowledge) on the plain one, where HTTP/1.1 is served too.
 */
for (const mode of ['h2', 'h2c'] as const)
  describe(`HTTP/2 framing abuse (${mode})`, () => {
    let dir: { path: string; remove: () => Promise<void> };
    let ca: TestCa;
    let tusd: RunningTusd;
    let gw: RunningGateway;
    let port: number;
    let session: ClientHttp2Session;
    /** The CA the client trusts over TLS; none over h2c. */
    let serverCa: Buffer | undefined;

    before(async () => {
      dir = await tempDir('tusgate-h2-hostile-');
      ca = await createTestCa(dir.path);
      const server = await ca.issue('server');
      tusd = await startTusd();
      gw = await startGateway({
        stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
        routes: [
          {
            name: 'native',
            match: { pathPrefix: '/files/' },
            maxSize,
            backends: { native: { type: 'native', store: 'main' } },
          },
          {
            name: 'proxied',
            match: { pathPrefix: '/prx/' },
            maxSize,
            backends: { legacy: { type: 'tusd', url: tusd.url } },
          },
        ],
        server:
          mode === 'h2'
            ? { tls: { cert: server.cert, key: server.key }, http2: true }
            : { h2c: true },
      });
      port = Number(new URL(gw.url).port);
      serverCa = mode === 'h2' ? ca.pem : undefined;
      session = await h2Connect(gw.url, serverCa);
    });
    after(async () => {
      session?.close();
      await gw?.stop();
      await tusd?.stop();
      await dir?.remove();
    });

    async function create(prefix: string, headers: Record<string, string>): Promise<string> {
      const created = await h2Request(session, {
        ':method': 'POST',
        ':path': prefix,
        ...tus,
        ...headers,
      });
      assert.equal(created.status, 201, created.body.toString());
      return new URL(created.headers.location as string).pathname;
    }

    async function offsetOf(path: string): Promise<number> {
      const head = await h2Request(session, { ':method': 'HEAD', ':path': path, ...tus });
      assert.equal(head.status, 200);
      return Number(head.headers['upload-offset']);
    }

    /** Bytes the store holds for a native upload, or tusd for a proxied one. */
    async function storedSize(path: string): Promise<number> {
      const id = path.slice(path.lastIndexOf('/') + 1);
      if (path.startsWith('/prx/')) return (await stat(join(tusd.dir, id))).size;
      const { DateShardedStore } = await import('../../src/backends/native/store.ts');
      const { validateConfig } = await import('../../src/config/load.ts');
      const config = validateConfig({
        stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
        routes: [
          {
            name: 'x',
            match: { pathPrefix: '/x/' },
            backends: { native: { type: 'native', store: 'main' } },
          },
        ],
      });
      const store = new DateShardedStore('main', config.stores.main!);
      return (await stat(store.pathsFor(id).data)).size;
    }

    const authority = () => `127.0.0.1:${port}`;
    const request = (method: string, path: string): [string, string][] => [
      [':method', method],
      [':scheme', mode === 'h2' ? 'https' : 'http'],
      [':authority', authority()],
      [':path', path],
      ['tus-resumable', '1.0.0'],
    ];

    for (const prefix of ['/files/', '/prx/']) {
      test(`${prefix}: malformed header blocks get a 4xx or a reset, and the upload stays as it was`, async () => {
        const path = await create(prefix, { 'upload-length': '10' });
        const head = request('HEAD', path);
        const cases: [string, [string, string][]][] = [
          ['a second :path', [...head, [':path', '/other']]],
          ['an unknown pseudo-header', [...head, [':foo', 'bar']]],
          ['a pseudo-header after a regular one', [...head.slice(1), [':method', 'HEAD']]],
          ['no :method', head.slice(1)],
          ['an upper-case header name', [...head, ['Upload-Offset', '0']]],
          ['Connection', [...head, ['connection', 'keep-alive']]],
          ['Transfer-Encoding', [...head, ['transfer-encoding', 'chunked']]],
          ['TE other than trailers', [...head, ['te', 'gzip']]],
          ['a Host naming another authority', [...head, ['host', 'evil.example']]],
          [
            'an :authority that is no host',
            [...request('HEAD', path).slice(0, 2), [':authority', 'a"b'], [':path', path]],
          ],
          ['a :path that climbs out', [...request('HEAD', `${prefix}../../etc/passwd`)]],
          // nghttp2 drops such a field (and tusgate would reset the stream): without its
          // Upload-Offset the PATCH is refused either way, never applied at some offset.
          ...['\n', '\r', '\u0000'].map((bad): [string, [string, string][]] => [
            `a ${JSON.stringify(bad)} in a value`,
            [
              ...request('PATCH', path),
              ['content-type', 'application/offset+octet-stream'],
              ['upload-offset', `0${bad}5`],
            ],
          ]),
        ];
        for (const [what, headers] of cases) {
          assertRefused(await rawH2Exchange(port, serverCa, [headersFrame(headers, true)]), what);
        }
        const patch = [
          ...request('PATCH', path),
          ['content-type', 'application/offset+octet-stream'],
          ['upload-offset', '0'],
        ] as [string, string][];
        assertRefused(
          await rawH2Exchange(port, serverCa, [
            headersFrame([...patch, ['content-length', '4']], false),
            dataFrame(Buffer.from('0123456789'), true),
          ]),
          'a DATA frame past Content-Length',
        );
        assertRefused(
          await rawH2Exchange(port, serverCa, [
            headersFrame([...patch, ['content-length', '10']], false),
            dataFrame(Buffer.from('01234'), true),
          ]),
          'a body that ends short of Content-Length',
        );
        const offset = await offsetOf(path);
        assert.ok(offset <= 5, `offset ${offset}`);
        assert.equal(await storedSize(path), offset, 'the offset is what is stored');
      });

      test(`${prefix}: RST_STREAM mid-body: the offset is what was stored, and the upload resumes from it`, async () => {
        const length = maxSize;
        const body = Buffer.alloc(length);
        for (let index = 0; index < length; index += 4) body.writeUInt32LE(index, index);
        const path = await create(prefix, { 'upload-length': String(length) });
        const cut = await h2Request(
          session,
          {
            ':method': 'PATCH',
            ':path': path,
            ...tus,
            ...octets,
            'upload-offset': '0',
            'content-length': String(length),
          },
          (stream) => {
            stream.write(body.subarray(0, length / 4), () =>
              stream.close(constants.NGHTTP2_CANCEL),
            );
          },
        );
        assert.equal(cut.status, 0, 'no answer to a cancelled stream');
        // The gateway notices the reset as it comes; the offset settles once the PATCH has ended.
        let offset = -1;
        const deadline = Date.now() + 10_000;
        do {
          const head = await h2Request(session, { ':method': 'HEAD', ':path': path, ...tus });
          if (head.status === 200) offset = Number(head.headers['upload-offset']);
          if (head.status !== 423 && offset >= 0) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        } while (Date.now() < deadline);
        assert.ok(offset >= 0 && offset <= length / 4, `offset ${offset}`);
        assert.equal(await storedSize(path), offset);
        const rest = await h2Request(
          session,
          { ':method': 'PATCH', ':path': path, ...tus, ...octets, 'upload-offset': String(offset) },
          body.subarray(offset),
        );
        assert.equal(rest.status, 204, rest.body.toString());
        assert.equal(await offsetOf(path), length);
        assert.equal(await storedSize(path), length);
        if (prefix === '/prx/') {
          const { readFile } = await import('node:fs/promises');
          const stored = await readFile(join(tusd.dir, path.slice(path.lastIndexOf('/') + 1)));
          assert.equal(sha256(stored), sha256(body));
        }
      });

      test(`${prefix}: a body of undeclared length past maxSize ends in a 413 before the limit is passed`, async () => {
        const path = await create(prefix, { 'upload-defer-length': '1' });
        const answer = await h2Request(
          session,
          { ':method': 'PATCH', ':path': path, ...tus, ...octets, 'upload-offset': '0' },
          (stream) => {
            const block = Buffer.alloc(64 * 1024, 3);
            let sent = 0;
            const write = () => {
              while (!stream.destroyed && sent < 2 * maxSize) {
                sent += block.length;
                if (!stream.write(block)) return;
              }
              if (!stream.destroyed) stream.end();
            };
            stream.on('drain', write);
            write();
          },
        );
        assert.equal(answer.status, 413, answer.body.toString());
        assert.ok((await storedSize(path)) <= maxSize);
      });
    }

    test('many streams on one connection: each answered or refused, none a 5xx, offsets true', async () => {
      const path = await create('/files/', { 'upload-length': '3' });
      const patched = await h2Request(
        session,
        {
          ':method': 'PATCH',
          ':path': path,
          ...tus,
          ...octets,
          'upload-offset': '0',
          'content-length': '2',
        },
        Buffer.from('ab'),
      );
      assert.equal(patched.status, 204);
      const many = await h2Connect(gw.url, serverCa);
      try {
        const answers = await Promise.all(
          Array.from({ length: 400 }, (_, index) =>
            h2Request(many, {
              ':method': index % 2 ? 'HEAD' : 'OPTIONS',
              ':path': index % 2 ? path : '/files/',
              ...tus,
            }),
          ),
        );
        const served = answers.filter((answer) => answer.status >= 200 && answer.status < 300);
        const refused = answers.filter(
          (answer) => answer.status === 0 && answer.rstCode === constants.NGHTTP2_REFUSED_STREAM,
        );
        assert.equal(
          served.length + refused.length,
          answers.length,
          'every stream answered or refused',
        );
        assert.ok(served.length >= 100, `${served.length} served`);
        for (const answer of served.filter((item) => item.headers['upload-offset'] !== undefined)) {
          assert.equal(answer.headers['upload-offset'], '2');
        }
      } finally {
        many.close();
      }
      assert.equal(await offsetOf(path), 2);
    });

    test('a header list past maxHeaderSize gets a 431, as over HTTP/1.1', async () => {
      const answer = await h2Request(session, {
        ':method': 'OPTIONS',
        ':path': '/files/',
        ...tus,
        'x-big': 'a'.repeat(20_000),
      });
      assert.ok(
        answer.status === 431 || (answer.status === 0 && answer.rstCode !== 0),
        JSON.stringify(answer),
      );
      assert.equal(
        (await h2Request(session, { ':method': 'OPTIONS', ':path': '/files/', ...tus })).status,
        200,
      );
    });

    test('the gateway logged no 5xx and stayed up', async () => {
      const lines = gw.logs().filter((line) => line.msg === 'request');
      assert.ok(lines.length > 0);
      assert.deepEqual(
        lines.filter((line) => (line.status as number) >= 500),
        [],
      );
      assert.equal(
        (await h2Request(session, { ':method': 'OPTIONS', ':path': '/files/', ...tus })).status,
        200,
      );
    });
  });
