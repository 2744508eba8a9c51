import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  type JWK,
  SignJWT,
} from 'jose';
import { validateConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { createAuthenticator } from '../../src/gateway/auth/index.ts';
import { tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { metricValue, scrape } from '../helpers/metrics.ts';
import { listenOnLoopback } from '../helpers/ports.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const now = () => Math.floor(Date.now() / 1000);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/**
 * A token the configured key cannot verify is the client's fault (401), whatever its `alg`
 * claims; it must never look like an identity-provider outage (503, an error log, a Sentry event).
 */
describe('JWT: forged algorithms and tokens without exp', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let rsa: KeyPair;
  let ec: KeyPair;
  let ed: KeyPair;
  let jwksServer: Server;

  before(async () => {
    dir = await tempDir('tusgate-jwt-forgery-');
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES384', { extractable: true });
    ed = await generateKeyPair('EdDSA', { extractable: true });
    const jwks: { keys: JWK[] } = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'r1' }] };
    jwksServer = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(jwks));
    });
    const jwksUrl = `http://127.0.0.1:${await listenOnLoopback(jwksServer)}/jwks.json`;
    const native = { native: { type: 'native', store: 'main' } };
    const route = (name: string, auth: Record<string, unknown>) => ({
      name,
      match: { pathPrefix: `/${name}/` },
      auth: { type: 'jwt', ...auth },
      backends: native,
    });
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        route('rsa', { publicKey: await exportSPKI(rsa.publicKey) }),
        route('ec', { publicKey: await exportSPKI(ec.publicKey) }),
        route('ed', { publicKey: await exportSPKI(ed.publicKey) }),
        route('jwks', { jwksUrl }),
        route('jwksdown', { jwksUrl: 'http://127.0.0.1:9/jwks.json' }),
        route('lax', { publicKey: await exportSPKI(rsa.publicKey), requireExpiry: false }),
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await new Promise((resolve) => jwksServer?.close(resolve));
    await dir?.remove();
  });

  const sign = (
    key: KeyPair,
    alg: string,
    claims: Record<string, unknown> = { exp: now() + 600 },
  ) => new SignJWT({ sub: 'mallory', ...claims }).setProtectedHeader({ alg }).sign(key.privateKey);
  const create = (route: string, token: string) =>
    fetch(`${gw.url}/${route}/`, {
      method: 'POST',
      headers: { ...tus, Authorization: `Bearer ${token}`, 'Upload-Length': '1' },
    });
  const assertInvalid = async (response: Response, name: string) => {
    assert.equal(response.status, 401, `${name}: ${await response.text()}`);
    assert.match(response.headers.get('www-authenticate') ?? '', /invalid_token/, name);
  };

  test("a token whose alg does not fit the key's type is a 401, never a 503", async () => {
    const unavailableBefore = await unavailableDecisions(gw);
    const errorsBefore = errorLines(gw);
    const forged = {
      'ES256 against an RSA key': ['rsa', await sign(await generateKeyPair('ES256'), 'ES256')],
      'ES384 against an RSA key': ['rsa', await sign(ec, 'ES384')],
      'EdDSA against an RSA key': ['rsa', await sign(ed, 'EdDSA')],
      'RS256 against an EC key': ['ec', await sign(rsa, 'RS256')],
      'ES256 against a P-384 key': ['ec', await sign(await generateKeyPair('ES256'), 'ES256')],
      'PS256 against an Ed25519 key': ['ed', await sign(await generateKeyPair('PS256'), 'PS256')],
      'ES256 against an RSA-only key set': [
        'jwks',
        await sign(await generateKeyPair('ES256'), 'ES256'),
      ],
      // A header naming ES256 over an RS256 signature: nothing the key could ever verify.
      'an RS256 signature relabelled ES256': ['rsa', relabel(await sign(rsa, 'RS256'), 'ES256')],
    } as const;
    for (const [name, [route, token]] of Object.entries(forged)) {
      await assertInvalid(await create(route, token), name);
    }
    assert.equal(
      await unavailableDecisions(gw),
      unavailableBefore,
      'no forged token counts as an outage',
    );
    assert.equal(errorLines(gw), errorsBefore, 'no forged token is logged as an error');
  });

  test("every algorithm of the key's own type still works", async () => {
    for (const [route, key, alg] of [
      ['rsa', rsa, 'RS256'],
      ['rsa', await signingAs(rsa, 'PS384'), 'PS384'],
      ['ec', ec, 'ES384'],
      ['ed', ed, 'EdDSA'],
      ['jwks', await signingAs(rsa, 'RS512'), 'RS512'],
    ] as const) {
      const response = await create(route, await sign(key, alg));
      assert.equal(response.status, 201, `${alg} on ${route}: ${await response.text()}`);
    }
  });

  test('a token without exp is refused by default, and admitted where requireExpiry is false', async () => {
    const forever = await sign(rsa, 'RS256', {});
    await assertInvalid(await create('rsa', forever), 'no exp');
    await assertInvalid(await create('jwks', forever), 'no exp (JWKS)');
    const lax = await create('lax', forever);
    assert.equal(lax.status, 201, await lax.text());
    // An expired token stays refused on the lax route: requireExpiry only allows a missing exp.
    await assertInvalid(
      await create('lax', await sign(rsa, 'RS256', { exp: now() - 3600 })),
      'expired',
    );
  });

  test('a key set that cannot be fetched is still an outage (503), not the fault of the token', async () => {
    const response = await create('jwksdown', await sign(rsa, 'RS256'));
    assert.equal(response.status, 503, await response.text());
  });
});

test('algorithms none of which the public key can verify are refused at start', async () => {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const config = validateConfig({
    routes: [
      {
        name: 'r',
        match: { pathPrefix: '/r/' },
        auth: { type: 'jwt', publicKey: await exportSPKI(rsa.publicKey), algorithms: ['ES256'] },
        backends: { a: { type: 'tusd', url: 'http://127.0.0.1:1/files/' } },
      },
    ],
  });
  assert.throws(
    () => createAuthenticator(config.routes[0]!.auth, 'routes[0].auth'),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.issues[0]?.path === 'routes[0].auth.algorithms' &&
      /rsa key verifies none of ES256/.test(error.issues[0].message),
  );
});

/** The same key pair, its private key usable for another algorithm (a WebCrypto key has one). */
async function signingAs(pair: KeyPair, alg: string): Promise<KeyPair> {
  const privateKey = await importPKCS8(await exportPKCS8(pair.privateKey), alg);
  return { publicKey: pair.publicKey, privateKey };
}

function relabel(token: string, alg: string): string {
  const [, payload, signature] = token.split('.');
  return `${base64url({ alg, typ: 'JWT' })}.${payload}.${signature}`;
}

async function unavailableDecisions(gw: RunningGateway): Promise<number> {
  const text = await scrape(gw.adminUrl);
  let total = 0;
  for (const route of ['rsa', 'ec', 'ed', 'jwks', 'lax', 'jwksdown']) {
    total +=
      metricValue(text, 'tusgate_auth_decisions_total', {
        route,
        result: 'error',
        reason: 'unavailable',
      }) ?? 0;
  }
  return total;
}

function errorLines(gw: RunningGateway): number {
  return gw.logs().filter((line) => Number(line.level) >= 50).length;
}
