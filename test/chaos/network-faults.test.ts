import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { type FaultRelay, startFaultRelay } from '../helpers/fault-relay.ts';
import { randomFile, sha256, sha256File, tempDir } from '../helpers/files.ts';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { tusUpload } from '../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const octets = { 'Content-Type': 'application/offset+octet-stream' };
const idleTimeoutMs = 1_500;

describe('network faults between tusgate and tusd: the client always gets an answer and resumes', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let tusd: RunningTusd;
  let relay: FaultRelay;
  let gw: RunningGateway;
  let collection: string;

  before(async () => {
    dir = await tempDir('tusgate-netfault-');
    tusd = await startTusd();
    relay = await startFaultRelay(tusd.port);
    gw = await startGateway({
      routes: [
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          backends: {
            tusd: {
              type: 'tusd',
              url: `${relay.origin}/files/`,
              idleTimeout: `${idleTimeoutMs}ms`,
              connectTimeout: '1s',
            },
          },
        },
      ],
    });
    collection = `${gw.url}/legacy/`;
  });

  after(async () => {
    await gw?.stop();
    await relay?.close();
    await tusd?.stop();
    await dir?.remove();
  });

  async function create(size: number): Promise<string> {
    const response = await request(collection, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': String(size) },
    });
    await response.body.dump();
    assert.equal(response.statusCode, 201);
    return new URL(response.headers.location as string, collection).href;
  }

  /** HEAD as a tus client does after a failure: retried while the answer says "try again". */
  async function head(url: string): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const response = await request(url, { method: 'HEAD', headers: tus });
      await response.body.dump();
      if (response.statusCode === 200) return Number(response.headers['upload-offset']);
      // tusd hands a held lock over by polling (every 5 s by default): until then HEAD waits.
      assert.ok(response.statusCode >= 500 && attempt < 10, `HEAD answered ${response.statusCode}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async function patch(url: string, offset: number, body: Buffer) {
    const response = await request(url, {
      method: 'PATCH',
      headers: { ...tus, ...octets, 'Upload-Offset': String(offset) },
      body,
    });
    return { status: response.statusCode, text: await response.body.text() };
  }

  /** Resumes from HEAD's offset until the upload is whole, then checks tusd's file. */
  async function resumeAndCheck(url: string, data: Buffer, maxOffset: number) {
    let offset = 0;
    for (let attempt = 1; ; attempt++) {
      offset = await head(url);
      assert.ok(offset <= maxOffset, `offset ${offset} is never past what the client sent`);
      const rest = await patch(url, offset, data.subarray(offset));
      if (rest.status === 204) break;
      // tusd may still be storing what the cut request sent when the HEAD came: its offset then
      // moves on, and a tus client answers the 409 by asking again.
      assert.ok(rest.status === 409 && attempt < 5, `PATCH answered ${rest.status}: ${rest.text}`);
    }
    assert.equal(await head(url), data.length);
    const id = url.slice(url.lastIndexOf('/') + 1);
    assert.equal(sha256(await readFile(join(tusd.dir, id))), sha256(data));
    return offset;
  }

  test('latency on every packet: tus-js-client still uploads the whole file', async () => {
    relay.setMode({ kind: 'latency', ms: 15 });
    try {
      const file = await randomFile(dir.path, 2 * 1024 * 1024);
      const result = await tusUpload(file, { endpoint: collection, chunkSize: 512 * 1024 });
      const id = result.url.slice(result.url.lastIndexOf('/') + 1);
      assert.equal(await sha256File(join(tusd.dir, id)), await sha256File(file));
    } finally {
      relay.setMode({ kind: 'pass' });
    }
  });

  test('a reset in the middle of a body: 502 with a tus body, then the client resumes', async () => {
    const data = randomBytes(1024 * 1024);
    const url = await create(data.length);
    const resetsBefore = relay.fired.resets;
    relay.setMode({ kind: 'reset-after', bytes: 128 * 1024 });
    const cut = await patch(url, 0, data);
    assert.equal(relay.fired.resets, resetsBefore + 1, 'the relay reset the connection');
    assert.equal(cut.status, 502);
    assert.match(cut.text, /^TUSGATE_ERR_BACKEND_UNAVAILABLE: /);
    const resumedAt = await resumeAndCheck(url, data, 128 * 1024);
    assert.ok(resumedAt > 0, 'tusd kept the bytes that arrived before the reset');
  });

  test('a half-open backend connection mid-body: 504 after the idle timeout, then the client resumes', async () => {
    const data = randomBytes(1024 * 1024);
    const url = await create(data.length);
    const before = relay.fired.blackholes;
    relay.setMode({ kind: 'blackhole-after', bytes: 256 * 1024 });
    const started = Date.now();
    const stalled = await patch(url, 0, data);
    assert.equal(relay.fired.blackholes, before + 1, 'the connection went silent');
    assert.equal(stalled.status, 504);
    assert.match(stalled.text, /^TUSGATE_ERR_BACKEND_TIMEOUT: /);
    assert.ok(Date.now() - started >= idleTimeoutMs, 'answered by the idle watchdog');
    // tusd still holds the half-open request; its lock hand-over lets the HEAD through.
    await resumeAndCheck(url, data, 256 * 1024);
  });

  test('the backend refuses connections: 502 at once; once it is back the upload resumes', async () => {
    const data = randomBytes(256 * 1024);
    const url = await create(data.length);
    const first = await patch(url, 0, data.subarray(0, 100_000));
    assert.equal(first.status, 204, first.text);
    await tusd.stop({ keepData: true });
    try {
      const refused = await patch(url, 100_000, data.subarray(100_000));
      assert.equal(refused.status, 502);
      assert.match(refused.text, /^TUSGATE_ERR_BACKEND_UNAVAILABLE: /);
    } finally {
      tusd = await startTusd({ dir: tusd.dir, port: tusd.port });
    }
    assert.equal(await resumeAndCheck(url, data, 100_000), 100_000);
  });
});
