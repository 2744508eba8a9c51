import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  alice,
  finishedUpload,
  type HostileSetup,
  rawConversation,
  startHostileSetup,
  tus,
  watchTusd,
} from './fixture.ts';

const sentinelText = 'SENTINEL-NEXT-TO-THE-STORE';

/**
 * Upload ids that try to leave the store or the backend's collection, in every encoding, sent raw
 * (no client normalizes them first) with valid credentials on both routes and every tus method.
 * `victim` stands for a real upload id of the route, so a form that decoded to it would be served.
 */
const idForms: [name: string, suffix: string][] = [
  ['..', '..'],
  ['../sentinel', '../sentinel'],
  ['../../../sentinel', '../../../sentinel'],
  ['./victim', './victim'],
  ['.', '.'],
  ['x/../victim', 'x/../victim'],
  ['%2e%2e', '%2e%2e'],
  ['%2E%2E%2Fsentinel', '%2E%2E%2Fsentinel'],
  ['..%2fsentinel', '..%2fsentinel'],
  ['double-encoded %252e%252e%252fsentinel', '%252e%252e%252fsentinel'],
  ['%2fvictim', '%2fvictim'],
  ['victim%2f..%2f..%2fsentinel', 'victim%2f..%2f..%2fsentinel'],
  ['..%5csentinel', '..%5csentinel'],
  ['backslash ..\\sentinel', '..\\sentinel'],
  ['%00', '%00'],
  ['victim%00', 'victim%00'],
  ['victim%00.info', 'victim%00.info'],
  ['victim;x', 'victim;x'],
  [';', ';'],
  ['overlong UTF-8 %c0%ae%c0%ae%c0%afsentinel', '%c0%ae%c0%ae%c0%afsentinel'],
  ['fullwidth ．．／ percent-encoded', '%ef%bc%8e%ef%bc%8e%ef%bc%8fsentinel'],
  ['fullwidth ．．／ raw UTF-8', Buffer.from('．．／sentinel').toString('latin1')],
  ['one-dot leader %e2%80%a4%e2%80%a4', '%e2%80%a4%e2%80%a4%2fsentinel'],
  ['victim with a trailing slash', 'victim/'],
  ['%2e victim', '%2evictim'],
  ['victim%3f..', 'victim%3f..'],
  ['victim#fragment', 'victim#x'],
  ['..?x=1', '..?x=1'],
  ['201 characters', 'a'.repeat(201)],
  ['5000 characters', 'a'.repeat(5000)],
];

/** Forms whose id is well-formed: the gateway asks the backend, which knows no such upload. */
const wellFormed: [name: string, suffix: string][] = [
  ['victim with a trailing dot', 'victim.'],
  ['victim.info (tusd’s own info file)', 'victim.info'],
  ['200 characters', 'a'.repeat(200)],
];

/** Absolute-form targets: the path is read as sent, dot segments are not resolved away. */
const absoluteForms: [name: string, target: string][] = [
  ['absolute-form ..%2f', 'http://127.0.0.1/BASE..%2fsentinel'],
  ['absolute-form x/../victim', 'http://127.0.0.1/BASEx/../victim'],
  ['absolute-form %2e%2e/victim', 'http://127.0.0.1/BASEx/%2e%2e/victim'],
  ['absolute-form foreign host ../../', 'http://evil.example/BASE../../sentinel'],
];

const methods = ['HEAD', 'GET', 'PATCH', 'DELETE', 'POST', 'OPTIONS'] as const;
const routes = [
  { name: 'proxied', base: '/prx/' },
  { name: 'native', base: '/files/' },
] as const;

describe('upload ids that try to traverse', () => {
  let setup: HostileSetup;
  const victims = new Map<string, string>();
  let sentinel: string;
  let sentinelMtime: number;

  before(async () => {
    setup = await startHostileSetup();
    for (const route of routes) {
      const url = await finishedUpload(`${setup.origin}${route.base}`, alice, 'victim');
      victims.set(route.name, url.slice(url.lastIndexOf('/') + 1));
    }
    sentinel = join(setup.dir, 'sentinel');
    await writeFile(sentinel, sentinelText);
    await writeFile(join(setup.storeRoot, 'sentinel'), sentinelText);
    sentinelMtime = (await stat(sentinel)).mtimeMs;
  });
  after(async () => {
    if (setup) await assertNothingEscaped(setup, sentinel, sentinelMtime);
    await setup?.stop();
  });

  /** Sends `method target` raw; returns its status and body (HEAD: no body). */
  async function send(method: string, target: string) {
    const lines = [
      `${method} ${target} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Tus-Resumable: 1.0.0',
      `Authorization: ${alice.Authorization}`,
      'Connection: close',
    ];
    if (method === 'PATCH') {
      lines.push('Upload-Offset: 0', 'Content-Type: application/offset+octet-stream');
    }
    if (method === 'POST') lines.push('Upload-Length: 1');
    if (method === 'PATCH' || method === 'POST') lines.push('Content-Length: 0');
    const conversation = await rawConversation(
      setup.port,
      Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'),
    );
    assert.ok(conversation.closed, `${method} ${target}: hang`);
    assert.equal(conversation.responses.length, 1, conversation.raw.toString('latin1'));
    const response = conversation.responses[0]!;
    return {
      status: response.status,
      body: method === 'HEAD' ? '' : response.body.toString(),
      raw: conversation.raw.toString('latin1'),
      tusResumable: response.headers.get('tus-resumable'),
    };
  }

  for (const route of routes) {
    for (const [name, suffix] of idForms) {
      test(`${route.name}: ${name} is a 404 (or Node's 400) for every method, nothing reaches a backend`, async () => {
        const target = route.base + suffix.replaceAll('victim', victims.get(route.name)!);
        const tusd = watchTusd(setup.tusd);
        for (const method of methods) {
          const answer = await send(method, target);
          assert.ok([400, 404].includes(answer.status), `${method}: ${answer.raw}`);
          assert.equal(answer.tusResumable, '1.0.0', `${method}: ${answer.raw}`);
          if (method !== 'HEAD') {
            assert.match(
              answer.body,
              answer.status === 404
                ? /^TUSGATE_ERR_UPLOAD_NOT_FOUND: /
                : /^TUSGATE_ERR_BAD_REQUEST: /,
              method,
            );
          }
          assert.doesNotMatch(answer.raw, new RegExp(sentinelText));
        }
        assert.deepEqual(tusd.since(), [], 'a traversal id reached tusd');
      });
    }

    for (const [name, suffix] of wellFormed) {
      test(`${route.name}: ${name} is a well-formed id the backend does not know (404), asked of it plainly`, async () => {
        const id = suffix.replaceAll('victim', victims.get(route.name)!);
        const tusd = watchTusd(setup.tusd);
        for (const method of methods.filter((candidate) => candidate !== 'OPTIONS')) {
          const answer = await send(method, route.base + id);
          if (method === 'POST') {
            // POST to an upload URL is no tus request: tusd and the native store refuse it.
            assert.ok([404, 405].includes(answer.status), `POST: ${answer.raw}`);
            continue;
          }
          assert.equal(answer.status, 404, `${method}: ${answer.raw}`);
          assert.doesNotMatch(answer.raw, new RegExp(sentinelText));
        }
        for (const request of tusd.since()) {
          assert.equal(request.path, id, `tusd was asked for ${request.method} ${request.path}`);
        }
      });
    }

    for (const [name, template] of absoluteForms) {
      test(`${route.name}: ${name} is a 404 for every method, never the victim`, async () => {
        const target = template
          .replace('/BASE', route.base)
          .replaceAll('victim', victims.get(route.name)!);
        const tusd = watchTusd(setup.tusd);
        for (const method of methods) {
          const answer = await send(method, target);
          assert.equal(answer.status, 404, `${method} ${target}: ${answer.raw}`);
          if (method !== 'HEAD') assert.match(answer.body, /^TUSGATE_ERR_[A-Z_]+_NOT_FOUND: /);
        }
        assert.deepEqual(tusd.since(), [], 'an absolute-form traversal reached tusd');
      });
    }
  }

  test('the victims are intact and readable by their plain URLs', async () => {
    for (const route of routes) {
      const response = await fetch(`${setup.origin}${route.base}${victims.get(route.name)}`, {
        headers: { ...tus, ...alice },
      });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'victim');
    }
  });
});

/** The sentinel next to the store root was neither changed nor joined by new files. */
async function assertNothingEscaped(
  setup: HostileSetup,
  sentinel: string,
  mtime: number,
): Promise<void> {
  assert.equal(await readFile(sentinel, 'utf8'), sentinelText);
  assert.equal((await stat(sentinel)).mtimeMs, mtime);
  assert.deepEqual((await readdir(setup.dir)).sort(), ['sentinel', 'store']);
}
