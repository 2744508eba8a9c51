import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '../../../src/errors.ts';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import { startGateway, startGatewayProcess } from '../../helpers/gateway.ts';
import { httpsFetch, peerCertificate } from '../../helpers/https.ts';
import { nativeBase, nativeConfig } from '../../helpers/native.ts';
import { createTestCa, type IssuedCertificate, type TestCa } from '../../helpers/tls.ts';
import { tusUpload } from '../../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };

/** Polls until a new connection is shown the certificate with `serial`. */
async function waitForCertificate(port: number, serial: string, ca: Buffer): Promise<void> {
  const deadline = Date.now() + 15_000;
  let seen = '';
  while (Date.now() < deadline) {
    seen = (await peerCertificate(port, { ca })).serial;
    if (seen === serial) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`new connections still see certificate ${seen}, not ${serial}`);
}

/** Puts `issued` at tls.crt/tls.key in `dir` the way certbot and friends do: write, then rename. */
async function installCertificate(dir: string, issued: IssuedCertificate): Promise<void> {
  await copyFile(issued.key, join(dir, 'tls.key.new'));
  await copyFile(issued.cert, join(dir, 'tls.crt.new'));
  await rename(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
  await rename(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
}

describe('HTTPS listener (server.tls)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let ca: TestCa;
  let first: IssuedCertificate;
  let second: IssuedCertificate;
  let tusd: RunningTusd;

  before(async () => {
    dir = await tempDir('tusgate-tls-');
    ca = await createTestCa(dir.path);
    first = await ca.issue('server-a');
    second = await ca.issue('server-b');
    tusd = await startTusd();
  });
  after(async () => {
    await tusd?.stop();
    await dir?.remove();
  });

  test('tus-js-client uploads over HTTPS to the native store and to a proxied tusd', async (t) => {
    const work = await tempDir('tusgate-tls-upload-');
    t.after(() => work.remove());
    const raw = nativeConfig(work.path, { backends: { legacy: { type: 'tusd', url: tusd.url } } });
    const legacyRoute = {
      ...raw.routes[0],
      name: 'legacy',
      match: { pathPrefix: '/legacy/' },
      create: 'legacy',
    };
    const gw = await startGateway({
      ...raw,
      routes: [...raw.routes, legacyRoute],
      server: { tls: { cert: first.cert, key: first.key } },
    });
    t.after(() => gw.stop());
    assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const file = await randomFile(work.path, 3 * 1024 * 1024 + 11);
    for (const prefix of [nativeBase, '/legacy/']) {
      const result = await tusUpload(file, {
        endpoint: `${gw.url}${prefix}`,
        chunkSize: 1024 * 1024,
        ca: ca.pem,
      });
      assert.ok(result.url.startsWith(`${gw.url}${prefix}`), `${result.url} is an https URL`);
      const id = result.url.slice(result.url.lastIndexOf('/') + 1);
      const stored = prefix === nativeBase ? join(work.path, 'handoff', id) : join(tusd.dir, id);
      assert.equal(await sha256File(stored), await sha256File(file));
    }
  });

  test('a new certificate on disk: the running upload finishes on the old one, new connections get the new', async (t) => {
    const work = await tempDir('tusgate-tls-reload-');
    t.after(() => work.remove());
    await installCertificate(work.path, first);
    const gw = await startGateway({
      ...nativeConfig(work.path),
      server: { tls: { cert: join(work.path, 'tls.crt'), key: join(work.path, 'tls.key') } },
    });
    t.after(() => gw.stop());
    const port = Number(new URL(gw.url).port);
    const length = 4 * 1024 * 1024;
    const created = await httpsFetch(`${gw.url}${nativeBase}`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': String(length) },
      ca: ca.pem,
    });
    assert.equal(created.status, 201);
    assert.equal(created.serial, first.serial);
    const location = created.headers.location as string;

    const body = Buffer.alloc(length, 7);
    let patchSerial = '';
    const answered = new Promise<{ status: number; offset: string | undefined }>(
      (resolve, reject) => {
        const req = httpsRequest(
          location,
          {
            method: 'PATCH',
            agent: false,
            ca: ca.pem,
            headers: {
              ...tus,
              'Upload-Offset': '0',
              'Content-Type': 'application/offset+octet-stream',
              'Content-Length': String(length),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                offset: res.headers['upload-offset'] as string,
              }),
            );
          },
        );
        req.on('error', reject);
        req.on('socket', (socket) =>
          socket.once('secureConnect', () => {
            patchSerial = (socket as TLSSocket).getPeerCertificate().serialNumber;
          }),
        );
        // Half the body now; the rest once the new certificate is in force.
        req.write(body.subarray(0, length / 2), () => {
          void (async () => {
            await installCertificate(work.path, second);
            await waitForCertificate(port, second.serial, ca.pem);
            req.end(body.subarray(length / 2));
          })().catch(reject);
        });
      },
    );
    const result = await answered;
    assert.equal(result.status, 204);
    assert.equal(result.offset, String(length));
    assert.equal(patchSerial, first.serial, 'the upload kept its connection and certificate');
    const head = await httpsFetch(location, { method: 'HEAD', headers: tus, ca: ca.pem });
    assert.equal(head.headers['upload-offset'], String(length));
    assert.equal(head.serial, second.serial);
    assert.ok(
      gw.logs().some((line) => line.msg === 'TLS certificate reloaded'),
      'the reload was logged',
    );
  });

  test('a key that does not match its certificate is refused on reload; the old pair stays', async (t) => {
    const work = await tempDir('tusgate-tls-badpair-');
    t.after(() => work.remove());
    await installCertificate(work.path, first);
    const gw = await startGateway({
      ...nativeConfig(work.path),
      server: { tls: { cert: join(work.path, 'tls.crt'), key: join(work.path, 'tls.key') } },
    });
    t.after(() => gw.stop());
    const port = Number(new URL(gw.url).port);
    // The new certificate without its key.
    await copyFile(second.cert, join(work.path, 'tls.crt'));
    const deadline = Date.now() + 15_000;
    while (
      !gw.logs().some((line) => String(line.msg).startsWith('TLS certificate reload refused'))
    ) {
      assert.ok(Date.now() < deadline, 'the refused reload was logged');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal((await peerCertificate(port, { ca: ca.pem })).serial, first.serial);
    // Its key arrives: now the pair loads.
    await copyFile(second.key, join(work.path, 'tls.key'));
    await waitForCertificate(port, second.serial, ca.pem);
  });

  test('SIGHUP reloads the certificate (files changed where no watch sees them)', async (t) => {
    const work = await tempDir('tusgate-tls-sighup-');
    t.after(() => work.remove());
    const real = join(work.path, 'real');
    const links = join(work.path, 'links');
    await mkdir(real);
    await mkdir(links);
    await installCertificate(real, first);
    await symlink(join(real, 'tls.crt'), join(links, 'tls.crt'));
    await symlink(join(real, 'tls.key'), join(links, 'tls.key'));
    const gw = await startGatewayProcess({
      ...nativeConfig(work.path),
      server: { tls: { cert: join(links, 'tls.crt'), key: join(links, 'tls.key') } },
    });
    t.after(() => gw.stop());
    const port = Number(new URL(gw.url).port);
    assert.equal((await peerCertificate(port, { ca: ca.pem })).serial, first.serial);
    await installCertificate(real, second);
    gw.process.kill('SIGHUP');
    await waitForCertificate(port, second.serial, ca.pem);
    assert.match(gw.output(), /TLS certificate reloaded/);
  });

  test('clientCa: only clients with a certificate from that CA get in', async (t) => {
    const work = await tempDir('tusgate-tls-mtls-');
    t.after(() => work.remove());
    const clientCa = await createTestCa(work.path, 'client-ca');
    const client = await clientCa.issue('client', { client: true });
    const stranger = await (await createTestCa(work.path, 'other-ca')).issue('stranger', {
      client: true,
    });
    const gw = await startGateway({
      ...nativeConfig(work.path),
      server: { tls: { cert: first.cert, key: first.key, clientCa: clientCa.certFile } },
    });
    t.after(() => gw.stop());
    const options = { method: 'OPTIONS', headers: tus, ca: ca.pem };
    await assert.rejects(httpsFetch(`${gw.url}${nativeBase}`, options));
    await assert.rejects(
      httpsFetch(`${gw.url}${nativeBase}`, {
        ...options,
        cert: await readText(stranger.cert),
        key: await readText(stranger.key),
      }),
    );
    const allowed = await httpsFetch(`${gw.url}${nativeBase}`, {
      ...options,
      cert: await readText(client.cert),
      key: await readText(client.key),
    });
    assert.equal(allowed.status, 200);
  });

  test('minVersion: TLSv1.2 by default; TLSv1.3 refuses a TLS 1.2 client', async (t) => {
    const work = await tempDir('tusgate-tls-version-');
    t.after(() => work.remove());
    const lenient = await startGateway({
      ...nativeConfig(work.path),
      server: { tls: { cert: first.cert, key: first.key } },
    });
    t.after(() => lenient.stop());
    const strict = await startGateway({
      ...nativeConfig(work.path),
      server: { tls: { cert: first.cert, key: first.key, minVersion: 'TLSv1.3' } },
    });
    t.after(() => strict.stop());
    const tls12 = { ca: ca.pem, maxVersion: 'TLSv1.2' } as const;
    await peerCertificate(Number(new URL(lenient.url).port), tls12);
    await assert.rejects(peerCertificate(Number(new URL(strict.url).port), tls12));
    await assert.rejects(
      peerCertificate(Number(new URL(lenient.url).port), { ca: ca.pem, maxVersion: 'TLSv1.1' }),
    );
  });

  test('the admin listener serves HTTPS with its own certificate', async (t) => {
    const work = await tempDir('tusgate-tls-admin-');
    t.after(() => work.remove());
    const gw = await startGateway({
      ...nativeConfig(work.path),
      server: { adminTls: { cert: second.cert, key: second.key } },
    });
    t.after(() => gw.stop());
    assert.match(gw.url, /^http:/);
    assert.match(gw.adminUrl, /^https:/);
    const health = await httpsFetch(`${gw.adminUrl}/healthz`, { ca: ca.pem });
    assert.equal(health.status, 200);
    assert.equal(health.serial, second.serial);
  });

  test('a certificate that cannot be read stops the start with the key named', async () => {
    const missing = join(dir.path, 'nowhere.crt');
    await assert.rejects(
      startGateway({
        ...nativeConfig(dir.path),
        server: { tls: { cert: missing, key: first.key } },
      }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.issues[0]?.path === 'server.tls' &&
        error.message.includes(missing),
    );
    await writeFile(join(dir.path, 'garbage.crt'), 'not a certificate\n');
    await assert.rejects(
      startGateway({
        ...nativeConfig(dir.path),
        server: { adminTls: { cert: join(dir.path, 'garbage.crt'), key: first.key } },
      }),
      (error: unknown) =>
        error instanceof ConfigError && error.issues[0]?.path === 'server.adminTls',
    );
  });
});

function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
