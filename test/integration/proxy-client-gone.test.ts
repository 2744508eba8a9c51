import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { type RunningGateway, startGateway } from '../helpers/gateway.ts';
import { metricValue, scrape } from '../helpers/metrics.ts';
import { listenOnLoopback } from '../helpers/ports.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

const base = '/files/';
const apiKey = 'gone-client-key-0123456789';
const tus = { 'Tus-Resumable': '1.0.0', 'X-Api-Key': apiKey };

/**
 * Galaxy's hook endpoint admitting every key (`200 null`, as Galaxy answers), but only once the
 * test opens the gate: a slow authentication, during which a client can leave.
 */
async function startGatedGalaxy() {
  let open = true;
  let calls = 0;
  const held: ServerResponse[] = [];
  const admit = (res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('null');
  };
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      calls++;
      if (open) admit(res);
      else held.push(res);
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/`,
    calls: () => calls,
    hold: () => {
      open = false;
    },
    release: () => {
      open = true;
      for (const res of held.splice(0)) admit(res);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function until(condition: () => Promise<boolean> | boolean, what: string) {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Sends a request's head (and `bodyBytes` of its body) over a raw socket, and nothing more. */
function rawRequest(gatewayUrl: string, head: string[], bodyBytes = 0): Socket {
  const url = new URL(gatewayUrl);
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => {});
  socket.write(`${[...head, `Host: ${url.host}`, `X-Api-Key: ${apiKey}`].join('\r\n')}\r\n\r\n`);
  if (bodyBytes > 0) socket.write(Buffer.alloc(bodyBytes, 0x61));
  return socket;
}

describe('a client that leaves while the gateway awaits authentication', () => {
  let tusd: RunningTusd;
  let galaxy: Awaited<ReturnType<typeof startGatedGalaxy>>;
  let gw: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    galaxy = await startGatedGalaxy();
    gw = await startGateway({
      routes: [
        {
          name: 'uploads',
          match: { pathPrefix: base },
          auth: { type: 'galaxy', url: galaxy.url, cacheTtl: '0s', timeout: '10s' },
          // One body per address, held for a minute by a body that never comes: a leaked slot
          // shows as a 429 for the next PATCH.
          backends: { legacy: { type: 'tusd', url: tusd.url, limits: { bodiesPerClient: 1 } } },
        },
      ],
    });
  });

  after(async () => {
    await gw.stop();
    await galaxy.close();
    await tusd.stop();
  });

  /** Requests counted with no answer (499): clients the gateway saw leave. */
  async function leftCount(): Promise<number> {
    const text = await scrape(gw.adminUrl);
    const left = (method: string) =>
      metricValue(text, 'tusgate_requests_total', {
        route: 'uploads',
        backend: 'none',
        method,
        status_class: '4xx',
      });
    return left('PATCH') + left('POST');
  }

  async function clientGoneSeen(before: number) {
    await until(async () => (await leftCount()) > before, 'the gateway to see the client leave');
  }

  const allowed = async () =>
    metricValue(await scrape(gw.adminUrl), 'tusgate_auth_decisions_total', {
      route: 'uploads',
      result: 'allowed',
      reason: 'valid',
    });

  const goneLogs = () =>
    gw.logs().filter((line) => line.msg === 'client went away before the backend was asked');

  test('a PATCH is not forwarded and holds no body slot', { timeout: 30_000 }, async () => {
    const created = await request(`${gw.url}${base}`, {
      method: 'POST',
      headers: { ...tus, 'Upload-Length': '10' },
    });
    await created.body.dump();
    assert.equal(created.statusCode, 201);
    const path = new URL(created.headers.location as string).pathname;

    galaxy.hold();
    const callsBefore = galaxy.calls();
    const logsBefore = goneLogs().length;
    const leftBefore = await leftCount();
    const left = rawRequest(
      gw.url,
      [
        `PATCH ${path} HTTP/1.1`,
        'Tus-Resumable: 1.0.0',
        'Content-Type: application/offset+octet-stream',
        'Upload-Offset: 0',
        'Content-Length: 10',
      ],
      2,
    );
    await until(() => galaxy.calls() > callsBefore, 'the PATCH to reach authentication');
    left.destroy();
    await clientGoneSeen(leftBefore);
    const allowedBefore = await allowed();
    galaxy.release();
    await until(async () => (await allowed()) > allowedBefore, 'the PATCH to be admitted');

    // The slot is free: the same address may send a body at once.
    const patch = await request(`${gw.url}${path}`, {
      method: 'PATCH',
      headers: {
        ...tus,
        'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': '0',
      },
      body: Buffer.alloc(10, 0x62),
    });
    await patch.body.dump();
    assert.equal(patch.statusCode, 204);
    assert.equal(patch.headers['upload-offset'], '10');
    assert.equal(goneLogs().length, logsBefore + 1);
  });

  test('a creation is not forwarded: no upload without an owner', { timeout: 30_000 }, async () => {
    const uploadsBefore = (await readdir(tusd.dir)).filter((name) => name.endsWith('.info'));
    const requests = await leftCount();
    galaxy.hold();
    const callsBefore = galaxy.calls();
    const logsBefore = goneLogs().length;
    const left = rawRequest(gw.url, [
      `POST ${base} HTTP/1.1`,
      'Tus-Resumable: 1.0.0',
      'Upload-Length: 5',
      'Content-Length: 0',
    ]);
    await until(() => galaxy.calls() > callsBefore, 'the POST to reach authentication');
    left.destroy();
    await clientGoneSeen(requests);
    galaxy.release();
    await until(() => goneLogs().length > logsBefore, 'the gateway to drop the POST');

    const uploadsAfter = (await readdir(tusd.dir)).filter((name) => name.endsWith('.info'));
    assert.deepEqual(uploadsAfter.sort(), uploadsBefore.sort());
    const [line] = goneLogs().slice(logsBefore);
    assert.equal(line?.during, 'authentication');
  });
});
