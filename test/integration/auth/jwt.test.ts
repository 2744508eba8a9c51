import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { assertAuthOnEveryMethod, createUpload, type RefusedCase } from '../../helpers/auth.ts';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { listenOnLoopback } from '../../helpers/ports.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const secret = 'a-32-byte-hmac-secret-for-tests-0123456789';
const issuer = 'https://login.example.org';
const audience = 'tusgate';

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function hmacToken(claims: Record<string, unknown>, key = secret, alg = 'HS256') {
  return new SignJWT({ ...claims }).setProtectedHeader({ alg }).sign(new TextEncoder().encode(key));
}

describe('JWT authentication', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let rsaPem: string;
  let jwks: { keys: JWK[] };
  let jwksServer: Server;
  let jwksFetches = 0;

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-jwt-');
    rsa = await generateKeyPair('RS256', { extractable: true });
    rsaPem = await exportSPKI(rsa.publicKey);
    const first = await generateKeyPair('ES256', { extractable: true });
    jwks = { keys: [{ ...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'ES256' }] };
    jwksServer = createServer((_req, res) => {
      jwksFetches++;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(jwks));
    });
    const jwksUrl = `http://127.0.0.1:${await listenOnLoopback(jwksServer)}/jwks.json`;
    const claims = { issuer, audience };
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: join(dir.path, 'store') } },
      routes: [
        {
          name: 'hmac',
          match: { pathPrefix: '/hmac/' },
          auth: { type: 'jwt', secret, ...claims },
          backends: { native: { type: 'native', store: 'main' } },
        },
        {
          name: 'rsa',
          match: { pathPrefix: '/rsa/' },
          auth: { type: 'jwt', publicKey: rsaPem, algorithms: ['RS256'], ...claims },
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
        {
          name: 'jwks',
          match: { pathPrefix: '/jwks/' },
          auth: { type: 'jwt', jwksUrl, jwksCacheTtl: '1s', principalClaim: 'email', ...claims },
          backends: { native: { type: 'native', store: 'main' } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await new Promise((resolve) => jwksServer?.close(resolve));
    await dir?.remove();
  });

  const good = { sub: 'alice', iss: issuer, aud: audience };
  const refusalsFor = async (sign: (claims: Record<string, unknown>) => Promise<string>) => {
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    const expired = await sign({ ...good, exp: now() - 3600 });
    const cases: RefusedCase[] = [
      { name: 'missing', headers: {}, status: 401, challenge: /^Bearer realm="tusgate"$/ },
      { name: 'expired', headers: bearer(expired), status: 401, challenge: /invalid_token/ },
      { name: 'malformed', headers: bearer('not.a.jwt'), status: 401, challenge: /invalid_token/ },
      {
        name: 'tampered payload',
        headers: bearer(
          expired.replace(/^([^.]+)\.[^.]+/, (_, head: string) => `${head}.${base64url(good)}`),
        ),
        status: 401,
        challenge: /invalid_token/,
      },
    ];
    return cases;
  };

  test('HS256 tokens on the native backend, every method', async () => {
    const sign = (claims: Record<string, unknown>) => hmacToken({ exp: now() + 600, ...claims });
    await assertAuthOnEveryMethod(
      `${gw.url}/hmac/`,
      { Authorization: `Bearer ${await sign(good)}` },
      await refusalsFor(sign),
    );
  });

  test('RS256 tokens in front of tusd, every method', async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ exp: now() + 600, ...claims })
        .setProtectedHeader({ alg: 'RS256' })
        .sign(rsa.privateKey);
    await assertAuthOnEveryMethod(
      `${gw.url}/rsa/`,
      { Authorization: `Bearer ${await sign(good)}` },
      await refusalsFor(sign),
    );
  });

  test('alg none, HS/RS confusion, wrong aud or iss, future nbf and a missing claim are refused', async () => {
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ ...good, exp: now() + 600 })}.`;
    // The classic confusion attack: HS256 signed with the RSA public key as the HMAC secret.
    const confused = await hmacToken({ ...good, exp: now() + 600 }, rsaPem);
    const wrongAudience = await new SignJWT({ ...good, aud: 'someone-else', exp: now() + 600 })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(rsa.privateKey);
    const wrongIssuer = await new SignJWT({
      ...good,
      iss: 'https://evil.example',
      exp: now() + 600,
    })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(rsa.privateKey);
    const notYet = await new SignJWT({ ...good, nbf: now() + 3600, exp: now() + 7200 })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(rsa.privateKey);
    const noSubject = await new SignJWT({ iss: issuer, aud: audience, exp: now() + 600 })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(rsa.privateKey);
    const cases = { unsigned, confused, wrongAudience, wrongIssuer, notYet, noSubject };
    for (const [name, token] of Object.entries(cases)) {
      const response = await fetch(`${gw.url}/rsa/`, {
        method: 'POST',
        headers: { ...tus, Authorization: `Bearer ${token}`, 'Upload-Length': '1' },
      });
      assert.equal(response.status, 401, name);
      assert.match(response.headers.get('www-authenticate') ?? '', /invalid_token/, name);
    }
    // alg none against the HMAC route too.
    const response = await fetch(`${gw.url}/hmac/`, {
      method: 'POST',
      headers: { ...tus, Authorization: `Bearer ${unsigned}`, 'Upload-Length': '1' },
    });
    assert.equal(response.status, 401);
  });

  test('JWKS: keys are cached, and a rotated key is picked up', async () => {
    const first = await generateKeyPair('ES256', { extractable: true });
    jwks = { keys: [{ ...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'ES256' }] };
    const sign = (key: typeof rsa.privateKey, kid: string) =>
      new SignJWT({ ...good, email: 'alice@example.org', exp: now() + 600 })
        .setProtectedHeader({ alg: 'ES256', kid })
        .sign(key);
    // The verifier may have fetched the old set already; wait out the cooldown.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const firstToken = await sign(first.privateKey, 'k1');
    const url = await createUpload(`${gw.url}/jwks/`, { Authorization: `Bearer ${firstToken}` });
    const fetchesAfterFirst = jwksFetches;
    for (let index = 0; index < 5; index++) {
      const head = await fetch(url, {
        method: 'HEAD',
        headers: { ...tus, Authorization: `Bearer ${firstToken}` },
      });
      assert.equal(head.status, 200);
    }
    assert.equal(jwksFetches, fetchesAfterFirst, 'the key set is cached between requests');

    const second = await generateKeyPair('ES256', { extractable: true });
    jwks = { keys: [{ ...(await exportJWK(second.publicKey)), kid: 'k2', alg: 'ES256' }] };
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const rotated = await sign(second.privateKey, 'k2');
    const head = await fetch(url, {
      method: 'HEAD',
      headers: { ...tus, Authorization: `Bearer ${rotated}` },
    });
    assert.equal(head.status, 200, 'the same principal (email claim) with the new key');
    assert.ok(jwksFetches > fetchesAfterFirst);
    const retired = await fetch(url, {
      method: 'HEAD',
      headers: { ...tus, Authorization: `Bearer ${firstToken}` },
    });
    assert.equal(retired.status, 401, 'a key no longer in the set is refused');
  });
});
