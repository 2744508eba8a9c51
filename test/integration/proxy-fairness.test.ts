import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { metricValue, scrape } from '../helpers/metrics.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const base = '/files/';
const tus = { 'Tus-Resumable': '1.0.0' };

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A PATCH (or, with `uploadLength`, a creation-with-upload POST) over a raw socket, so the test
 * decides when each body byte leaves. `response` settles with the gateway's answer, or null when
 * the connection closed without one.
 */
class RawUpload {
  readonly socket: Socket;
  readonly response: Promise<RawResponse | null>;
  readonly closed: Promise<void>;
  sent = 0;

  constructor(
    gatewayUrl: string,
    path: string,
    options: { length: number; offset?: number; forwardedFor?: string; uploadLength?: number },
  ) {
    const url = new URL(gatewayUrl);
    this.socket = connect(Number(url.port), url.hostname);
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    const creation = options.uploadLength !== undefined;
    const lines = [
      `${creation ? 'POST' : 'PATCH'} ${path} HTTP/1.1`,
      `Host: ${url.host}`,
      'Tus-Resumable: 1.0.0',
      'Content-Type: application/offset+octet-stream',
      creation ? `Upload-Length: ${options.uploadLength}` : `Upload-Offset: ${options.offset ?? 0}`,
      `Content-Length: ${options.length}`,
      ...(options.forwardedFor ? [`X-Forwarded-For: ${options.forwardedFor}`] : []),
    ];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.response = readResponse(this.socket);
  }

  send(count: number): void {
    if (this.socket.destroyed) return;
    this.socket.write(Buffer.alloc(count, 0x61));
    this.sent += count;
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

function readResponse(socket: Socket): Promise<RawResponse | null> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    let head: Omit<RawResponse, 'body'> | undefined;
    let bodyStart = 0;
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!head) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine = '', ...headerLines] = buffered
          .subarray(0, end)
          .toString()
          .split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of headerLines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        head = { status: Number(statusLine.split(' ')[1]), headers };
        bodyStart = end + 4;
      }
      const length = Number(head.headers['content-length'] ?? 0);
      if (buffered.length - bodyStart >= length) {
        socket.off('data', onData);
        resolve({ ...head, body: buffered.subarray(bodyStart, bodyStart + length).toString() });
      }
    };
    socket.on('data', onData);
    socket.once('close', () => resolve(null));
  });
}

async function createUploads(gatewayUrl: string, count: number, length: number) {
  const paths: string[] = [];
  const createOne = async () => {
    const created = await request(`${gatewayUrl}${base}`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': String(length) },
    });
    await created.body.dump();
    assert.equal(created.statusCode, 201);
    paths.push(new URL(created.headers.location as string).pathname);
  };
  for (let done = 0; done < count; done += 25) {
    await Promise.all(Array.from({ length: Math.min(25, count - done) }, createOne));
  }
  return paths;
}

/** Settles with the promise's value, or fails when it takes longer than `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function offsetOf(gatewayUrl: string, path: string): Promise<string | undefined> {
  const head = await request(`${gatewayUrl}${path}`, { method: 'HEAD', headers: tus });
  await head.body.dump();
  assert.equal(head.statusCode, 200);
  return head.headers['upload-offset'] as string | undefined;
}

function route(url: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'uploads',
    match: { pathPrefix: base },
    backends: { legacy: { type: 'tusd', url, ...extra } },
  };
}

describe('proxy fairness under slow clients', () => {
  let tusd: RunningTusd;

  before(async () => {
    tusd = await startTusd();
  });

  after(async () => {
    await tusd.stop();
  });

  test('300 slow PATCHes leave HEAD and POST on the same route answering', {
    timeout: 60_000,
  }, async () => {
    const connections = 256;
    const slowCount = 300;
    const gw = await startGateway({
      server: { trustedProxies: ['127.0.0.1'] },
      routes: [route(tusd.url, { connections })],
    });
    const patches: RawUpload[] = [];
    let drip: NodeJS.Timeout | undefined;
    try {
      const paths = await createUploads(gw.url, slowCount, 1000);
      // Each from an address of its own, so only the backend-wide body budget applies.
      for (const [index, path] of paths.entries()) {
        const forwardedFor = `10.0.${Math.floor(index / 250)}.${(index % 250) + 1}`;
        const patch = new RawUpload(gw.url, path, { length: 1000, forwardedFor });
        patch.send(1);
        patches.push(patch);
      }
      drip = setInterval(() => {
        for (const patch of patches) patch.send(1);
      }, 2_000);
      const answered: RawResponse[] = [];
      for (const patch of patches) {
        void patch.response.then((response) => {
          if (response) answered.push(response);
        });
      }
      // Every slow PATCH is either answered or being received.
      await until(async () => {
        const active = metricValue(await scrape(gw.adminUrl), 'tusgate_uploads_active', {
          route: 'uploads',
          backend: 'legacy',
        });
        return active + answered.length === slowCount;
      }, 'all slow PATCHes to be in flight or answered');

      const post = await within(
        1_000,
        'POST',
        request(`${gw.url}${base}`, {
          method: 'POST',
          headers: { ...tus, 'Upload-Length': '3' },
        }),
      );
      await post.body.dump();
      assert.equal(post.statusCode, 201);
      const created = new URL(post.headers.location as string).pathname;
      const head = await within(
        1_000,
        'HEAD',
        request(`${gw.url}${created}`, { method: 'HEAD', headers: tus }),
      );
      await head.body.dump();
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['upload-offset'], '0');

      // The body connections are all taken: the rest were told to come back, not queued.
      assert.equal(answered.length, slowCount - connections);
      for (const response of answered) {
        assert.equal(response.status, 503);
        assert.equal(response.headers['tus-resumable'], '1.0.0');
        assert.equal(response.headers['retry-after'], '10');
        assert.match(response.body, /^TUSGATE_ERR_BUSY: /);
        // docs/proxy.md: the body is drained, the connection is not closed.
        assert.notEqual(response.headers.connection, 'close');
      }
      const metrics = await scrape(gw.adminUrl);
      assert.equal(
        metricValue(metrics, 'tusgate_proxy_bodies_refused_total', {
          route: 'uploads',
          backend: 'legacy',
          reason: 'backend_busy',
        }),
        slowCount - connections,
      );
    } finally {
      clearInterval(drip);
      await Promise.all(patches.map((patch) => patch.close()));
      await gw.stop();
    }
  });

  test('one address gets 429 with Retry-After beyond its share; others and later ones pass', {
    timeout: 30_000,
  }, async () => {
    const gw = await startGateway({
      server: { trustedProxies: ['127.0.0.1'] },
      routes: [route(tusd.url, { limits: { bodiesPerClient: 3, retryAfter: '7s' } })],
    });
    const patches: RawUpload[] = [];
    try {
      const [a1, a2, a3, a4, b1, a5] = await createUploads(gw.url, 6, 4);
      const open = (path: string | undefined, forwardedFor: string) => {
        const patch = new RawUpload(gw.url, path as string, { length: 4, forwardedFor });
        patch.send(1);
        patches.push(patch);
        return patch;
      };
      const first = open(a1, '10.1.0.1');
      open(a2, '10.1.0.1');
      open(a3, '10.1.0.1');
      await until(async () => {
        const text = await scrape(gw.adminUrl);
        return (
          metricValue(text, 'tusgate_uploads_active', { route: 'uploads', backend: 'legacy' }) === 3
        );
      }, 'three bodies from one address in flight');

      const refused = await within(5_000, 'the 429', open(a4, '10.1.0.1').response);
      assert.equal(refused?.status, 429);
      assert.equal(refused?.headers['retry-after'], '7');
      assert.equal(refused?.headers['tus-resumable'], '1.0.0');
      assert.match(refused?.body ?? '', /^TUSGATE_ERR_TOO_MANY_UPLOADS: /);
      assert.notEqual(refused?.headers.connection, 'close');

      const other = open(b1, '10.1.0.2');
      other.send(3);
      assert.equal((await within(5_000, 'the other address', other.response))?.status, 204);

      // A finished body frees its place for the same address.
      first.send(3);
      assert.equal((await within(5_000, 'a held body', first.response))?.status, 204);
      const later = open(a5, '10.1.0.1');
      later.send(3);
      assert.equal((await within(5_000, 'a later body', later.response))?.status, 204);

      const metrics = await scrape(gw.adminUrl);
      const refusals = (reason: string) =>
        metricValue(metrics, 'tusgate_proxy_bodies_refused_total', {
          route: 'uploads',
          backend: 'legacy',
          reason,
        });
      assert.equal(refusals('client_limit'), 1);
      assert.equal(refusals('backend_busy'), 0);
    } finally {
      await Promise.all(patches.map((patch) => patch.close()));
      await gw.stop();
    }
  });

  test('one address holding downloads gets 429 beyond its share; another reads at once', {
    timeout: 60_000,
  }, async () => {
    const gw = await startGateway({
      server: { trustedProxies: ['127.0.0.1'] },
      routes: [route(tusd.url, { controlConnections: 4, limits: { downloadsPerClient: 2 } })],
    });
    const readers: Socket[] = [];
    try {
      // Large enough that a reader who stops reading holds its connection (socket buffers fill).
      const bigLength = 64 * 1024 * 1024;
      const bigCreated = await request(`${gw.url}${base}`, {
        method: 'POST',
        headers: {
          ...tus,
          'Upload-Length': String(bigLength),
          'Content-Type': 'application/offset+octet-stream',
        },
        body: Buffer.alloc(bigLength, 0x61),
      });
      await bigCreated.body.dump();
      assert.equal(bigCreated.statusCode, 201);
      const bigPath = new URL(bigCreated.headers.location as string).pathname;
      const smallCreated = await request(`${gw.url}${base}`, {
        method: 'POST',
        headers: {
          ...tus,
          'Upload-Length': '5',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: 'hello',
      });
      await smallCreated.body.dump();
      const smallPath = new URL(smallCreated.headers.location as string).pathname;

      /** A GET whose reader reads the status line and then stops reading. */
      const stalledGet = (path: string) => {
        const url = new URL(gw.url);
        const socket = connect(Number(url.port), url.hostname);
        socket.on('error', () => {});
        readers.push(socket);
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nTus-Resumable: 1.0.0\r\nX-Forwarded-For: 10.3.0.1\r\n\r\n`,
        );
        return new Promise<number>((resolve) => {
          socket.once('data', (chunk: Buffer) => {
            socket.pause();
            resolve(Number(chunk.toString('latin1').split(' ')[1]));
          });
        });
      };
      assert.equal(await within(5_000, 'the first download', stalledGet(bigPath)), 200);
      // The second waits for tusd's lock on the upload, holding a connection; the next two are
      // over the address's share.
      const more = [stalledGet(bigPath), stalledGet(bigPath), stalledGet(bigPath)];
      const refused = await within(
        5_000,
        'two refusals',
        new Promise<number[]>((resolve) => {
          const statuses: number[] = [];
          for (const status of more) {
            void status.then((value) => {
              statuses.push(value);
              if (statuses.length === 2) resolve(statuses);
            });
          }
        }),
      );
      assert.deepEqual(refused, [429, 429]);

      const other = await within(
        5_000,
        "another address's download",
        request(`${gw.url}${smallPath}`, {
          headers: { ...tus, 'X-Forwarded-For': '10.3.0.2' },
        }),
      );
      assert.equal(other.statusCode, 200);
      assert.equal(await other.body.text(), 'hello');

      const metrics = await scrape(gw.adminUrl);
      assert.equal(
        metricValue(metrics, 'tusgate_proxy_downloads_refused_total', {
          route: 'uploads',
          backend: 'legacy',
        }),
        2,
      );
    } finally {
      for (const reader of readers) reader.destroy();
      await gw.stop();
    }
  });

  describe('body idle timeout', () => {
    let gw: RunningGateway;

    before(async () => {
      gw = await startGateway({
        routes: [route(tusd.url, { bodyIdleTimeout: '500ms' })],
      });
    });

    after(async () => {
      await gw.stop();
    });

    test('a stalled body is answered 408 and ended; tusd keeps its bytes and the client resumes', {
      timeout: 20_000,
    }, async () => {
      const [path] = await createUploads(gw.url, 1, 10);
      const stalled = new RawUpload(gw.url, path as string, { length: 10 });
      stalled.send(4);
      const answer = await within(5_000, 'the 408', stalled.response);
      assert.equal(answer?.status, 408);
      assert.equal(answer?.headers['tus-resumable'], '1.0.0');
      assert.equal(answer?.headers.connection, 'close');
      assert.match(answer?.body ?? '', /^TUSGATE_ERR_REQUEST_TIMEOUT: /);
      await within(5_000, 'the stalled connection to close', stalled.closed);

      assert.equal(await offsetOf(gw.url, path as string), '4');
      const resumed = new RawUpload(gw.url, path as string, { length: 6, offset: 4 });
      resumed.send(6);
      const done = await within(5_000, 'the resumed PATCH', resumed.response);
      assert.equal(done?.status, 204);
      assert.equal(done?.headers['upload-offset'], '10');
      await resumed.close();

      const metrics = await scrape(gw.adminUrl);
      assert.equal(
        metricValue(metrics, 'tusgate_proxy_bodies_stalled_total', {
          route: 'uploads',
          backend: 'legacy',
        }),
        1,
      );
    });

    test('a stalled creation-with-upload is answered 408 too', { timeout: 20_000 }, async () => {
      const stalled = new RawUpload(gw.url, base, { length: 10, uploadLength: 10 });
      stalled.send(4);
      const answer = await within(5_000, 'the 408', stalled.response);
      assert.equal(answer?.status, 408);
      assert.match(answer?.body ?? '', /^TUSGATE_ERR_REQUEST_TIMEOUT: /);
      await within(5_000, 'the stalled connection to close', stalled.closed);
    });

    test('a slow body that keeps sending is not ended', { timeout: 20_000 }, async () => {
      const [path] = await createUploads(gw.url, 1, 8);
      const slow = new RawUpload(gw.url, path as string, { length: 8 });
      for (let byte = 0; byte < 8; byte++) {
        slow.send(1);
        await sleep(150);
      }
      const answer = await within(5_000, 'the slow PATCH', slow.response);
      await slow.close();
      assert.equal(answer?.status, 204, 'eight bytes over 1.2 s pass a 500 ms body idle timeout');
      assert.equal(answer?.headers['upload-offset'], '8');
    });
  });
});
