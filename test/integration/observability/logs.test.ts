import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../../helpers/files.ts';
import { type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const tus = { 'Tus-Resumable': '1.0.0' };
const secrets = {
  bearer: 'log-bearer-91c2aa',
  apiKey: 'log-apikey-3f00de',
  cookie: 'log-cookie-55b1e0',
  query: 'log-query-7d2c11',
};
const credentialHeaders = {
  Authorization: `Bearer ${secrets.bearer}`,
  'X-Api-Key': secrets.apiKey,
  Cookie: `galaxysession=${secrets.cookie}`,
};

describe('request logs', () => {
  let tusd: RunningTusd;
  let dir: { path: string; remove: () => Promise<void> };
  let gw: RunningGateway;

  before(async () => {
    tusd = await startTusd();
    dir = await tempDir('tusgate-logs-');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: dir.path } },
      routes: [
        {
          name: 'legacy',
          match: { pathPrefix: '/legacy/' },
          backends: { tusd: { type: 'tusd', url: tusd.url } },
        },
        {
          name: 'native',
          match: { pathPrefix: '/files/' },
          backends: { store: { type: 'native', store: 'main' } },
        },
      ],
    });
  });
  after(async () => {
    await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
  });

  const requestLines = () => gw.logs().filter((line) => line.msg === 'request');
  const lineFor = (requestId: string | null) => {
    const line = requestLines().find((entry) => entry.requestId === requestId);
    assert.ok(line, `no request line with requestId ${requestId}`);
    return line;
  };
  // The line is written when the response closes, which can be a tick after fetch resolves.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  test('one line per request with method, route, backend, status, bytes, duration and ids', async () => {
    for (const prefix of ['/legacy/', '/files/']) {
      const created = await fetch(`${gw.url}${prefix}`, {
        method: 'POST',
        headers: {
          ...tus,
          ...credentialHeaders,
          'Upload-Length': '5',
          'Content-Type': 'application/offset+octet-stream',
        },
        body: 'hello',
      });
      assert.equal(created.status, 201);
      await created.arrayBuffer();
      await settle();
      const requestId = created.headers.get('x-request-id');
      assert.match(requestId ?? '', /\S{8,}/);
      const line = lineFor(requestId);
      const uploadId = new URL(created.headers.get('location') ?? '').pathname.split('/').pop();
      assert.equal(line.method, 'POST');
      assert.equal(line.route, prefix === '/files/' ? 'native' : 'legacy');
      assert.equal(line.backend, prefix === '/files/' ? 'store' : 'tusd');
      assert.equal(line.status, 201);
      assert.equal(line.bytesIn, 5);
      assert.equal(line.uploadId, uploadId);
      assert.equal(typeof line.durationMs, 'number');
      assert.equal(line.level, 30);
    }
  });

  test('an incoming X-Request-Id is kept and logged', async () => {
    const response = await fetch(`${gw.url}/legacy/`, {
      method: 'OPTIONS',
      headers: { 'X-Request-Id': 'edge-request-0001' },
    });
    await response.arrayBuffer();
    await settle();
    assert.equal(response.headers.get('x-request-id'), 'edge-request-0001');
    assert.equal(lineFor('edge-request-0001').status, response.status);
  });

  test('a client error is logged with its code, and credentials never reach the log', async () => {
    const response = await fetch(`${gw.url}/files/..%2Fsecret?token=${secrets.query}`, {
      method: 'HEAD',
      headers: { ...tus, ...credentialHeaders },
    });
    assert.equal(response.status, 404);
    await settle();
    const line = lineFor(response.headers.get('x-request-id'));
    assert.equal(line.error, 'TUSGATE_ERR_UPLOAD_NOT_FOUND');
    const everything = gw
      .logs()
      .map((entry) => JSON.stringify(entry))
      .join('\n');
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(!everything.includes(value), `${name} reached the log`);
    }
  });

  test("pino's redaction blanks credentials even if a caller logs headers", () => {
    gw.gateway.log.info(
      { headers: { authorization: 'Bearer x-leak', 'x-api-key': 'k-leak' } },
      'probe',
    );
    const probe = gw.logs().find((entry) => entry.msg === 'probe');
    assert.ok(probe);
    assert.deepEqual(probe.headers, { authorization: '[redacted]', 'x-api-key': '[redacted]' });
  });

  test('a reload names the changed settings that only a restart applies', () => {
    const current = gw.gateway.currentConfig;
    gw.gateway.reload({
      ...current,
      logging: { ...current.logging, level: 'warn' },
      server: { ...current.server, idleTimeout: current.server.idleTimeout + 1 },
    });
    const warning = gw
      .logs()
      .find((entry) => entry.msg === 'these changes take effect after a restart');
    assert.deepEqual(warning?.keys, ['server.idleTimeout', 'logging']);
  });
});
