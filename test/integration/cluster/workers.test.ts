import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { type ClientRequest, request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import {
  eventually,
  freshRequest,
  logLines,
  pidServingConnection,
  workerPids,
} from '../../helpers/cluster.ts';
import { randomFile, sha256File, tempDir } from '../../helpers/files.ts';
import {
  type GatewayProcess,
  runGatewayProcess,
  startGatewayProcess,
} from '../../helpers/gateway.ts';
import { scrape } from '../../helpers/metrics.ts';
import { nativeConfig } from '../../helpers/native.ts';
import { freePort, listenOnLoopback } from '../../helpers/ports.ts';
import { tusUpload } from '../../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../../helpers/tusd.ts';

const guide = join(import.meta.dirname, '..', '..', '..', 'docs', 'scaling.md');
const tus = { 'Tus-Resumable': '1.0.0' };
const alice = { Authorization: 'Bearer alice-token-1a2b3c4d' };
const bob = { Authorization: 'Bearer bob-token-5e6f7a8b' };
const MiB = 1024 * 1024;

/** The config block of docs/scaling.md, with this test's paths and ports. */
async function guideConfig(replacements: [string, string][]): Promise<string> {
  const text = await readFile(guide, 'utf8');
  const block = /```yaml\n# scaling-guide: tusgate.yaml\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(block, 'docs/scaling.md has the tested config block');
  let config = block;
  for (const [from, to] of replacements) {
    assert.ok(config.includes(from), `the guide's config uses ${from}`);
    config = config.replaceAll(from, to);
  }
  return config;
}

/** Sum of a metric's samples whose labels include `labels`. */
function sample(text: string, name: string, labels = ''): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** A PATCH whose body the test writes piece by piece; `port` is its client-side port. */
async function openPatch(url: string, offset: number, length: number) {
  const req: ClientRequest = request(url, {
    method: 'PATCH',
    agent: false,
    headers: {
      ...tus,
      ...alice,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': String(length),
    },
  });
  const answer = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  answer.catch(() => {});
  const port = await new Promise<number>((resolve) =>
    req.once('socket', (socket) => socket.once('connect', () => resolve(socket.localPort!))),
  );
  return { req, answer, port };
}

interface RawPatch {
  socket: Socket;
  /** The worker process holding the connection, found before anything was sent. */
  worker: number | undefined;
  start(offset: number, length: number, head: Buffer): void;
  finish(rest: Buffer): void;
  /** The status of the answer; rejects when the connection ends without one. */
  answer: Promise<number>;
}

/** A raw connection to the gateway, placed on a worker before any request byte is sent. */
async function rawPatchOn(url: URL, port: number, workers: Iterable<number>): Promise<RawPatch> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  let worker: number | undefined;
  const candidates = [...workers];
  for (let attempt = 0; attempt < 50 && worker === undefined; attempt++) {
    worker = await pidServingConnection(socket.localPort!, port, candidates);
    if (worker === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let received = '';
  const answer = new Promise<number>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (status) resolve(Number(status[1]));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed without an answer')));
  });
  answer.catch(() => {});
  const write = (bytes: Buffer | string) => {
    if (!socket.destroyed) socket.write(bytes);
  };
  return {
    socket,
    worker,
    answer,
    start: (offset, length, head) => {
      const headers = [
        `PATCH ${url.pathname} HTTP/1.1`,
        `Host: ${url.host}`,
        'Tus-Resumable: 1.0.0',
        `Authorization: ${alice.Authorization}`,
        `Upload-Offset: ${offset}`,
        'Content-Type: application/offset+octet-stream',
        `Content-Length: ${length}`,
        '',
        '',
      ].join('\r\n');
      write(headers);
      write(head);
    },
    finish: (rest) => write(rest),
  };
}

describe('docs/scaling.md: server.workers: 2 on one host (the built CLI)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let tusd: RunningTusd;
  let gw: GatewayProcess;
  let port: number;
  let configFile: string;
  let configText: string;
  const pids = () => workerPids(gw.output());
  const native = () => `${gw.url}/files/`;

  before(async () => {
    dir = await tempDir('tusgate-workers-');
    tusd = await startTusd();
    port = await freePort();
    const adminPort = await freePort();
    const tokens = join(dir.path, 'tokens.yaml');
    await writeFile(tokens, 'alice-token-1a2b3c4d: alice\nbob-token-5e6f7a8b: bob\n');
    configText = await guideConfig([
      ['127.0.0.1:1080', `127.0.0.1:${port}`],
      ['127.0.0.1:9102', `127.0.0.1:${adminPort}`],
      ['http://127.0.0.1:1081/files/', tusd.url],
      ['/srv/tusgate', join(dir.path, 'srv')],
      ['/etc/tusgate/tokens.yaml', tokens],
    ]);
    configFile = join(dir.path, 'tusgate.yaml');
    await writeFile(configFile, configText);
    gw = await runGatewayProcess(configFile, { port, adminPort }, { startTimeoutMs: 60_000 });
  });

  after(async () => {
    const workers = [...(gw ? pids().values() : [])];
    const code = await gw?.stop();
    await tusd?.stop();
    await dir?.remove();
    assert.equal(code, 0, 'the primary exits 0 once its workers stopped');
    for (const pid of workers) {
      assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone`);
    }
  });

  test('both workers serve the listener; /metrics sums their requests; /readyz covers both', async () => {
    assert.equal(pids().size, 2, 'two workers listening');
    const created = 10;
    for (let i = 0; i < created; i++) {
      const answer = await freshRequest(native(), 'POST', {
        ...tus,
        ...alice,
        'Upload-Length': '5',
      });
      assert.equal(answer.status, 201, answer.body);
    }
    const posts = () =>
      logLines(gw.output()).filter(
        (line) => line.msg === 'request' && line.method === 'POST' && line.route === 'uploads',
      );
    await eventually('a log line per creation', () => posts().length === created);
    const servedBy = new Set(posts().map((line) => line.pid));
    assert.deepEqual(servedBy, new Set(pids().values()), 'each worker served some creations');

    const metrics = await scrape(gw.adminUrl);
    const labels = 'route="uploads",backend="native",method="POST",status_class="2xx"';
    assert.equal(sample(metrics, 'tusgate_requests_total', labels), created);
    assert.equal(sample(metrics, 'tusgate_uploads_created_total', 'route="uploads"'), created);
    assert.equal(sample(metrics, 'tusgate_workers_running'), 2);

    const ready = await fetch(`${gw.adminUrl}/readyz`);
    const body = (await ready.json()) as { status: string; checks: { name: string }[] };
    assert.equal(ready.status, 200);
    for (const pid of pids().values()) {
      assert.ok(
        body.checks.some((check) => check.name.includes(`pid ${pid}`)),
        `/readyz asked worker ${pid}`,
      );
    }
  });

  test('owners of proxied uploads: written by one worker, read by the other (one SQLite file)', async () => {
    const legacy = `${gw.url}/legacy/`;
    const urls: string[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await freshRequest(legacy, 'POST', { ...tus, ...alice, 'Upload-Length': '3' });
      assert.equal(answer.status, 201, answer.body);
      urls.push(new URL(answer.headers.location as string, legacy).href);
    }
    for (const url of urls) {
      // Two HEADs each on fresh connections: the cluster hands them to both workers.
      for (let i = 0; i < 2; i++) {
        assert.equal((await freshRequest(url, 'HEAD', { ...tus, ...alice })).status, 200);
        assert.equal((await freshRequest(url, 'HEAD', { ...tus, ...bob })).status, 404);
      }
    }
    const lines = () =>
      logLines(gw.output()).filter((line) => line.msg === 'request' && line.route === 'legacy');
    await eventually('a log line per request', () => lines().length === urls.length * 5);
    const creator = new Map<unknown, unknown>();
    for (const line of lines()) {
      if (line.method === 'POST') creator.set(line.uploadId, line.pid);
    }
    const crossReads = lines().filter(
      (line) =>
        line.method === 'HEAD' && line.status === 200 && creator.get(line.uploadId) !== line.pid,
    );
    assert.ok(crossReads.length > 0, 'some owners were read by the worker that did not write them');
  });

  test('two PATCHes racing one native upload on different workers never interleave', async () => {
    const length = 4 * MiB;
    const created = await freshRequest(native(), 'POST', {
      ...tus,
      ...alice,
      'Upload-Length': String(length),
    });
    assert.equal(created.status, 201);
    const url = new URL(created.headers.location as string, native()).href;
    const id = url.slice(url.lastIndexOf('/') + 1);
    const dataFile = (await findData(join(dir.path, 'srv', 'uploads'), id))!;

    // Each client's connection is placed on a worker before it sends a byte: the second one is
    // chosen on the other worker while the first PATCH is writing.
    const target = new URL(url);
    const first = await rawPatchOn(target, port, pids().values());
    assert.ok(first.worker, 'the first connection was placed on a worker');
    first.start(0, length, Buffer.alloc(MiB, 'a'));
    await eventually('the first PATCH writing', async () => (await sizeOf(dataFile)) >= MiB / 2);
    let second: RawPatch | undefined;
    for (let attempt = 0; attempt < 12 && !second; attempt++) {
      const candidate = await rawPatchOn(target, port, pids().values());
      if (candidate.worker !== undefined && candidate.worker !== first.worker) second = candidate;
      else candidate.socket.destroy();
    }
    assert.ok(second, 'a second connection landed on the other worker');
    second.start(0, length, Buffer.alloc(MiB, 'b'));
    second.finish(Buffer.alloc(length - MiB, 'b'));
    first.finish(Buffer.alloc(length - MiB, 'a'));

    // As in tusd v2, the second request asks the first to hand the lock over: the first stops
    // (400 UPLOAD_INTERRUPTED, or its connection ends mid-body), keeps its bytes, and the second
    // then meets an offset that moved (409). Whoever wins, the bytes are never mixed.
    const outcomes = await Promise.allSettled([first.answer, second.answer]);
    const statuses = outcomes.map((outcome) =>
      outcome.status === 'fulfilled' ? outcome.value : 'cut',
    );
    assert.ok(
      statuses.some((status) => status !== 204),
      `one of the two is refused or interrupted, never both written (${statuses})`,
    );
    for (const status of statuses) assert.ok([204, 400, 409, 423, 'cut'].includes(status));
    const data = await readFile(dataFile);
    assert.ok(data.length > 0 && data.length <= length);
    const body = data[0] === 'a'.charCodeAt(0) ? 'a' : 'b';
    assert.ok(data.equals(Buffer.alloc(data.length, body)), 'the file is a prefix of one body');
  });

  test('a SIGKILLed worker is replaced and its upload resumes from the true offset', async () => {
    const files = await tempDir('tusgate-workers-files-');
    try {
      const source = await randomFile(files.path, 24 * MiB);
      const size = (await stat(source)).size;
      const created = await freshRequest(native(), 'POST', {
        ...tus,
        ...alice,
        'Upload-Length': String(size),
      });
      const url = new URL(created.headers.location as string, native()).href;
      const id = url.slice(url.lastIndexOf('/') + 1);
      const dataFile = (await findData(join(dir.path, 'srv', 'uploads'), id))!;

      const patch = await openPatch(url, 0, size);
      const head = await readFile(source);
      patch.req.write(head.subarray(0, 8 * MiB));
      await eventually('bytes on disk', async () => (await sizeOf(dataFile)) >= 4 * MiB);
      const before = pids();
      const victim = await pidServingConnection(patch.port, port, before.values());
      assert.ok(victim, 'the worker serving the PATCH was found');
      const slot = [...before].find(([, pid]) => pid === victim)![0];
      process.kill(victim, 'SIGKILL');
      await assert.rejects(patch.answer, 'the killed worker’s connection breaks');

      await eventually('a new worker in the slot', () => {
        const now = pids().get(slot);
        return now !== undefined && now !== victim;
      });
      await eventually('ready again', async () => (await fetch(`${gw.adminUrl}/readyz`)).ok);

      const offsets: number[] = [];
      await tusUpload(source, {
        endpoint: native(),
        uploadUrl: url,
        headers: alice,
        onAfterResponseOffset: (offset) => offsets.push(offset),
      });
      assert.ok((offsets[0] ?? 0) > 0, `resumed from the bytes kept (${offsets[0]}), not from 0`);
      assert.equal(await sha256File(dataFile), await sha256File(source));
      const metrics = await scrape(gw.adminUrl);
      assert.equal(sample(metrics, 'tusgate_worker_restarts_total'), 1);
      assert.equal(sample(metrics, 'tusgate_workers_running'), 2);
    } finally {
      await files.remove();
    }
  });

  test('SIGHUP reloads every worker; an invalid file is refused by all, the old config stays', async () => {
    const reloaded = () =>
      new Set(
        logLines(gw.output())
          .filter((line) => line.msg === 'configuration reloaded')
          .map((line) => line.pid),
      );
    const refused = () =>
      logLines(gw.output()).filter((line) =>
        String(line.msg).startsWith('configuration reload refused'),
      );
    const maxSizes = async () => {
      const seen = new Set<unknown>();
      for (let i = 0; i < 4; i++) {
        seen.add((await freshRequest(native(), 'OPTIONS')).headers['tus-max-size']);
      }
      return seen;
    };

    // A SIGHUP to a worker itself (a signal to the whole process group) is the primary's job.
    const before = pids();
    for (const pid of before.values()) process.kill(pid, 'SIGHUP');
    const ready = await fetch(`${gw.adminUrl}/readyz`);
    const readiness = (await ready.json()) as { checks: { name: string; ok: boolean }[] };
    assert.equal(ready.status, 200, 'both workers answered after their SIGHUP');
    for (const pid of before.values()) {
      assert.ok(readiness.checks.some((check) => check.name.includes(`pid ${pid}`) && check.ok));
    }

    const next = configText.replace(
      '    match: { pathPrefix: /files/ }\n',
      '    match: { pathPrefix: /files/ }\n    maxSize: 123456\n',
    );
    assert.notEqual(next, configText);
    await writeFile(configFile, next);
    gw.process.kill('SIGHUP');
    await eventually('both workers reloaded', () =>
      [...pids().values()].every((pid) => reloaded().has(pid)),
    );
    assert.deepEqual(await maxSizes(), new Set(['123456']), 'every worker serves the new config');

    await writeFile(configFile, `${next}\nroutes: [this is not valid\n`);
    gw.process.kill('SIGHUP');
    // The primary refuses it, and each worker counts and logs the refusal.
    await eventually('refused by the primary and both workers', () => refused().length >= 3);
    assert.ok(refused().some((line) => line.role === 'primary'));
    assert.deepEqual(await maxSizes(), new Set(['123456']), 'the previous config stays');
    const metrics = await scrape(gw.adminUrl);
    // SIGHUP and the file watch may each reload: at least one refusal, counted once per reload.
    assert.ok(sample(metrics, 'tusgate_config_reloads_total', 'result="failure"') >= 1);
    assert.ok(sample(metrics, 'tusgate_config_reloads_total', 'result="success"') >= 1);
  });

  test('SIGTERM to the primary lets a running upload finish, then every worker stops', async () => {
    const length = 120_000; // under the maxSize the reload above set
    const created = await freshRequest(native(), 'POST', {
      ...tus,
      ...alice,
      'Upload-Length': String(length),
    });
    assert.equal(created.status, 201, created.body);
    const url = new URL(created.headers.location as string, native()).href;
    const id = url.slice(url.lastIndexOf('/') + 1);
    const dataFile = (await findData(join(dir.path, 'srv', 'uploads'), id))!;
    const patch = await openPatch(url, 0, length);
    patch.req.write(Buffer.alloc(length / 2, 'c'));
    await eventually('the PATCH writing', async () => (await sizeOf(dataFile)) > 0);
    const workers = [...pids().values()];
    const exited = new Promise<number | null>((resolve) => gw.process.once('exit', resolve));

    gw.process.kill('SIGTERM');
    await eventually('every worker shutting down', () =>
      workers.every((pid) =>
        logLines(gw.output()).some((line) => line.msg === 'shutting down' && line.pid === pid),
      ),
    );
    patch.req.end(Buffer.alloc(length / 2, 'c'));
    assert.equal(await patch.answer, 204, 'the running upload finished');
    assert.equal(await exited, 0);
    assert.ok((await readFile(dataFile)).equals(Buffer.alloc(length, 'c')));
  });
});

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => ({ size: 0 }))).size;
}

/** The data file of a native upload: `<root>/<yyyy>/<mm>/<dd>/<id>`. */
async function findData(root: string, id: string): Promise<string | undefined> {
  for (const entry of await readdir(root, { recursive: true })) {
    if (entry.endsWith(`/${id}`)) return join(root, entry);
  }
  return undefined;
}

test('with workers, only worker 0 runs the stores’ scheduled cleanups', async () => {
  const dir = await tempDir('tusgate-workers-cleanup-');
  const raw = nativeConfig(dir.path, { store: { cleanupInterval: '100ms' } });
  const gw = await startGatewayProcess(
    { ...raw, server: { workers: 2 } },
    { startTimeoutMs: 60_000 },
  );
  try {
    const runs = () => logLines(gw.output()).filter((line) => line.msg === 'cleanup finished');
    await eventually('several cleanup runs', () => runs().length >= 4);
    assert.deepEqual(new Set(runs().map((line) => line.worker)), new Set([0]));
    assert.equal(workerPids(gw.output()).size, 2, 'while two workers run');
  } finally {
    await gw.stop();
    await dir.remove();
  }
});

test('workers that cannot listen stop the start: the primary exits 1 and names the problem', async () => {
  const taken = createServer();
  const port = await listenOnLoopback(taken);
  const dir = await tempDir('tusgate-workers-taken-');
  try {
    const adminPort = await freePort();
    const configFile = join(dir.path, 'tusgate.yaml');
    const server = { workers: 2, listen: `127.0.0.1:${port}`, admin: `127.0.0.1:${adminPort}` };
    await writeFile(configFile, stringify({ ...nativeConfig(dir.path), server }));
    await assert.rejects(
      runGatewayProcess(configFile, { port, adminPort }, { startTimeoutMs: 60_000 }),
      (error: Error) =>
        /tusgate exited with 1/.test(error.message) && /EADDRINUSE/.test(error.message),
    );
  } finally {
    taken.close();
    await dir.remove();
  }
});

test('with workers, /admin/routes answers for the workers and a canary reset reaches every one', async () => {
  const tusd = await startTusd();
  const dir = await tempDir('tusgate-workers-admin-');
  const token = 'admin-token-0123456789';
  try {
    const raw = nativeConfig(dir.path, {
      backends: { legacy: { type: 'tusd', url: tusd.url } },
      create: 'legacy',
      route: { canary: { backend: 'native', weight: 25 } },
    });
    const gw = await startGatewayProcess(
      { ...raw, server: { workers: 2, adminToken: token } },
      { startTimeoutMs: 60_000 },
    );
    try {
      const admin = (path: string, method = 'GET') =>
        fetch(`${gw.adminUrl}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });
      const listed = await admin('/admin/routes');
      assert.equal(listed.status, 200);
      const { routes } = (await listed.json()) as {
        routes: { name: string; canary: { configuredWeight: number } | null }[];
      };
      assert.equal(routes[0]?.name, 'uploads');
      assert.equal(routes[0]?.canary?.configuredWeight, 25);

      assert.equal((await admin('/admin/routes/uploads/reset', 'POST')).status, 200);
      assert.equal((await admin('/admin/routes/nowhere/reset', 'POST')).status, 404);
      const resets = () =>
        new Set(
          logLines(gw.output())
            .filter((line) => String(line.msg).startsWith('canary reset'))
            .map((line) => line.pid),
        );
      await eventually('a reset in each worker', () =>
        [...workerPids(gw.output()).values()].every((pid) => resets().has(pid)),
      );
      assert.equal((await fetch(`${gw.adminUrl}/admin/routes`)).status, 401, 'token required');
    } finally {
      await gw.stop();
    }
  } finally {
    await tusd.stop();
    await dir.remove();
  }
});
