import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { randomFile, sha256File, tempDir } from '../helpers/files.ts';
import { projectRoot } from '../helpers/gateway.ts';
import { freePort, waitForPort } from '../helpers/ports.ts';
import { tusUpload } from '../helpers/tus-client.ts';

/**
 * The Dockerfile, built and run with podman. No registry is reachable here, so the base image
 * (the Dockerfile's BASE argument) is assembled from Debian packages and the npm `node` package by
 * scripts/ensure-container-base.sh (the test setup runs it), and podman runs runc through
 * scripts/runc-without-rlimits.sh because this sandbox forbids setrlimit. The container runs as
 * production would: read-only root file system, the store on its volume, the image's own config.
 */

const run = promisify(execFile);
const runtime = join(projectRoot, 'scripts', 'runc-without-rlimits.sh');
/** One tag, rebuilt by every run: podman's layer cache keeps the unchanged steps. */
const image = 'localhost/tusgate:test';
const container = `tusgate-test-${process.pid}`;
const MiB = 1024 * 1024;
/** The image's store and the container user's uid (the base image's `node` user). */
const volume = '/var/lib/tusgate';
const nodeUid = 1000;

async function podman(args: string[], timeout = 60_000) {
  try {
    return await run('podman', ['--runtime', runtime, ...args], {
      timeout,
      maxBuffer: 64 * MiB,
    });
  } catch (error) {
    const failed = error as Error & { code?: string | number; stderr?: string };
    if (failed.code === 'ENOENT') {
      throw new Error(
        'podman is missing: the test setup installs it (scripts/ensure-test-deps.sh)',
      );
    }
    throw new Error(`podman ${args.join(' ')} failed: ${failed.stderr ?? failed.message}`);
  }
}

/** The base image the test setup made (scripts/ensure-container-base.sh prints its name). */
async function baseImage(): Promise<string> {
  const { stdout } = await run('sh', [join(projectRoot, 'scripts', 'ensure-container-base.sh')], {
    timeout: 15 * 60_000,
    maxBuffer: 64 * MiB,
  });
  return stdout.trim();
}

describe('container image: the Dockerfile built on a Debian base, run read-only with podman', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let store: string;
  let publicPort: number;
  let adminPort: number;

  before(
    async (t) => {
      dir = await tempDir('tusgate-container-');
      store = join(dir.path, 'store');
      await mkdir(store);
      await chown(store, nodeUid, nodeUid);
      const base = await baseImage();
      const started = Date.now();
      // Behind a TLS-inspecting proxy the build's npm needs the host's CA bundle: mounted into
      // the RUN steps, named by a build argument, never part of the image.
      const caBundle = process.env.NODE_EXTRA_CA_CERTS;
      await podman(
        [
          'build',
          '--format=docker', // HEALTHCHECK is a Docker image field; OCI images drop it
          '--network=host',
          '--build-arg',
          `BASE=${base}`,
          ...(caBundle
            ? [
                '--build-arg',
                'NODE_EXTRA_CA_CERTS=/run/host-ca.crt',
                '--volume',
                `${caBundle}:/run/host-ca.crt:ro`,
              ]
            : []),
          '--tag',
          image,
          projectRoot,
        ],
        15 * 60_000,
      );
      t.diagnostic(`image built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      publicPort = await freePort();
      adminPort = await freePort();
      await podman([
        'run',
        '--detach',
        '--name',
        container,
        '--read-only',
        '--network=host', // the sandbox has no container networking; ports come from the env
        '--env',
        `TUSGATE_LISTEN=127.0.0.1:${publicPort}`,
        '--env',
        `TUSGATE_ADMIN=127.0.0.1:${adminPort}`,
        '--volume',
        `${store}:${volume}`,
        image,
      ]);
      await waitForPort(adminPort, 60_000);
    },
    { timeout: 30 * 60_000 },
  );

  after(async () => {
    await podman(['rm', '--force', '--time', '1', container]).catch(() => {});
    await dir?.remove();
  });

  test('the image runs as the unprivileged node user, declares the volume and a health check', async () => {
    const { stdout } = await podman(['image', 'inspect', image]);
    const [inspected] = JSON.parse(stdout) as {
      Config: { User: string; Volumes?: Record<string, unknown> };
      Healthcheck?: { Test: string[] };
    }[];
    assert.equal(inspected!.Config.User, 'node');
    assert.ok(inspected!.Config.Volumes?.[volume], `${volume} is a volume`);
    assert.deepEqual(inspected!.Healthcheck?.Test, ['CMD', 'node', '/app/healthcheck.mjs']);
    const id = await podman(['exec', container, 'id', '-u']);
    assert.equal(id.stdout.trim(), String(nodeUid));
  });

  test('no development dependency is in the image', async () => {
    const { stdout } = await podman(['exec', container, 'ls', '/app/node_modules']);
    const installed = stdout.split('\n');
    for (const dev of ['typescript', 'tus-js-client', 'node', '@biomejs', 'fast-check']) {
      assert.ok(!installed.includes(dev), `${dev} is not installed in the image`);
    }
    assert.ok(installed.includes('pino'), 'the runtime dependencies are');
  });

  test('the root file system is read-only; the volume is where tusgate writes', async () => {
    await assert.rejects(
      podman(['exec', container, 'touch', '/app/written']),
      /Read-only file system/,
    );
    await podman(['exec', container, 'touch', `${volume}/written`]);
  });

  test('the HEALTHCHECK passes against the running gateway, /readyz says the store is writable', async () => {
    await podman(['healthcheck', 'run', container]);
    const ready = await request(`http://127.0.0.1:${adminPort}/readyz`);
    assert.equal(ready.statusCode, 200);
    assert.equal(((await ready.body.json()) as { status: string }).status, 'ready');
  });

  test('a tus-js-client upload lands on the volume, byte for byte', async () => {
    await waitForPort(publicPort);
    const file = await randomFile(dir.path, 3 * MiB + 17);
    const { url } = await tusUpload(file, {
      endpoint: `http://127.0.0.1:${publicPort}/files/`,
      chunkSize: MiB,
    });
    const id = url.slice(url.lastIndexOf('/') + 1);
    const { stdout } = await podman(['exec', container, 'find', `${volume}/uploads`, '-name', id]);
    const stored = stdout.trim();
    assert.match(stored, new RegExp(`^${volume}/uploads/\\d{4}/\\d{2}/\\d{2}/${id}$`));
    const onHost = join(store, stored.slice(volume.length + 1));
    assert.equal(await sha256File(onHost), await sha256File(file));
    const head = await request(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    assert.equal(head.headers['upload-offset'], String(3 * MiB + 17));
  });

  test('SIGTERM (podman stop) shuts the gateway down cleanly: exit code 0', async () => {
    await podman(['stop', '--time', '30', container]);
    const { stdout } = await podman(['inspect', container, '--format', '{{.State.ExitCode}}']);
    assert.equal(stdout.trim(), '0');
  });
});
