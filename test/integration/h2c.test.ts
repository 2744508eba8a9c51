import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { randomFile, sha256File, tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { h2Connect, h2Request } from '../helpers/h2.ts';
import { nativeBase, nativeConfig } from '../helpers/native.ts';
import { tusUpload } from '../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const tus = { 'tus-resumable': '1.0.0' };
const octets = { 'content-type': 'application/offset+octet-stream' };

describe('h2c: cleartext HTTP/2 with prior knowledge beside HTTP/1.1 (server.h2c)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let tusd: RunningTusd;
  let gw: RunningGateway;
  let session: ClientHttp2Session;

  before(async () => {
    dir = await tempDir('tusgate-h2c-');
    tusd = await startTusd();
    const raw = nativeConfig(dir.path, {
      backends: { legacy: { type: 'tusd', url: tusd.url } },
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
      server: { h2c: true },
    });
    session = await h2Connect(gw.url);
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
    assert.ok(location.startsWith('http://'), `${location} is an http URL`);
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

  for (const prefix of [nativeBase, '/legacy/']) {
    test(`${prefix}: an upload over h2c stores the file, byte for byte`, async (t) => {
      const work = await tempDir('tusgate-h2c-file-');
      t.after(() => work.remove());
      const size = 16 * 1024 * 1024 + 3;
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
      assert.equal(await offsetOf(location), size);
      assert.equal(await sha256File(storedFile(prefix, location)), await sha256File(file));
    });

    test(`${prefix}: Expect: 100-continue over h2c gets its 100 before the body`, async () => {
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

    // tus-js-client speaks HTTP/1.1: its POST and PATCH start like the HTTP/2 preface ("P"), so
    // the listener must read on until the bytes differ before it hands the socket over.
    test(`${prefix}: HTTP/1.1 is still served on the same listener (tus-js-client)`, async (t) => {
      const work = await tempDir('tusgate-h2c-h1-');
      t.after(() => work.remove());
      const size = 3 * 1024 * 1024 + 7;
      const file = await randomFile(work.path, size);
      const { url } = await tusUpload(file, {
        endpoint: new URL(prefix, gw.url).toString(),
        chunkSize: 1024 * 1024,
      });
      assert.equal(await sha256File(storedFile(prefix, url)), await sha256File(file));
    });
  }

  /** Writes `parts` as separate segments (a pause between them) and reads until `until` matches. */
  async function sendInParts(parts: Buffer[], until: (got: Buffer) => boolean): Promise<Buffer> {
    const { port } = new URL(gw.url);
    const socket = netConnect({ host: '127.0.0.1', port: Number(port) });
    socket.setNoDelay(true);
    let got = Buffer.alloc(0);
    const answered = new Promise<Buffer>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (until(got)) resolve(got);
      });
      socket.once('error', reject);
      socket.once('close', () => resolve(got));
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    try {
      for (const part of parts) {
        socket.write(part);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      return await answered;
    } finally {
      socket.destroy();
    }
  }

  test('a preface or a request line arriving a few bytes at a time goes to the right protocol', async () => {
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const h2 = await sendInParts(
      [preface.subarray(0, 1), preface.subarray(1, 9), preface.subarray(9), settings],
      (got) => got.length >= 9,
    );
    assert.equal(h2[3], 4, 'the server answers with its HTTP/2 SETTINGS frame');
    const request = Buffer.from(
      `POST ${nativeBase} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n` +
        'Upload-Length: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    const h1 = await sendInParts(
      [request.subarray(0, 1), request.subarray(1, 3), request.subarray(3)],
      (got) => got.includes('\r\n\r\n'),
    );
    assert.match(h1.toString('latin1'), /^HTTP\/1\.1 201 /);
  });

  test('the request log names h2c requests with their status, and no 5xx', () => {
    const lines = gw.logs().filter((line) => line.msg === 'request');
    assert.ok(lines.some((line) => line.method === 'PATCH' && line.status === 204));
    assert.deepEqual(
      lines.filter((line) => (line.status as number) >= 500),
      [],
    );
  });
});

describe('h2c connections and shutdown', () => {
  test('an idle h2c connection gets a GOAWAY; a running h2c upload finishes; then the gateway stops', async (t) => {
    const work = await tempDir('tusgate-h2c-stop-');
    t.after(() => work.remove());
    const gw = await startGateway({ ...nativeConfig(work.path), server: { h2c: true } });
    let stopped = false;
    t.after(async () => {
      if (!stopped) await gw.stop();
    });
    const idle = await h2Connect(gw.url);
    const busy = await h2Connect(gw.url);
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

  test('server.idleTimeout closes a silent h2c connection', async (t) => {
    const work = await tempDir('tusgate-h2c-idle-');
    t.after(() => work.remove());
    const gw = await startGateway({
      ...nativeConfig(work.path),
      server: { h2c: true, idleTimeout: '1s' },
    });
    t.after(() => gw.stop());
    const session = await h2Connect(gw.url);
    assert.equal(
      (await h2Request(session, { ':method': 'OPTIONS', ':path': nativeBase, ...tus })).status,
      200,
    );
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
    assert.equal(session.destroyed, true);
  });

  test('server.h2c with server.tls is refused: over TLS, HTTP/2 is server.http2', async () => {
    const { validateConfig } = await import('../../src/config/load.ts');
    const work = await tempDir('tusgate-h2c-conf-');
    try {
      assert.throws(
        () =>
          validateConfig({
            ...nativeConfig(work.path),
            server: { h2c: true, tls: { cert: '/x.crt', key: '/x.key' } },
          }),
        /server\.h2c/,
      );
    } finally {
      await work.remove();
    }
  });
});
