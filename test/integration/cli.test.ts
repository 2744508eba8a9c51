import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { tempDir } from '../helpers/files.ts';
import { cliEntry, nodeBinary, projectRoot, startGatewayProcess } from '../helpers/gateway.ts';
import { freePort, waitForPort } from '../helpers/ports.ts';
import { startTusd } from '../helpers/tusd.ts';

const run = promisify(execFile);

async function tusgate(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(nodeBinary, [cliEntry, ...args], {
      env: { ...process.env, ...env },
      timeout: 15_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const goodRoute = `
routes:
  - name: uploads
    match: { pathPrefix: /files/ }
    backends:
      legacy: { type: tusd, url: http://127.0.0.1:1081/files/ }
`;

/** Each broken config, and the key path its message must name. */
const brokenConfigs: { name: string; yaml: string; key: string; says: RegExp }[] = [
  { name: 'no routes', yaml: 'routes: []', key: 'routes', says: /at least one route/ },
  {
    name: 'listen address',
    yaml: `server: { listen: localhost }\n${goodRoute}`,
    key: 'server.listen',
    says: /not a listen address/,
  },
  {
    name: 'unknown key (typo)',
    yaml: `server: { lisen: 127.0.0.1:1 }\n${goodRoute}`,
    key: 'server.lisen',
    says: /unknown key/,
  },
  {
    name: 'backend URL scheme',
    yaml: goodRoute.replace('http://127.0.0.1:1081/files/', 'ftp://127.0.0.1/files/'),
    key: 'routes[0].backends.legacy.url',
    says: /http:\/\/ or https:\/\//,
  },
  {
    name: 'two native backends in a route',
    yaml: `stores: { a: { type: date-sharded, root: /tmp/a } }
routes:
  - name: uploads
    match: { pathPrefix: /files/ }
    create: one
    backends:
      one: { type: native, store: a }
      two: { type: native, store: a }
`,
    key: 'routes[0].backends.two',
    says: /at most one native backend/,
  },
  {
    name: 'hand-off folder that does not exist',
    yaml: `stores: { main: { type: date-sharded, root: /tmp/tusgate-cli-store, handoffDir: /nonexistent/tus_uplaod_store } }
routes:
  - name: uploads
    match: { pathPrefix: /files/ }
    backends:
      native: { type: native, store: main }
`,
    key: 'stores.main.handoffDir',
    says: /\/nonexistent\/tus_uplaod_store does not exist; tusgate does not create it/,
  },
  {
    name: 'missing tokens file',
    yaml: goodRoute.replace(
      '    backends:',
      '    auth: { type: static, tokensFile: /nonexistent/tokens.yaml }\n    backends:',
    ),
    key: 'routes[0].auth.tokensFile',
    says: /cannot read \/nonexistent\/tokens.yaml \(ENOENT\)/,
  },
  {
    name: 'JWT algorithm confusion',
    yaml: goodRoute.replace(
      '    backends:',
      `    auth: { type: jwt, secret: ${'s'.repeat(40)}, algorithms: [RS256] }\n    backends:`,
    ),
    key: 'routes[0].auth.algorithms',
    says: /algorithm confusion/,
  },
  {
    name: 'backend type',
    yaml: goodRoute.replace('type: tusd', 'type: tussd'),
    key: 'routes[0].backends.legacy.type',
    says: /tusd/,
  },
  {
    name: 'path prefix',
    yaml: goodRoute.replace('pathPrefix: /files/', 'pathPrefix: files'),
    key: 'routes[0].match.pathPrefix',
    says: /must start and end with "\/"/,
  },
  {
    name: 'max size',
    yaml: goodRoute.replace('    match:', '    maxSize: lots\n    match:'),
    key: 'routes[0].maxSize',
    says: /not a size/,
  },
  {
    name: 'create names no backend',
    yaml: goodRoute.replace('    backends:', '    create: native\n    backends:'),
    key: 'routes[0].create',
    says: /names no backend/,
  },
  {
    name: 'native store missing',
    yaml: goodRoute.replace(
      'legacy: { type: tusd, url: http://127.0.0.1:1081/files/ }',
      'native: { type: native, store: main }',
    ),
    key: 'routes[0].backends.native.store',
    says: /names no store/,
  },
  {
    name: 'missing environment variable',
    yaml: goodRoute.replace('http://127.0.0.1:1081/files/', '"${TUSGATE_TEST_UNSET_URL}"'),
    key: 'routes[0].backends.legacy.url',
    says: /TUSGATE_TEST_UNSET_URL is not set/,
  },
  {
    name: 'duration',
    yaml: `server: { shutdownTimeout: soon }\n${goodRoute}`,
    key: 'server.shutdownTimeout',
    says: /not a duration/,
  },
  {
    name: 'duplicate route name',
    yaml: `${goodRoute}  - name: uploads\n    match: { pathPrefix: /other/ }\n    backends:\n      legacy: { type: tusd, url: http://127.0.0.1:1082/files/ }\n`,
    key: 'routes[1].name',
    says: /duplicate route name/,
  },
  { name: 'YAML syntax', yaml: 'routes: [', key: '(root)', says: /YAML .*line 1/ },
  {
    name: 'short static token',
    yaml: goodRoute.replace(
      '    backends:',
      '    auth: { type: static, tokens: { "abc123": alice } }\n    backends:',
    ),
    key: 'routes[0].auth.tokens',
    says: /the token of principal "alice" has 6 characters; tokens need 8 or more/,
  },
];

/** `tusgate serve ARGS` as a real process; resolves once the admin port answers. */
async function startServe(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd: string; adminPort: number },
) {
  const child = spawn(nodeBinary, [cliEntry, 'serve', ...args], {
    cwd: options.cwd,
    env: { ...process.env, TUSGATE_LISTEN: '', TUSGATE_ADMIN: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  try {
    await Promise.race([
      waitForPort(options.adminPort, 30_000),
      exited.then((code) => {
        throw new Error(`tusgate exited with ${code}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return { stop, output: () => output };
}

/** True when tusgate answers on the port (its request id header says so). */
async function answers(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/files/`, { method: 'OPTIONS' });
    await response.body?.cancel();
    return response.headers.get('x-request-id') !== null;
  } catch {
    return false;
  }
}

describe('tusgate CLI', () => {
  let dir: { path: string; remove: () => Promise<void> };
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await dir?.remove();
  });

  test('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8'));
    const result = await tusgate(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), version);
  });

  test('--help lists the commands', async () => {
    const result = await tusgate(['--help']);
    assert.equal(result.code, 0);
    for (const command of ['serve', 'check-config', 'cleanup'])
      assert.match(result.stdout, new RegExp(command));
  });

  test("on Debian's older Node (/usr/bin/node) the entry prints one clear line and exits 1", async () => {
    // scripts/ensure-test-deps.sh installs Debian's nodejs; it must be older than 24, or this
    // test proves nothing.
    const debianNode = '/usr/bin/node';
    const { stdout: version } = await run(debianNode, ['--version']);
    const old = version.trim().replace(/^v/, '');
    assert.ok(Number(old.split('.')[0]) < 24, `${debianNode} is Node ${old}, not an older one`);
    for (const args of [['serve'], ['--version'], ['check-config', '/nonexistent.yaml']]) {
      const result = await run(debianNode, [cliEntry, ...args]).then(
        () => assert.fail(`${args.join(' ')} exited 0 on Node ${old}`),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, `tusgate needs Node 24 or later; this is ${old}\n`);
    }
  });

  test('an unknown command or option exits 2 with usage', async () => {
    assert.equal((await tusgate(['frobnicate'])).code, 2);
    const result = await tusgate(['serve', '--no-such-flag']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Usage/);
  });

  test('check-config accepts a valid file and substitutes ${ENV}', async () => {
    const file = join(dir.path, 'good.yaml');
    await writeFile(
      file,
      goodRoute.replace('http://127.0.0.1:1081/files/', '"${TUSGATE_TEST_URL}"'),
    );
    const result = await tusgate(['check-config', file], {
      TUSGATE_TEST_URL: 'http://127.0.0.1:9/files/',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /OK/);
  });

  test('check-config on a missing file names the problem', async () => {
    const result = await tusgate(['check-config', join(dir.path, 'nope.yaml')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot read config file \(ENOENT\)/);
  });

  for (const broken of brokenConfigs) {
    test(`broken config (${broken.name}): check-config and serve name ${broken.key}`, async () => {
      const file = join(dir.path, `${broken.name.replaceAll(/\W+/g, '-')}.yaml`);
      await writeFile(file, broken.yaml);
      for (const args of [
        ['check-config', file],
        ['serve', '--config', file],
      ]) {
        const result = await tusgate(args, { TUSGATE_TEST_UNSET_URL: '' });
        assert.equal(result.code, 1, `${args[0]} exits 1`);
        const line = result.stderr
          .split('\n')
          .find((text) => text.trim().startsWith(`${broken.key}:`));
        assert.ok(line, `${args[0]} names ${broken.key}:\n${result.stderr}`);
        assert.match(line, broken.says);
      }
    });
  }

  test('check-config prints every problem in one run: variables, schema, references, tokens file', async () => {
    const file = join(dir.path, 'every-problem.yaml');
    await writeFile(
      file,
      `server:
  listen: \${TUSGATE_TEST_UNSET_LISTEN}
  lisen: 127.0.0.1:1
routes:
  - name: uploads
    match: { pathPrefix: /files/ }
    auth: { type: static, tokensFile: /nonexistent/tokens.yaml }
    backends:
      native: { type: native, store: missing }
`,
    );
    const result = await tusgate(['check-config', file], { TUSGATE_TEST_UNSET_LISTEN: '' });
    assert.equal(result.code, 1);
    const lines = result.stderr.split('\n').map((line) => line.trim());
    for (const expected of [
      'server.listen: environment variable TUSGATE_TEST_UNSET_LISTEN is not set',
      'server.lisen: unknown key',
      'routes[0].backends.native.store: names no store under "stores" (have: none)',
      'routes[0].auth.tokensFile: cannot read /nonexistent/tokens.yaml (ENOENT)',
    ]) {
      assert.ok(lines.includes(expected), `${expected}\n${result.stderr}`);
    }
  });

  test('serve --listen moves the embedded default (no config file) to another address', {
    timeout: 60_000,
  }, async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const served = await tempDir('tusgate-default-');
    const gw = await startServe([`--listen=127.0.0.1:${port}`], {
      cwd: served.path,
      adminPort,
      env: { TUSGATE_ADMIN: `127.0.0.1:${adminPort}` },
    });
    try {
      assert.ok(await answers(port), 'the embedded default answers on --listen');
      const created = await fetch(`http://127.0.0.1:${port}/files/`, {
        method: 'POST',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '5' },
      });
      assert.equal(created.status, 201);
      assert.match(
        created.headers.get('location') ?? '',
        new RegExp(`^http://127.0.0.1:${port}/files/`),
      );
    } finally {
      assert.equal(await gw.stop(), 0);
      await served.remove();
    }
  });

  test('TUSGATE_LISTEN wins over server.listen of a config file, --listen over both', {
    timeout: 60_000,
  }, async () => {
    const [filePort, envPort, flagPort, adminPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const file = join(dir.path, 'listen.yaml');
    await writeFile(file, `server: { listen: 127.0.0.1:${filePort} }\n${goodRoute}`);
    const env = { TUSGATE_LISTEN: `127.0.0.1:${envPort}` };
    const byEnv = await startServe(['--config', file, '--admin', `127.0.0.1:${adminPort}`], {
      cwd: dir.path,
      adminPort,
      env,
    });
    try {
      assert.ok(await answers(envPort), 'TUSGATE_LISTEN is used');
      assert.equal(await answers(filePort), false, 'server.listen is not');
    } finally {
      assert.equal(await byEnv.stop(), 0);
    }
    const byFlag = await startServe(
      ['--config', file, '--listen', `127.0.0.1:${flagPort}`, '--admin', `127.0.0.1:${adminPort}`],
      { cwd: dir.path, adminPort, env },
    );
    try {
      assert.ok(await answers(flagPort), '--listen is used');
      assert.equal(await answers(envPort), false, 'TUSGATE_LISTEN is not');
    } finally {
      assert.equal(await byFlag.stop(), 0);
    }
  });

  test('a bad --listen or TUSGATE_LISTEN exits 2 naming it; --listen belongs to serve', async () => {
    const flag = await tusgate(['serve', '--listen', 'localhost']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--listen "localhost" is not a listen address \(HOST:PORT/);
    const env = await tusgate(['serve'], { TUSGATE_LISTEN: '127.0.0.1:99999' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /TUSGATE_LISTEN "127.0.0.1:99999" is not a listen address/);
    const other = await tusgate(['check-config', 'x.yaml', '--listen', '127.0.0.1:1']);
    assert.equal(other.code, 2);
  });

  test('serve runs, answers health checks and stops cleanly on SIGTERM', {
    timeout: 30_000,
  }, async () => {
    const tusd = await startTusd();
    const gw = await startGatewayProcess({
      routes: [
        {
          name: 'uploads',
          match: { pathPrefix: '/files/' },
          backends: { legacy: { type: 'tusd', url: tusd.url } },
        },
      ],
    });
    try {
      const health = await request(`${gw.adminUrl}/healthz`);
      assert.equal(health.statusCode, 200);
      await health.body.dump();
      const ready = await request(`${gw.adminUrl}/readyz`);
      assert.equal(ready.statusCode, 200);
      await ready.body.dump();
      const options = await request(`${gw.url}/files/`, { method: 'OPTIONS' });
      await options.body.dump();
      assert.equal(options.headers['tus-version'], '1.0.0');
    } finally {
      assert.equal(await gw.stop('SIGTERM'), 0);
      await tusd.stop();
    }
    assert.match(gw.output(), /"msg":"stopped"/);
  });
});
