import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { tempDir } from '../helpers/files.ts';
import { nodeBinary, projectRoot } from '../helpers/gateway.ts';

/**
 * deploy/systemd/tusgate.service: hardened, accepted by `systemd-analyze verify`, rated by
 * `systemd-analyze security --offline`, and writable exactly where docs/galaxy.md's configs write.
 * verify needs the unit's programs to exist, so the checked copy maps the install paths
 * (/opt/node24/bin/node, /opt/tusgate) onto this checkout's Node 24 and dist/.
 */

const run = promisify(execFile);
const unitFile = join(projectRoot, 'deploy', 'systemd', 'tusgate.service');
const guideFile = join(projectRoot, 'docs', 'galaxy.md');
const deploymentDoc = join(projectRoot, 'docs', 'deployment.md');
const installedNode = '/opt/node24/bin/node';
const installedApp = '/opt/tusgate';
const systemdAnalyze = '/usr/bin/systemd-analyze';

/** Each `Key=value` of the [Service] section, every occurrence in order. */
function serviceSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) section = header[1]!;
    const setting = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (section === 'Service' && setting) {
      settings.set(setting[1]!, [...(settings.get(setting[1]!) ?? []), setting[2]!]);
    }
  }
  return settings;
}

/** The tusgate.yaml blocks of the Galaxy guide (`# galaxy-guide: tusgate.yaml (step N)`). */
function guideConfigs(text: string): Map<string, Record<string, unknown>> {
  const configs = new Map<string, Record<string, unknown>>();
  for (const match of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const indent = /^ */.exec(match[1]!)![0];
    const body = match[1]!
      .split('\n')
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n');
    const name = /^# galaxy-guide: (tusgate\.yaml.*)\n/.exec(body)?.[1];
    if (name !== undefined) configs.set(name, parse(body));
  }
  return configs;
}

/** Every path a config makes tusgate write to. */
function writtenPaths(config: Record<string, unknown>): string[] {
  const stores = (config.stores ?? {}) as Record<string, { root?: string; handoffDir?: string }>;
  const affinity = config.affinity as { type?: string; path?: string } | undefined;
  return [
    ...Object.values(stores).flatMap((store) => [store.root, store.handoffDir]),
    affinity && (affinity.type ?? 'sqlite') === 'sqlite'
      ? (affinity.path ?? './data/tusgate-affinity.sqlite')
      : undefined,
    config.hookJournal as string | undefined,
  ].filter((path): path is string => path !== undefined);
}

async function analyze(args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(systemdAnalyze, args, { timeout: 60_000 });
  } catch (error) {
    const failed = error as Error & { code?: string | number; stdout?: string; stderr?: string };
    if (failed.code === 'ENOENT') {
      throw new Error(`${systemdAnalyze} is missing: the test setup installs the systemd package`);
    }
    throw new Error(`systemd-analyze ${args.join(' ')}: ${failed.stdout}${failed.stderr}`);
  }
}

describe('systemd unit deploy/systemd/tusgate.service', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let text: string;
  let settings: Map<string, string[]>;
  let mappedUnit: string;

  before(async () => {
    dir = await tempDir('tusgate-systemd-');
    text = await readFile(unitFile, 'utf8');
    settings = serviceSettings(text);
    mappedUnit = join(dir.path, 'tusgate.service');
    await writeFile(
      mappedUnit,
      text.replaceAll(installedNode, nodeBinary).replaceAll(installedApp, projectRoot),
    );
  });
  after(() => dir?.remove());

  const one = (key: string) => {
    const values = settings.get(key);
    assert.equal(values?.length, 1, `${key}= is set once`);
    return values![0]!;
  };

  test('hardened: strict read-only system, no new privileges, private /tmp, exec type', () => {
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('NoNewPrivileges'), 'true');
    assert.equal(one('PrivateTmp'), 'true');
    assert.equal(one('ProtectHome'), 'true');
    assert.equal(one('CapabilityBoundingSet'), '');
    assert.equal(one('User'), 'galaxy', "the hand-off folder is Galaxy's (docs/deployment.md)");
    assert.ok(['exec', 'notify'].includes(one('Type')), 'Type=exec (tusgate has no sd_notify)');
    assert.ok(!settings.has('MemoryDenyWriteExecute'), "V8's JIT needs W+X memory");
  });

  test('reload is SIGHUP to the main process; stop is SIGTERM with time for uploads', () => {
    assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(one('KillSignal'), 'SIGTERM');
    // server.shutdownTimeout defaults to 30 s: systemd must wait longer before SIGKILL.
    assert.equal(one('TimeoutStopSec'), '45', 'docs/deployment.md says 45 s');
  });

  test('runs Node 24 from the npm node package, as docs/deployment.md installs it', async () => {
    const start = one('ExecStart').split(' ');
    assert.equal(start[0], installedNode);
    assert.deepEqual(start.slice(-3), ['serve', '--config', '/etc/tusgate/tusgate.yaml']);
    assert.equal(one('ExecStartPre').split(' ')[0], installedNode);
    const doc = await readFile(deploymentDoc, 'utf8');
    assert.ok(
      doc.includes('npm install --global --prefix /opt/node24 node@24'),
      'the docs install Node 24 where the unit runs it',
    );
    // The node the unit names is the npm `node` package's binary: this checkout's is one.
    const { stdout } = await run(nodeBinary, ['-p', 'process.versions.node']);
    assert.ok(Number(stdout.split('.')[0]) >= 24);
  });

  test('systemd-analyze verify accepts it', async () => {
    const { stdout, stderr } = await analyze(['verify', mappedUnit]);
    assert.equal(`${stdout}${stderr}`.trim(), '', 'no warnings');
  });

  test('systemd-analyze security --offline rates it OK (exposure 2.0 or lower)', async () => {
    // It prints one line per check and exits non-zero above its own threshold: ask for 2.0 here.
    const { stdout } = await analyze(['security', '--offline=true', '--threshold=20', mappedUnit]);
    const level = /Overall exposure level for tusgate\.service: ([\d.]+)/.exec(stdout);
    assert.ok(level, stdout);
    assert.ok(Number(level[1]) <= 2, `exposure ${level[1]}`);
  });

  test("ReadWritePaths= and StateDirectory= cover every path docs/galaxy.md's configs write", async () => {
    const configs = guideConfigs(await readFile(guideFile, 'utf8'));
    assert.ok(configs.size >= 3, 'the guide has its tusgate.yaml of each step');
    const writable = [
      ...one('ReadWritePaths')
        .split(/\s+/)
        .map((path) => path.replace(/^-/, '')),
      ...one('StateDirectory')
        .split(/\s+/)
        .map((name) => `/var/lib/${name}`),
    ];
    const covered = (path: string) =>
      writable.some((root) => path === root || path.startsWith(`${root}/`));
    const paths = new Set([...configs.values()].flatMap(writtenPaths));
    assert.ok(paths.size >= 4, 'store roots, hand-off folders and the owner table');
    for (const path of paths) {
      assert.ok(path.startsWith('/'), `${path} is absolute (the unit's paths are)`);
      assert.ok(covered(path), `${path} is writable for the unit (${writable.join(' ')})`);
    }
    // And nothing writable that the guide does not use.
    for (const root of writable) {
      assert.ok(
        [...paths].some((path) => path === root || path.startsWith(`${root}/`)),
        `${root} is used by the guide`,
      );
    }
  });

  test("ExecStartPre's check-config accepts the guide's final config", async () => {
    const configs = guideConfigs(await readFile(guideFile, 'utf8'));
    const last = [...configs.keys()].filter((name) => name.includes('step')).at(-1)!;
    const file = join(dir.path, 'tusgate.yaml');
    // Galaxy's upload folders exist on a Galaxy host before tusgate starts (check-config insists):
    // here they are made under the test's folder.
    const config = configs.get(last) as { stores?: Record<string, { handoffDir?: string }> };
    for (const store of Object.values(config.stores ?? {})) {
      if (store.handoffDir === undefined) continue;
      store.handoffDir = join(dir.path, 'galaxy', store.handoffDir);
      await mkdir(store.handoffDir, { recursive: true });
    }
    await writeFile(file, stringify(config));
    const pre = serviceSettings(await readFile(mappedUnit, 'utf8'))
      .get('ExecStartPre')![0]!
      .replace('/etc/tusgate/tusgate.yaml', file)
      .split(' ');
    const { stdout } = await run(pre[0]!, pre.slice(1), {
      env: { ...process.env, TUSGATE_ADMIN_TOKEN: 'systemd-test-admin-token' },
    });
    assert.match(stdout, /OK/);
  });
});
