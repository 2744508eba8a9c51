import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { randomFile, sha256, sha256File, tempDir } from '../helpers/files.ts';
import { type GatewayProcess, runGatewayProcess } from '../helpers/gateway.ts';
import { scrape, seriesSum } from '../helpers/metrics.ts';
import {
  type RunningNginx,
  shippedProxyDirectives,
  startNginxWithConfig,
} from '../helpers/nginx.ts';
import { freePort } from '../helpers/ports.ts';
import { type RunningRedis, startRedis } from '../helpers/redis.ts';
import { tusUpload } from '../helpers/tus-client.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

/**
 * docs/scaling.md "N hosts behind nginx", run as written: three tusgate processes with the
 * guide's config over one store root and one Redis (a private redis-server), behind real nginx
 * with the guide's round-robin upstream and no sticky routing.
 */

const guide = join(import.meta.dirname, '..', '..', 'docs', 'scaling.md');
const tus = { 'Tus-Resumable': '1.0.0' };
const alice = { Authorization: 'Bearer alice-token-1a2b3c4d' };
const bob = { Authorization: 'Bearer bob-token-5e6f7a8b' };
const replicaCount = 3;
const uploadCount = 50;
const chunkSize = 16 * 1024;
/** Uploads running at once: enough to mix nginx's round-robin, few enough for 2 shared cores. */
const concurrency = 10;

/** The fenced blocks of the guide whose first line is `# scaling-guide: <name>`. */
function guideBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of text.matchAll(/```(?:yaml|nginx)\n([\s\S]*?)```/g)) {
    const name = /^# scaling-guide: (.+)\n/.exec(match[1]!)?.[1];
    if (name !== undefined) blocks.set(name, match[1]!);
  }
  return blocks;
}

/** A guide block with `replacements` applied; each documented value must be there. */
function replaced(text: string, replacements: [string, string][]): string {
  let out = text;
  for (const [from, to] of replacements) {
    assert.ok(out.includes(from), `the guide's block uses ${from}`);
    out = out.replaceAll(from, to);
  }
  return out;
}

interface RequestLine {
  msg: string;
  method?: string;
  route?: string;
  uploadId?: string;
  status?: number;
}

/** The `request` log lines a replica wrote so far. */
function requestLines(replica: GatewayProcess): RequestLine[] {
  return replica
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as RequestLine)
    .filter((line) => line.msg === 'request');
}

describe('docs/scaling.md: three replicas behind nginx round-robin, one store, one Redis', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let redis: RunningRedis;
  let tusd: RunningTusd;
  let nginx: RunningNginx;
  let origin: string;
  const replicas: GatewayProcess[] = [];
  /** Upload URL (as nginx handed it out) → the file sent. */
  const uploads: { url: string; path: string; route: 'uploads' | 'legacy'; chunks: number }[] = [];

  before(async () => {
    dir = await tempDir('tusgate-replicas-e2e-');
    redis = await startRedis();
    tusd = await startTusd();
    const blocks = guideBlocks(await readFile(guide, 'utf8'));
    const yaml = blocks.get('replicas.yaml');
    const upstream = blocks.get('nginx upstream');
    assert.ok(yaml, 'docs/scaling.md has a block "# scaling-guide: replicas.yaml"');
    assert.ok(upstream, 'docs/scaling.md has a block "# scaling-guide: nginx upstream"');

    // The guide proxies with exactly the directives deploy/nginx/tusgate.conf ships.
    const location = /location\s+\S+\s*\{([^}]*)\}/.exec(upstream)?.[1] ?? '';
    const directives = location
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line !== '' && !line.startsWith('proxy_pass '));
    assert.deepEqual(directives, await shippedProxyDirectives());

    const tokens = join(dir.path, 'tokens.yaml');
    await writeFile(tokens, 'alice-token-1a2b3c4d: alice\nbob-token-5e6f7a8b: bob\n');
    const ports: number[] = [];
    for (let index = 0; index < replicaCount; index++) {
      const port = await freePort();
      const adminPort = await freePort();
      ports.push(port);
      // The same file for every replica but for the addresses a host listens on.
      const configFile = join(dir.path, `replica-${index}.yaml`);
      await writeFile(
        configFile,
        replaced(yaml, [
          ['0.0.0.0:1080', `127.0.0.1:${port}`],
          ['127.0.0.1:9102', `127.0.0.1:${adminPort}`],
          ['[10.0.0.10]', '[127.0.0.1]'],
          ['redis://redis.internal:6379/0', redis.url],
          ['/srv/tus/store', join(dir.path, 'store')],
          ['/etc/tusgate/tokens.yaml', tokens],
          ['http://tusd.internal:1080/files/', tusd.url],
        ]),
      );
      replicas.push(await runGatewayProcess(configFile, { port, adminPort }));
    }

    const nginxPort = await freePort();
    nginx = await startNginxWithConfig(
      join(dir.path, 'nginx'),
      replaced(upstream, [
        ['10.0.0.21:1080', `127.0.0.1:${ports[0]}`],
        ['10.0.0.22:1080', `127.0.0.1:${ports[1]}`],
        ['10.0.0.23:1080', `127.0.0.1:${ports[2]}`],
        ['listen 80;', `listen 127.0.0.1:${nginxPort};`],
      ]),
      nginxPort,
    );
    origin = `http://127.0.0.1:${nginxPort}`;
  });

  after(async () => {
    await nginx?.stop();
    for (const replica of replicas) await replica.stop();
    await tusd?.stop();
    await redis?.stop();
    await dir?.remove();
  });

  test('50 tus-js-client uploads alternate replicas; every file arrives intact', {
    timeout: 180_000,
  }, async (t) => {
    const started = performance.now();
    const queue = Array.from({ length: uploadCount }, (_, index) => index);
    const worker = async () => {
      for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
        // Half native, half proxied to tusd; 3 to 6 PATCHes each.
        const route = index % 2 === 0 ? 'uploads' : 'legacy';
        const size = 2 * chunkSize + 1 + index * 997;
        const path = await randomFile(dir.path, size, `upload-${index}`);
        const endpoint = `${origin}/${route === 'uploads' ? 'files' : 'legacy'}/`;
        const { url } = await tusUpload(path, {
          endpoint,
          chunkSize,
          headers: alice,
          retryDelays: null,
        });
        assert.ok(url.startsWith(endpoint), `${url} is nginx's address`);
        uploads.push({ url, path, route, chunks: Math.ceil(size / chunkSize) });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const uploadMs = performance.now() - started;

    // Every file read back through nginx (any replica) with its sha256.
    for (const upload of uploads) {
      const response = await fetch(upload.url, { headers: { ...tus, ...alice } });
      assert.equal(response.status, 200, `GET ${upload.url}`);
      assert.equal(
        sha256(Buffer.from(await response.arrayBuffer())),
        await sha256File(upload.path),
        `${upload.url} (${upload.route}) read back intact`,
      );
    }

    // Which replica served each PATCH: every replica logs a line per request it answered.
    const expectedPatches = uploads.reduce((sum, upload) => sum + upload.chunks, 0);
    const servedBy = new Map<string, Set<number>>();
    const patchesPerReplica: number[] = [];
    for (let waited = 0; ; waited++) {
      servedBy.clear();
      patchesPerReplica.length = 0;
      replicas.forEach((replica, index) => {
        const patches = requestLines(replica).filter(
          (line) => line.method === 'PATCH' && line.status === 204 && line.uploadId,
        );
        patchesPerReplica.push(patches.length);
        for (const line of patches) {
          const set = servedBy.get(line.uploadId!) ?? new Set<number>();
          set.add(index);
          servedBy.set(line.uploadId!, set);
        }
      });
      const logged = patchesPerReplica.reduce((a, b) => a + b, 0);
      if (logged >= expectedPatches) break;
      // A line is written when the response closes, which may trail the client by a moment.
      assert.ok(waited < 50, `only ${logged} of ${expectedPatches} PATCHes were logged`);
      await sleep(100);
    }
    assert.equal(servedBy.size, uploadCount, 'every upload was seen by the replicas');
    for (const [index, count] of patchesPerReplica.entries()) {
      assert.ok(count > 0, `replica ${index} served PATCHes`);
    }
    const spread = [...servedBy.values()].filter((set) => set.size > 1).length;
    assert.ok(
      spread >= uploadCount / 2,
      `only ${spread} of ${uploadCount} uploads had PATCHes on more than one replica`,
    );

    // The replicas' own counters agree: each answered PATCHes on both routes, under locks taken
    // in Redis.
    for (const [index, replica] of replicas.entries()) {
      const metrics = await scrape(replica.adminUrl);
      assert.ok(
        seriesSum(metrics, 'tusgate_lock_acquisitions_total', {
          locker: 'redis',
          result: 'acquired',
        }) > 0,
        `replica ${index} took its upload locks in Redis`,
      );
      for (const route of ['uploads', 'legacy']) {
        assert.ok(
          seriesSum(metrics, 'tusgate_requests_total', {
            route,
            method: 'PATCH',
            status_class: '2xx',
          }) > 0,
          `replica ${index} counted PATCHes on ${route}`,
        );
      }
    }
    // The owners of the proxied uploads are in the shared Redis table, one entry each.
    const client = new Redis(redis.url, { lazyConnect: true });
    try {
      await client.connect();
      const owners = await client.keys('tusgate:affinity:*');
      const proxied = uploads.filter((upload) => upload.route === 'legacy');
      for (const upload of proxied) {
        const id = upload.url.slice(upload.url.lastIndexOf('/') + 1);
        assert.ok(
          owners.some((key) => key.endsWith(id)),
          `${id}'s owner is recorded in Redis`,
        );
      }
    } finally {
      client.disconnect();
    }
    t.diagnostic(
      `${uploadCount} uploads in ${uploadMs.toFixed(0)} ms; PATCHes per replica ${patchesPerReplica.join('/')}; ${spread} uploads spread over >1 replica`,
    );
  });

  for (const [route, prefix] of [
    ['proxied', 'legacy'],
    ['native', 'files'],
  ] as const) {
    test(`a ${route} upload's owner, recorded by one replica, is enforced by every replica`, async () => {
      const path = await randomFile(dir.path, 3 * chunkSize, `owned-${route}`);
      const { url } = await tusUpload(path, {
        endpoint: `${origin}/${prefix}/`,
        chunkSize,
        headers: alice,
        retryDelays: null,
      });
      const uploadPath = new URL(url).pathname;
      const id = uploadPath.slice(uploadPath.lastIndexOf('/') + 1);
      const creators = replicas.filter((replica) =>
        requestLines(replica).some(
          (line) => line.method === 'POST' && line.uploadId === id && line.status === 201,
        ),
      );
      assert.equal(creators.length, 1, 'one replica created it and recorded its owner');
      for (const [index, replica] of replicas.entries()) {
        const direct = `${replica.url}${uploadPath}`;
        const owner = await fetch(direct, { method: 'HEAD', headers: { ...tus, ...alice } });
        assert.equal(owner.status, 200, `alice's HEAD on replica ${index}`);
        assert.equal(owner.headers.get('upload-offset'), String(3 * chunkSize));
        for (const method of ['HEAD', 'PATCH', 'DELETE', 'GET']) {
          const response = await fetch(direct, {
            method,
            headers: {
              ...tus,
              ...bob,
              ...(method === 'PATCH'
                ? { 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }
                : {}),
            },
            ...(method === 'PATCH' ? { body: 'x' } : {}),
          });
          await response.arrayBuffer();
          assert.equal(response.status, 404, `bob's ${method} on replica ${index}`);
        }
      }
      // Bob's DELETEs changed nothing: alice still reads her file through nginx.
      const response = await fetch(url, { headers: { ...tus, ...alice } });
      assert.equal(response.status, 200);
      assert.equal(sha256(Buffer.from(await response.arrayBuffer())), await sha256File(path));
    });
  }
});
