import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { UrlMapper } from '../../src/backends/proxy/url-mapping.ts';
import type { Backend, RequestContext } from '../../src/backends/types.ts';
import { TusgateError } from '../../src/errors.ts';
import type { AffinityEntry, AffinityStore } from '../../src/gateway/affinity/affinity-store.ts';
import type { Authenticator } from '../../src/gateway/auth/types.ts';
import { selectBackend } from '../../src/gateway/placement.ts';
import { compileRoute } from '../../src/gateway/routing.ts';
import { parseTusRequest } from '../../src/tus/request.ts';
import { serializeTusRequestHeaders } from '../../src/tus/serialize.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { listenOnLoopback } from '../helpers/ports.ts';
import {
  alice,
  bob,
  finishedUpload,
  type HostileSetup,
  rawConversation,
  startHostileSetup,
  tus,
} from './fixture.ts';

/**
 * Finding 1 as a property: for any Upload-Concat a client can write, the uploads the ownership
 * check looks up are exactly the uploads the backend is told to concatenate (as tusd reads the
 * header: split on spaces, each URL's last path segment), or the request is refused before the
 * backend. Checked at the unit level (the real parser, placement and URL mapper, 2,000 runs) and
 * through a real gateway in front of a capturing backend (50 runs).
 */

const aliceIds = ['a11ce0000000000000000000000000a1', 'a11ce0000000000000000000000000a2'];
const bobIds = ['b0b000000000000000000000000000b1', 'b0b000000000000000000000000000b2'];
const unknownIds = ['0000000000000000000000000000dead'];

/** Ids: the seeded ones, and arbitrary strings of URL-ish characters. */
const idArbOf = (seeded: string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...seeded, ...unknownIds) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~+%;,?#/\\-]{1,10}$/) },
  );

/** One upload URL as a client might write it, for a route at `base` on `origin`. */
function urlArb(origin: string, base: string, seeded: string[]): fc.Arbitrary<string> {
  const idArb = idArbOf(seeded);
  const host = new URL(origin).host;
  const origins = [
    origin,
    origin.toUpperCase(),
    origin.replace('http:', 'https:'),
    `http://${host.split(':')[0]}`,
    'http://evil.example',
    `ftp://${host}`,
    `//${host}`,
    `http://user@${host}`,
    `${origin}:`,
    `${origin}/`,
  ];
  const plain = fc
    .tuple(fc.constantFrom(`${base}`, `${origin}${base}`), fc.constantFrom(...seeded))
    .map(([prefix, id]) => `${prefix}${id}`);
  const deviant: ((id: string) => string)[] = [
    (id) => `${base}${id}?`,
    (id) => `${base}${id}?a=b`,
    (id) => `${base}${id}#f`,
    (id) => `${base}x/../${id}`,
    (id) => `${base}./${id}`,
    (id) => `${base}%2e%2e/${id}`,
    (id) => `${base}/${id}`,
    (id) => `${base}${id}/`,
    (id) => `${base}${id};x`,
    (id) => `${base.toUpperCase()}${id}`,
    (id) => `/other/${id}`,
    (id) => `${id}`,
    (id) => `${base}%${id.charCodeAt(0).toString(16)}${id.slice(1)}`,
    (id) => `${base}${id.toUpperCase()}`,
  ];
  return fc.oneof(
    { weight: 6, arbitrary: plain },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(`${base}`, `${origin}${base}`), idArb)
        .map(([prefix, id]) => `${prefix}${id}`),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...deviant), idArb).map(([form, id]) => form(id)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...origins), idArb)
        .map(([prefix, id]) => `${prefix}${base}${id}`),
    },
  );
}

/** A whole Upload-Concat value: mostly well-formed lists, with every kind of deviation mixed in. */
function concatArb(
  origin: string,
  base: string,
  seeded = [...aliceIds, ...bobIds],
): fc.Arbitrary<string> {
  const prefix = fc.oneof(
    { weight: 8, arbitrary: fc.constant('final;') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'FINAL;',
        'Final;',
        'final; ',
        'final ;',
        'final;;',
        'final:',
        'partial;',
      ),
    },
  );
  const separator = fc.oneof(
    { weight: 8, arbitrary: fc.constant(' ') },
    { weight: 1, arbitrary: fc.constantFrom('  ', '\t', ',', ', ', ';', ' ,') },
  );
  const padding = fc.oneof(
    { weight: 8, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom(' ', '\t') },
  );
  return fc
    .tuple(
      prefix,
      fc.array(fc.tuple(urlArb(origin, base, seeded), separator), { minLength: 1, maxLength: 3 }),
      padding,
    )
    .map(
      ([head, items, tail]) =>
        head + items.map(([url, sep], i) => (i === 0 ? url : sep + url)).join('') + tail,
    );
}

/** The ids tusd takes from a final Upload-Concat: space-separated URLs, each one's last segment. */
function idsAsTusdReads(header: string): string[] {
  assert.ok(header.startsWith('final;'), header);
  return header
    .slice('final;'.length)
    .split(' ')
    .map((url) => url.trim())
    .filter((url) => url !== '')
    .map((url) => {
      const path = url.endsWith('/') ? url.slice(0, -1) : url;
      return path.slice(path.lastIndexOf('/') + 1);
    });
}

const owners = new Map<string, string>([
  ...aliceIds.map((id): [string, string] => [id, 'alice']),
  ...bobIds.map((id): [string, string] => [id, 'bob']),
]);

describe('Upload-Concat: what is checked is what the backend concatenates (property)', () => {
  test('unit level: parser, placement and the proxy mapper, 2,000 generated headers', async () => {
    const publicOrigin = 'http://gw.example:8080';
    const base = '/prx/';
    const mapper = new UrlMapper(new URL('http://127.0.0.1:1081/files/'), base);
    const backend = {
      name: 'tusd',
      kind: 'proxy',
      recognisesId: () => true,
    } as unknown as Backend;
    const route = compileRoute(
      {
        name: 'proxied',
        match: { pathPrefix: base },
        backends: {},
      } as unknown as Parameters<typeof compileRoute>[0],
      new Map([['tusd', backend]]),
      { authenticator: {} as Authenticator },
    );
    const looked: string[] = [];
    const affinity: AffinityStore = {
      kind: 'memory',
      get: async (id) => {
        looked.push(id);
        const principal = owners.get(id);
        return principal === undefined
          ? undefined
          : ({ backend: 'tusd', principal } satisfies AffinityEntry);
      },
      set: async () => {},
      checkReady: async () => {},
      close: async () => {},
    };
    let accepted = 0;
    let refusedByParser = 0;
    let refusedByOwner = 0;

    await fc.assert(
      fc.asyncProperty(concatArb(publicOrigin, base), async (header) => {
        looked.length = 0;
        const req = {
          method: 'POST',
          headers: { 'upload-concat': header, 'tus-resumable': '1.0.0' },
          headersDistinct: { 'upload-concat': [header], 'tus-resumable': ['1.0.0'] },
        } as unknown as IncomingMessage;
        const tus = parseTusRequest(req, 'POST', { origins: [publicOrigin], basePath: base });
        if (tus.problem) {
          assert.equal(tus.problem.code, 'TUSGATE_ERR_INVALID_CONCAT', header);
          refusedByParser++;
          return;
        }
        assert.equal(tus.concat.kind, 'final', header);
        const sent = serializeTusRequestHeaders(tus, (id) => mapper.backendPath(id));
        const upstream = sent['upload-concat'] ?? '';
        for (const url of upstream.slice('final;'.length).split(' ')) {
          assert.ok(url.startsWith('/files/'), `backend URL ${url} from ${header}`);
        }
        const backendIds = idsAsTusdReads(upstream);
        const ctx = {
          tus,
          uploadId: null,
          principal: 'alice',
          log: pino({ enabled: false }),
        } as unknown as RequestContext;
        let refusal: unknown;
        try {
          await selectBackend(route, req, ctx, { affinity });
        } catch (error) {
          refusal = error;
        }
        const firstForeign = backendIds.findIndex((id) => owners.get(id) !== 'alice');
        if (refusal === undefined) {
          // Admitted: the backend concatenates exactly the uploads checked, all Alice's.
          assert.deepEqual(looked, backendIds, header);
          assert.equal(firstForeign, -1, `ownership bypass: ${header}`);
          accepted++;
        } else {
          assert.ok(refusal instanceof TusgateError, String(refusal));
          assert.equal(refusal.code, 'TUSGATE_ERR_UPLOAD_NOT_FOUND', header);
          // Refused at the first id that is not Alice's: everything before it was looked up.
          assert.notEqual(firstForeign, -1, `refused without cause: ${header}`);
          assert.deepEqual(looked, backendIds.slice(0, firstForeign + 1), header);
          refusedByOwner++;
        }
      }),
      { numRuns: 2000 },
    );
    // The grammar must reach every outcome, or the property says little.
    assert.ok(accepted > 50, `accepted ${accepted}`);
    assert.ok(refusedByOwner > 50, `refused by owner ${refusedByOwner}`);
    assert.ok(refusedByParser > 500, `refused by parser ${refusedByParser}`);
    process.stdout.write(
      `# unit property: ${accepted} admitted, ${refusedByOwner} refused by owner, ${refusedByParser} refused by parser\n`,
    );
  });

  describe('end to end: a real gateway in front of a capturing backend', () => {
    let capture: Server;
    let gw: RunningGateway;
    const received: { method: string; concat: string | undefined }[] = [];
    let port: number;

    before(async () => {
      const pendingIds = [...aliceIds, ...bobIds];
      capture = createServer((req, res) => {
        received.push({
          method: req.method ?? '',
          concat: req.headers['upload-concat'] as string | undefined,
        });
        req.resume();
        req.on('end', () => {
          if (req.method !== 'POST') {
            res.writeHead(404, { 'Tus-Resumable': '1.0.0' }).end();
            return;
          }
          const id = pendingIds.shift() ?? randomBytes(16).toString('hex');
          res.writeHead(201, { 'Tus-Resumable': '1.0.0', Location: `/files/${id}` }).end();
        });
      });
      const capturePort = await listenOnLoopback(capture);
      gw = await startGateway({
        affinity: { type: 'memory' },
        routes: [
          {
            name: 'proxied',
            match: { pathPrefix: '/prx/' },
            auth: {
              type: 'static',
              tokens: { 'alice-token-1a2b3c4d': 'alice', 'bob-token-5e6f7a8b': 'bob' },
            },
            backends: {
              capture: { type: 'tusd', url: `http://127.0.0.1:${capturePort}/files/` },
            },
          },
        ],
      });
      port = Number(new URL(gw.url).port);
      // The capture server hands out the seeded ids in order: Alice's two, then Bob's two.
      for (const who of [alice, alice, bob, bob]) {
        const created = await fetch(`${gw.url}/prx/`, {
          method: 'POST',
          headers: { 'Tus-Resumable': '1.0.0', 'Upload-Concat': 'partial', ...who },
        });
        assert.equal(created.status, 201, await created.text());
      }
      received.length = 0;
    });
    after(async () => {
      await gw?.stop();
      await new Promise((resolve) => capture?.close(resolve));
    });

    test('50 generated headers: admitted ones reach the backend naming only Alice’s uploads', async () => {
      const outcomes = { admitted: 0, invalid: 0, notFound: 0 };
      await fc.assert(
        fc.asyncProperty(concatArb(`http://127.0.0.1:${port}`, '/prx/'), async (header) => {
          received.length = 0;
          const request = [
            'POST /prx/ HTTP/1.1',
            `Host: 127.0.0.1:${port}`,
            'Tus-Resumable: 1.0.0',
            `Authorization: ${alice.Authorization}`,
            `Upload-Concat: ${header}`,
            'Content-Length: 0',
            'Connection: close',
            '',
            '',
          ].join('\r\n');
          const conversation = await rawConversation(port, Buffer.from(request, 'latin1'));
          assert.ok(conversation.closed, `hang: ${header}`);
          const [response] = conversation.responses;
          assert.ok(response, `no answer: ${header}`);
          const body = response.body.toString();
          if (response.status === 201) {
            assert.equal(received.length, 1);
            const ids = idsAsTusdReads(received[0]!.concat ?? '');
            for (const id of ids) {
              assert.equal(owners.get(id), 'alice', `ownership bypass: ${header} -> ${ids}`);
            }
            assert.deepEqual(ids, idsFromHeader(header), header);
            outcomes.admitted++;
            return;
          }
          assert.deepEqual(received, [], `a refused request reached the backend: ${header}`);
          assert.ok([400, 404].includes(response.status), `${response.statusLine}: ${header}`);
          assert.match(body, /^TUSGATE_ERR_(INVALID_CONCAT|UPLOAD_NOT_FOUND|BAD_REQUEST): /);
          if (response.status === 404) outcomes.notFound++;
          else outcomes.invalid++;
        }),
        { numRuns: 50 },
      );
      assert.ok(outcomes.invalid > 0 && outcomes.admitted + outcomes.notFound > 0, `${outcomes}`);
      process.stdout.write(`# e2e property: ${JSON.stringify(outcomes)}\n`);
    });
  });
});

describe('Upload-Concat on the native route (property)', () => {
  let setup: HostileSetup;
  const seeded: string[] = [];
  const secret = 'ALICE-NATIVE-SECRET';

  before(async () => {
    setup = await startHostileSetup();
    for (const [who, body] of [
      [alice, secret],
      [alice, secret],
      [bob, 'bob'],
      [bob, 'bob'],
    ] as const) {
      const url = await finishedUpload(`${setup.origin}/files/`, who, body, {
        'Upload-Concat': 'partial',
      });
      seeded.push(url.slice(url.lastIndexOf('/') + 1));
    }
  });
  after(async () => {
    await setup?.stop();
  });

  test('50 generated headers from Bob: a final upload he can read never holds Alice’s bytes', async () => {
    const outcomes = { admitted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(concatArb(setup.origin, '/files/', seeded), async (header) => {
        const request = [
          'POST /files/ HTTP/1.1',
          `Host: ${new URL(setup.origin).host}`,
          'Tus-Resumable: 1.0.0',
          `Authorization: ${bob.Authorization}`,
          `Upload-Concat: ${header}`,
          'Content-Length: 0',
          'Connection: close',
          '',
          '',
        ].join('\r\n');
        const conversation = await rawConversation(setup.port, Buffer.from(request, 'latin1'));
        assert.ok(conversation.closed, `hang: ${header}`);
        const [response] = conversation.responses;
        assert.ok(response, `no answer: ${header}`);
        if (response.status === 201) {
          const location = new URL(response.headers.get('location') ?? '', setup.origin).href;
          const read = await fetch(location, { headers: { ...tus, ...bob } });
          const content = await read.text();
          assert.doesNotMatch(content, new RegExp(secret), `ownership bypass: ${header}`);
          assert.equal(content, 'bob'.repeat(idsFromHeader(header).length), header);
          outcomes.admitted++;
          return;
        }
        assert.ok([400, 404].includes(response.status), `${response.statusLine}: ${header}`);
        assert.match(
          response.body.toString(),
          /^TUSGATE_ERR_(INVALID_CONCAT|UPLOAD_NOT_FOUND|BAD_REQUEST): /,
        );
        outcomes.refused++;
      }),
      { numRuns: 50 },
    );
    assert.ok(outcomes.refused > 0, JSON.stringify(outcomes));
    process.stdout.write(`# native e2e property: ${JSON.stringify(outcomes)}\n`);
  });
});

/** The ids an admitted header names by its plain form (`<base><id>` or `<origin><base><id>`). */
function idsFromHeader(header: string): string[] {
  return header
    .trim()
    .slice('final;'.length)
    .split(' ')
    .map((url) => url.slice(url.lastIndexOf('/') + 1));
}
