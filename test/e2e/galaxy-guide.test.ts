import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as tus from 'tus-js-client';
import { Agent, request } from 'undici';
import { parseConfigText } from '../../src/config/load.ts';
import { Gateway } from '../../src/gateway/gateway.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { type FakeGalaxy, startFakeGalaxy } from '../helpers/fake-galaxy.ts';
import { randomFile, sha256, sha256File, tempDir } from '../helpers/files.ts';
import { type RunningNginx, startNginxWithConfig } from '../helpers/nginx.ts';
import { freePort } from '../helpers/ports.ts';
import { type RunningTusd, startTusd } from '../helpers/tusd.ts';

/**
 * docs/galaxy.md, run as written: its nginx server block (TLS) and its tusgate.yaml of each step,
 * with only the values its "values to replace" table names swapped for this machine's. Uploads
 * use the options of Galaxy's upload dialog, and every file is read back the way Galaxy finds it.
 */

const guide = join(import.meta.dirname, '..', '..', 'docs', 'galaxy.md');
const uploadPath = '/api/upload/resumable_upload/';
const jobFilesPath = '/api/job_files/resumable_upload/';
const MiB = 1024 * 1024;
/** Galaxy's `chunk_upload_size` default, the chunk size of its upload dialog. */
const galaxyChunkSize = 10 * MiB;
const sizes = [1024, galaxyChunkSize + 1, 23 * MiB];
/** The guide's one secret, from tusgate's environment as in production (reloads read it too). */
const adminToken = 'guide-admin-token-0123456789';
const workingDirectory = process.cwd();
const tusdId = /^[0-9a-f]{32}$/;
const nativeId = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The fenced blocks of the guide whose first line is `# galaxy-guide: <name>`. */
function guideBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of text.matchAll(/```(?:yaml|nginx)\n([\s\S]*?)```/g)) {
    // A block inside a list item is indented; its lines lose that indent, nothing more.
    const indent = /^ */.exec(match[1]!)![0];
    const body = match[1]!
      .split('\n')
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n');
    const name = /^# galaxy-guide: (.+)\n/.exec(body)?.[1];
    if (name !== undefined) blocks.set(name, body);
  }
  return blocks;
}

/** Galaxy: `abspath(join(tus_upload_store, session_id))`, session_id matching `^[\w-]+$`. */
function galaxyPath(store: string, uploadUrl: string): string {
  const sessionId = uploadUrl.slice(uploadUrl.lastIndexOf('/') + 1);
  assert.match(sessionId, /^[\w-]+$/, `${sessionId} is a session_id Galaxy accepts`);
  return resolve(join(store, sessionId));
}

describe("docs/galaxy.md: nginx (TLS) → tusgate → Gravity's tusd and the native store", () => {
  let dir: { path: string; remove: () => Promise<void> };
  let galaxy: FakeGalaxy;
  let tusd: RunningTusd;
  let gateway: Gateway;
  let nginx: RunningNginx;
  let https: Agent;
  let ca: string;
  let blocks: Map<string, string>;
  let replacements: [string, string][];
  let configFile: string;
  let origin: string;
  const logs: string[] = [];
  const paths = {} as Record<'store' | 'jobStore' | 'sharded' | 'jobSharded', string>;
  const files: { path: string; size: number }[] = [];
  let https443: number;
  /** An upload tusd took before tusgate was there (step 0): resumed one chunk after each step. */
  const preTusgate = { id: '', data: Buffer.alloc(0), chunks: 0 };
  const preTusgateChunk = MiB;
  const userA = 'galaxy-api-key-of-user-a';
  const userB = 'galaxy-api-key-of-user-b';

  /** A guide block with this machine's values in place of the documented ones. */
  function block(name: string): string {
    const text = blocks.get(name);
    assert.ok(text !== undefined, `docs/galaxy.md has a block "# galaxy-guide: ${name}"`);
    return replacements.reduce((out, [from, to]) => out.split(from).join(to), text);
  }

  async function useStep(step: number): Promise<void> {
    await writeFile(configFile, block(`tusgate.yaml (step ${step})`));
    const loaded = await gateway.reloadFromFile(configFile);
    assert.equal(loaded, true, `step ${step} config loads:\n${logs.slice(-3).join('')}`);
  }

  /** tus-js-client as Galaxy's upload dialog sets it up; resolves with the upload URL. */
  function galaxyUpload(
    data: Buffer,
    options: {
      apiKey?: string;
      endpoint?: string;
      headers?: Record<string, string>;
      uploadUrl?: string;
      chunkSize?: number;
      stopAfterFirstChunk?: boolean;
    },
  ): Promise<string> {
    return new Promise((resolvePromise, reject) => {
      const upload = new tus.Upload(data, {
        endpoint: options.endpoint ?? `${origin}${uploadPath}`,
        uploadUrl: options.uploadUrl ?? null,
        chunkSize: options.chunkSize ?? galaxyChunkSize,
        metadata: {},
        headers: {
          ...(options.apiKey ? { 'X-Api-Key': options.apiKey } : {}),
          ...options.headers,
        },
        fingerprint: async () => `galaxy-upload-${data.length}-${Math.random()}`,
        retryDelays: [0, 3000, 10000],
        httpStack: new tus.DefaultHttpStack({ ca }),
        onChunkComplete: () => {
          if (!options.stopAfterFirstChunk) return;
          void upload.abort(false).then(() => resolvePromise(upload.url ?? ''));
        },
        onSuccess: () => resolvePromise(upload.url ?? ''),
        onError: reject,
      });
      upload.start();
    });
  }

  /** Uploads every test file as user `apiKey`; checks where each landed and what Galaxy reads. */
  async function uploadAll(apiKey: string, idPattern: RegExp, headers?: Record<string, string>) {
    for (const file of files) {
      const data = await readFile(file.path);
      const url = await galaxyUpload(data, { apiKey, headers });
      assert.ok(url.startsWith(`${origin}${uploadPath}`), `${url} is the public HTTPS URL`);
      assert.match(url.slice(url.lastIndexOf('/') + 1), idPattern);
      const found = galaxyPath(paths.store, url);
      assert.equal(await sha256File(found), sha256(data), `${file.size} bytes read back`);
      if (idPattern === nativeId) {
        assert.equal((await stat(found)).nlink, 2, "a hard link to the day folder's data");
      }
    }
  }

  async function statusFor(apiKey: string, length = 10): Promise<number> {
    const response = await request(`${origin}${uploadPath}`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(length), 'X-Api-Key': apiKey },
      dispatcher: https,
    });
    await response.body.dump();
    return response.statusCode;
  }

  async function offsetOf(
    url: string,
    apiKey: string,
  ): Promise<{ status: number; offset: number }> {
    const response = await request(url, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0', 'X-Api-Key': apiKey },
      dispatcher: https,
    });
    await response.body.dump();
    return { status: response.statusCode, offset: Number(response.headers['upload-offset']) };
  }

  /**
   * Resumes the pre-tusgate upload through nginx and tusgate as Galaxy's dialog would: its owner
   * was never recorded, so only `unownedUploads` lets its user go on. One more chunk, or the rest
   * with `finish`.
   */
  async function resumePreTusgate(step: number, finish = false): Promise<void> {
    const url = `${origin}${uploadPath}${preTusgate.id}`;
    const before = await offsetOf(url, userA);
    assert.equal(before.status, 200, `step ${step}: the pre-tusgate upload is still there`);
    assert.equal(before.offset, preTusgate.chunks * preTusgateChunk);
    const resumed = await galaxyUpload(preTusgate.data, {
      apiKey: userA,
      uploadUrl: url,
      chunkSize: preTusgateChunk,
      stopAfterFirstChunk: !finish,
    });
    assert.equal(resumed, url, `step ${step}: resumed, not started again`);
    preTusgate.chunks++;
    const after = await offsetOf(url, userA);
    assert.equal(after.status, 200);
    assert.equal(
      after.offset,
      finish ? preTusgate.data.length : preTusgate.chunks * preTusgateChunk,
      `step ${step}: the chunk was taken`,
    );
  }

  /** nginx again, with the guide's job files location added to its server block (step 3). */
  async function addJobFilesLocation(): Promise<void> {
    const server = block('nginx.conf');
    assert.ok(!server.includes(jobFilesPath), 'step 1 pastes no job files location');
    const at = server.indexOf('    location / {');
    assert.ok(at > 0, 'the server block has a `location /`');
    const location = block('nginx job files location (step 3)');
    await nginx.stop();
    nginx = await startNginxWithConfig(
      join(dir.path, 'nginx'),
      `${server.slice(0, at)}${location}\n${server.slice(at)}`,
      https443,
    );
  }

  before(async () => {
    process.env.TUSGATE_ADMIN_TOKEN = adminToken;
    dir = await tempDir('galaxy-guide-');
    // Relative paths tusgate defaults to (its data folder) land here, not in the checkout.
    process.chdir(dir.path);
    paths.store = join(dir.path, 'galaxy', 'tus_upload_store');
    paths.jobStore = join(dir.path, 'galaxy', 'tus_upload_store_job_files');
    paths.sharded = join(dir.path, 'tus', 'sharded');
    paths.jobSharded = join(dir.path, 'tus', 'job-files');
    for (const path of Object.values(paths)) await mkdir(path, { recursive: true });
    for (const size of sizes) files.push({ path: await randomFile(dir.path, size), size });

    const tls = join(dir.path, 'tls');
    await mkdir(tls);
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(tls, 'privkey.pem'),
      '-out',
      join(tls, 'fullchain.pem'),
    ]);
    ca = await readFile(join(tls, 'fullchain.pem'), 'utf8');
    https = new Agent({ connect: { ca } });

    galaxy = await startFakeGalaxy();
    galaxy.addApiKey(userA);
    galaxy.addApiKey(userB);
    // Gravity's tusd, moved to its own port with the public base path (step 1 of the guide).
    tusd = await startTusd({
      dir: paths.store,
      basePath: uploadPath,
      behindProxy: true,
      extraArgs: [
        `-hooks-http=${galaxy.hooksUrl}`,
        '-hooks-http-forward-headers=X-Api-Key,Cookie',
        '-hooks-enabled-events',
        'pre-create',
      ],
    });

    // Step 0: an upload running on tusd alone, one chunk in, when tusgate is put in front.
    preTusgate.data = await readFile(await randomFile(dir.path, 3 * preTusgateChunk + 17));
    const direct = await galaxyUpload(preTusgate.data, {
      apiKey: userA,
      endpoint: tusd.url,
      chunkSize: preTusgateChunk,
      stopAfterFirstChunk: true,
    });
    preTusgate.id = direct.slice(direct.lastIndexOf('/') + 1);
    assert.match(preTusgate.id, tusdId);
    preTusgate.chunks = 1;

    const [listen, admin] = [await freePort(), await freePort()];
    https443 = await freePort();
    origin = `https://127.0.0.1:${https443}`;
    const principalOfA = `galaxy-key:${sha256(userA).slice(0, 32)}`;
    const galaxyAddress = new URL(galaxy.baseUrl).host;
    replacements = [
      ['/data/galaxy/tus_upload_store_job_files', paths.jobStore],
      ['/data/galaxy/tus_upload_store', paths.store],
      ['/data/tus/sharded', paths.sharded],
      ['/data/tus/job-files', paths.jobSharded],
      ['/var/lib/tusgate', join(dir.path, 'var-lib-tusgate')],
      ['/etc/ssl/galaxy/fullchain.pem', join(tls, 'fullchain.pem')],
      ['/etc/ssl/galaxy/privkey.pem', join(tls, 'privkey.pem')],
      ['listen 443 ssl;', `listen 127.0.0.1:${https443} ssl;`],
      ['127.0.0.1:1081', `127.0.0.1:${tusd.port}`],
      ['127.0.0.1:1080', `127.0.0.1:${listen}`],
      ['127.0.0.1:9102', `127.0.0.1:${admin}`],
      ['127.0.0.1:8080', galaxyAddress],
      ['10.1.0.0/16', '127.0.0.1'],
      ['galaxy-key:0123456789abcdef0123456789abcdef', principalOfA],
      // The guide's date has passed by the time this runs: a week from now, as it says.
      ['2026-12-08T00:00:00Z', new Date(Date.now() + 7 * 86_400_000).toISOString()],
    ];
    const text = await readFile(guide, 'utf8');
    const table = text.slice(text.indexOf('## The values to replace'), text.indexOf('## Step 0'));
    const listed = [...table.matchAll(/^\| ([^|]+)\|/gm)].flatMap((row) =>
      [...row[1]!.matchAll(/`([^`]+)`/g)].map((value) => value[1]!),
    );
    for (const [from] of replacements) {
      assert.ok(text.includes(from), `the guide uses the documented value ${from}`);
      assert.ok(
        listed.some((value) => from === value || from.startsWith(value) || from.endsWith(value)),
        `the values-to-replace table lists ${from}`,
      );
    }
    blocks = guideBlocks(text);

    configFile = join(dir.path, 'tusgate.yaml');
    await writeFile(configFile, block('tusgate.yaml (step 1)'));
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    gateway = new Gateway(parseConfigText(await readFile(configFile, 'utf8')), {
      log: createLogger({ level: 'info', pretty: false, destination }),
    });
    await gateway.listen();
    nginx = await startNginxWithConfig(join(dir.path, 'nginx'), block('nginx.conf'), https443);
  });

  after(async () => {
    await nginx?.stop();
    await gateway?.close(2000);
    await tusd?.stop();
    await galaxy?.close();
    await https?.close();
    process.chdir(workingDirectory);
    await dir?.remove();
    delete process.env.TUSGATE_ADMIN_TOKEN;
  });

  let tusdUploadInProgress: { url: string; data: Buffer };

  test('step 1: tusgate in front of tusd; files are where Galaxy looks', async () => {
    await uploadAll(userA, tusdId);
    assert.ok(galaxy.calls.length > 0, 'tusgate asked Galaxy');
    // An upload left half-way on tusd, to be finished after the switch to native.
    const data = await readFile(files.at(-1)!.path);
    const url = await galaxyUpload(data, { apiKey: userA, stopAfterFirstChunk: true });
    assert.match(url.slice(url.lastIndexOf('/') + 1), tusdId);
    tusdUploadInProgress = { url, data };
    await resumePreTusgate(1);
  });

  test('step 2: the canary override sends your uploads to the native store; others stay on tusd', async () => {
    await useStep(2);
    await uploadAll(userA, nativeId, { 'X-Tusgate-Backend': 'native' });
    await uploadAll(userB, tusdId);
    await resumePreTusgate(2);
  });

  test('step 3: 100 % native; tusd uploads still finish on tusd; job files reach their own folder', async () => {
    await useStep(3);
    await addJobFilesLocation();
    await uploadAll(userB, nativeId);
    await resumePreTusgate(3, true);
    assert.equal(
      await sha256File(galaxyPath(paths.store, `${uploadPath}${preTusgate.id}`)),
      sha256(preTusgate.data),
      'the pre-tusgate upload finished where Galaxy looks',
    );
    // Over maxSize (100GiB): 413, or with the route option `refusals: galaxy` the 403 that
    // Galaxy's dialog shows instead of retrying forever.
    const galaxyRefusals = block('tusgate.yaml (step 3)').includes('refusals: galaxy');
    assert.equal(await statusFor(userB, 101 * 1024 ** 3), galaxyRefusals ? 403 : 413);

    const resumed = await galaxyUpload(tusdUploadInProgress.data, {
      apiKey: userA,
      uploadUrl: tusdUploadInProgress.url,
    });
    assert.equal(resumed, tusdUploadInProgress.url);
    assert.equal(
      await sha256File(galaxyPath(paths.store, resumed)),
      sha256(tusdUploadInProgress.data),
      'the tusd upload finished where it started',
    );

    // Pulsar: no credentials, 10^7-byte chunks; Galaxy's job files API then moves the file.
    const output = await readFile(files[1]!.path);
    const galaxyCalls = galaxy.calls.length;
    const url = await galaxyUpload(output, {
      endpoint: `${origin}${jobFilesPath}`,
      chunkSize: 10 ** 7,
    });
    assert.equal(galaxy.calls.length, galaxyCalls, 'the job files route never asks Galaxy');
    assert.ok(url.startsWith(`${origin}${jobFilesPath}`));
    const staged = galaxyPath(paths.jobStore, url);
    const jobOutput = join(dir.path, 'job_working_directory', 'outputs', 'dataset_1.dat');
    await mkdir(join(jobOutput, '..'), { recursive: true });
    await rename(staged, jobOutput);
    assert.equal(await sha256File(jobOutput), sha256(output));
  });

  test("an invalid API key is a 403 through nginx, the one refusal Galaxy's dialog shows", async () => {
    assert.equal(await statusFor('not-a-galaxy-key'), 403);
    assert.equal(await statusFor(userA), 201, 'a valid key creates an upload');
  });
});
