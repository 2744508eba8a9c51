import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { h2Connect, h2Request } from '../../helpers/h2.ts';
import { httpsFetch, peerCertificate } from '../../helpers/https.ts';
import { nativeBase, nativeConfig } from '../../helpers/native.ts';
import { createTestCa, type TestCa } from '../../helpers/tls.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'tus-resumable': '1.0.0' };
const octets = { 'content-type': 'application/offset+octet-stream' };

describe('HTTP/2 on the TLS listener (server.http2)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let ca: TestCa;
  let tusd: RunningTusd;
  let gw: RunningGateway;
  let session: ClientHttp2Session;

  before(async () => {
    dir = await tempDir('tusgate-h2-');
    ca = await createTestCa(dir.path);
    const server = await ca.issue('server');
    tusd = await startTusd();
    const raw = nativeConfig(dir.path, {
      backends: { legacy: { type: 'tusd', url: tusd.url, bodyIdleTimeout: '1s' } },
    });
    const legacyRoute = {
      ...raw.routes[0],
      name: 'legacy',
      match: { pathPrefix: '/legacy/' },
      create: 'legacy',
    };
    gw = await startGateway({
      ...raw,
      routes: [...raw.routes, legacyRoute],
      server: { tls: { cert: server.cert, key: server.key }, http2: true },
    });
    session = await h2Connect(gw.url, ca.pem);
  });
  after(async () => {
    session?.close();
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  const storedFile = (prefix: string, location: string) => {
    const id = location.slice(location.lastIndexOf('/') + 1);
    return prefix === nativeBase ? join(dir.path, 'handoff', id) : join(tusd.dir, id);
  };

  async function create(prefix: string, length: number): Promise<string> {
    const created = await h2Request(session, {
      ':method': 'POST',
      ':path': prefix,
      ...tus,
      'upload-length': String(length),
    });
    assert.equal(created.status, 201, created.body.toString());
    const location = created.headers.location as string;
    // The authority is the client's (:authority); the scheme is the TLS listener's.
    assert.ok(location.startsWith('https://'), `${location} is an https URL`);
    assert.ok(new URL(location).pathname.startsWith(prefix));
    return location;
  }

  async function offsetOf(location: string): Promise<number> {
    const head = await h2Request(session, {
      ':method': 'HEAD',
      ':path': new URL(location).pathname,
      ...tus,
    });
    assert.equal(head.status, 200);
    return Number(head.headers['upload-offset']);
  }

  test('ALPN offers h2; HTTP/1.1 clients are still served on the same port', async () => {
    const port = Number(new URL(gw.url).port);
    assert.equal((await peerCertificate(port, { ca: ca.pem, ALPNProtocols: ['h2'] })).alpn, 'h2');
    assert.equal(
      (await peerCertificate(port, { ca: ca.pem, ALPNProtocols: ['http/1.1'] })).alpn,
      'http/1.1',
    );
    const h1 = await httpsFetch(`${gw.url}${nativeBase}`, {
      method: 'OPTIONS',
      headers: tus,
      ca: ca.pem,
    });
    assert.equal(h1.status, 200);
    assert.equal(h1.headers['tus-resumable'], '1.0.0');
  });

  test('HTTP/1.1 on the h2 listener keeps its limits: headers past maxHeaderSize get a 431', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: Number(new URL(gw.url).port),
        ca: ca.pem,
        servername: 'localhost',
        ALPNProtocols: ['http/1.1'],
      });
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      socket.once('end', () => resolve(received));
      socket.once('close', () => resolve(received));
      socket.once('error', reject);
      socket.write(
        `HEAD ${nativeBase} HTTP/1.1\r\nHost: localhost\r\nTus-Resumable: 1.0.0\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
    });
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.match(answer, /TUSGATE_ERR_HEADERS_TOO_LARGE/);
  });

  for (const prefix of [nativeBase, '/legacy/']) {
    test(`${prefix}: a streamed PATCH of undeclared length, with backpressure, stores the file`, async (t) => {
      const work = await tempDir('tusgate-h2-file-');
      t.after(() => work.remove());
      const size = 24 * 1024 * 1024 + 5;
      const file = await randomFile(work.path, size);
      const location = await create(prefix, size);
      const patched = await h2Request(
        session,
        {
          ':method': 'PATCH',
          ':path': new URL(location).pathname,
          ...tus,
          ...octets,
          'upload-offset': '0',
        },
        (stream) => createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(stream),
      );
      assert.equal(patched.status, 204, patched.body.toString());
      assert.equal(patched.headers['upload-offset'], String(size));
      assert.equal(patched.headers.connection, undefined);
      assert.equal(await offsetOf(location), size);
      assert.equal(await sha256File(storedFile(prefix, location)), await sha256File(file));
    });

    test(`${prefix}: Expect: 100-continue gets its 100 before the body`, async () => {
      const location = await create(prefix, 5);
      let continued = false;
      const patched = await h2Request(
        session,
        {
          ':method': 'PATCH',
          ':path': new URL(location).pathname,
          ...tus,
          ...octets,
          'upload-offset': '0',
          'content-length': '5',
          expect: '100-continue',
        },
        (stream) =>
          stream.once('continue', () => {
            continued = true;
            stream.end('hello');
          }),
      );
      assert.equal(continued, true);
      assert.equal(patched.status, 204);
      assert.equal(await offsetOf(location), 5);
    });

    test(`${prefix}: an answer before the body was read (409) ends the stream, not the connection`, async () => {
      const location = await create(prefix, 16 * 1024 * 1024);
      const refused = await h2Request(
        session,
        {
          ':method': 'PATCH',
          ':path': new URL(location).pathname,
          ...tus,
          ...octets,
          'upload-offset': '7',
        },
        (stream) => {
          const block = Buffer.alloc(256 * 1024, 1);
          const write = () => {
            while (!stream.destroyed && stream.write(block)) {}
          };
          stream.on('drain', write);
          write();
        },
      );
      assert.equal(refused.status, 409);
      assert.match(refused.body.toString(), /offset/i);
      assert.equal(refused.closedWhileSending, true, 'the server ended the stream');
      assert.equal(refused.rstCode, 0, 'reset with NO_ERROR: stop sending, keep the answer');
      assert.equal(await offsetOf(location), 0);
    });

    test(`${prefix}: creation-with-upload over h2`, async () => {
      const created = await h2Request(
        session,
        {
          ':method': 'POST',
          ':path': prefix,
          ...tus,
          ...octets,
          'upload-length': '11',
          'content-length': '11',
        },
        Buffer.from('hello world'),
      );
      assert.equal(created.status, 201);
      assert.equal(created.headers['upload-offset'], '11');
    });
  }

  test('a stalled proxied body gets its 408 (the Connection: close of HTTP/1.1 is left out)', async () => {
    const location = await create('/legacy/', 1024 * 1024);
    const stalled = await h2Request(
      session,
      {
        ':method': 'PATCH',
        ':path': new URL(location).pathname,
        ...tus,
        ...octets,
        'upload-offset': '0',
        'content-length': String(1024 * 1024),
      },
      (stream) => stream.write(Buffer.alloc(64 * 1024, 2)),
    );
    assert.equal(stalled.status, 408, stalled.body.toString());
    assert.equal(stalled.headers.connection, undefined);
    const offset = await offsetOf(location);
    assert.ok(offset <= 64 * 1024, `offset ${offset}`);
    // The session carries on.
    assert.equal(
      (await h2Request(session, { ':method': 'OPTIONS', ':path': nativeBase, ...tus })).status,
      200,
    );
  });

  test('the request log names the route and status of h2 requests like any other', () => {
    const lines = gw.logs().filter((line) => line.msg === 'request');
    assert.ok(lines.some((line) => line.route === 'legacy' && line.status === 204));
    assert.ok(
      lines.every((line) => typeof line.status === 'number' && (line.status as number) < 500),
    );
  });
});

describe('shutdown with HTTP/2 clients connected', () => {
  test('an idle h2 connection gets a GOAWAY; a running upload finishes; then the gateway stops', async (t) => {
    const work = await tempDir('tusgate-h2-stop-');
    t.after(() => work.remove());
    const ca = await createTestCa(work.path);
    const server = await ca.issue('server');
    const gw = await startGateway({
      ...nativeConfig(work.path),
      server: { tls: { cert: server.cert, key: server.key }, http2: true },
    });
    let stopped = false;
    t.after(async () => {
      if (!stopped) await gw.stop();
    });
    const idle = await h2Connect(gw.url, ca.pem);
    const busy = await h2Connect(gw.url, ca.pem);
    const goaway = new Promise<void>((resolve) => idle.once('goaway', () => resolve()));
    const length = 2 * 1024 * 1024;
    const created = await h2Request(busy, {
      ':method': 'POST',
      ':path': nativeBase,
      ...tus,
      'upload-length': String(length),
    });
    assert.equal(created.status, 201);
    const path = new URL(created.headers.location as string).pathname;
    let closing: Promise<void> | undefined;
    const patched = await h2Request(
      busy,
      { ':method': 'PATCH', ':path': path, ...tus, ...octets, 'upload-offset': '0' },
      (stream) => {
        stream.write(Buffer.alloc(length / 2, 1), () => {
          // Shutdown starts mid-upload; the rest of the body follows once the idle client was told.
          closing = gw.gateway.close(30_000);
          void goaway.then(() => stream.end(Buffer.alloc(length / 2, 2)));
        });
      },
    );
    assert.equal(patched.status, 204, patched.body.toString());
    assert.equal(patched.headers['upload-offset'], String(length));
    await goaway;
    assert.ok(closing, 'the shutdown started');
    await closing;
    stopped = true;
    assert.equal(idle.destroyed || idle.closed, true);
  });
});

describe('idle HTTP/2 connections', () => {
  test('server.idleTimeout closes a silent h2 connection, as it does a silent HTTP/1.1 socket', async (t) => {
    const work = await tempDir('tusgate-h2-idle-');
    t.after(() => work.remove());
    const ca = await createTestCa(work.path);
    const server = await ca.issue('server');
    const gw = await startGateway({
      ...nativeConfig(work.path),
      server: { tls: { cert: server.cert, key: server.key }, http2: true, idleTimeout: '1s' },
    });
    t.after(() => gw.stop());
    const session = await h2Connect(gw.url, ca.pem);
    assert.equal(
      (await h2Request(session, { ':method': 'OPTIONS', ':path': nativeBase, ...tus })).status,
      200,
    );
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
    assert.equal(session.destroyed, true);
  });
});
