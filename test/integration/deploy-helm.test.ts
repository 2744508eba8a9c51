import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { tempDir } from '../helpers/files.ts';
import { cliEntry, nodeBinary, projectRoot } from '../helpers/gateway.ts';

/**
 * deploy/helm/tusgate: `helm lint --strict`, then `helm template` with each values file, the
 * rendered manifests parsed and checked (ports, probes, mounts, security) and the rendered
 * config run through `tusgate check-config`, with the environment the pod gets from the Secret.
 */

const run = promisify(execFile);
const chart = join(projectRoot, 'deploy', 'helm', 'tusgate');
const helmBinary = join(projectRoot, '.cache', 'bin', 'helm');

interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects, checked field by field
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

async function helm(args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(helmBinary, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const failed = error as Error & { code?: string | number; stderr?: string };
    if (failed.code === 'ENOENT') {
      throw new Error(`${helmBinary} is missing: the test setup installs it (ensure-test-deps.sh)`);
    }
    throw Object.assign(new Error(`helm ${args.join(' ')}: ${failed.stderr ?? failed.message}`), {
      stderr: failed.stderr ?? '',
    });
  }
}

async function render(args: string[]): Promise<Manifest[]> {
  const { stdout } = await helm(['template', 'uploads', chart, ...args]);
  return parseAllDocuments(stdout)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
}

function only(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (!name || m.metadata.name === name));
  assert.equal(found.length, 1, `one ${kind}${name ? ` ${name}` : ''} is rendered`);
  return found[0]!;
}

/** What a rendered chart must satisfy whatever the values file. */
async function checkRendered(manifests: Manifest[], dir: string, label: string) {
  const deployment = only(manifests, 'Deployment');
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;
  const ports = Object.fromEntries(
    container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
  ) as Record<string, number>;
  assert.ok(ports.tus && ports.admin, 'the container names its tus and admin ports');

  // Probes on the admin listener: liveness on /healthz, readiness on /readyz.
  assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'admin' });
  assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'admin' });
  assert.deepEqual(container.startupProbe.httpGet, { path: '/healthz', port: 'admin' });

  // Non-root, read-only root file system, no privilege escalation, requests set.
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(pod.securityContext.runAsUser > 0);
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
  assert.ok(container.resources.requests.cpu && container.resources.requests.memory);

  // Services: public → tus, admin → admin, selecting the pod's labels.
  const labels = deployment.spec.template.metadata.labels as Record<string, string>;
  for (const [name, target] of [
    [deployment.metadata.name, 'tus'],
    [`${deployment.metadata.name}-admin`, 'admin'],
  ] as const) {
    const service = only(manifests, 'Service', name);
    assert.equal(service.spec.ports.length, 1);
    assert.equal(service.spec.ports[0].targetPort, target);
    for (const [key, value] of Object.entries(service.spec.selector)) {
      assert.equal(labels[key], value, `${name} selects the pods (${key})`);
    }
  }

  // Mounts: the config file, the data volume, a writable /tmp.
  const mounts = new Map<string, { name: string; subPath?: string }>(
    container.volumeMounts.map((m: { mountPath: string; name: string }) => [m.mountPath, m]),
  );
  const volumes = new Map<string, Record<string, unknown>>(
    pod.volumes.map((v: { name: string }) => [v.name, v]),
  );
  const configMount = mounts.get('/etc/tusgate/tusgate.yaml');
  assert.ok(configMount, 'the config is mounted where the args name it');
  assert.deepEqual(container.args, ['serve', '--config', '/etc/tusgate/tusgate.yaml']);
  const configMap = only(manifests, 'ConfigMap');
  assert.deepEqual(volumes.get(configMount.name)?.configMap, { name: configMap.metadata.name });
  assert.ok(mounts.get('/tmp'), '/tmp is writable (an emptyDir)');
  const dataMount = [...mounts.entries()].find(([, m]) => m.name === 'data');
  assert.ok(dataMount, 'the data volume is mounted');
  const dataPath = dataMount[0];

  // The rendered config: the listeners on the container's ports, every path it writes on the
  // data volume (the root file system is read-only), and valid for tusgate itself.
  const configText = configMap.data!['tusgate.yaml']!;
  const config = parse(configText);
  assert.equal(config.server.listen, `0.0.0.0:${ports.tus}`);
  assert.equal(config.server.admin, `0.0.0.0:${ports.admin}`);
  const written: string[] = [
    ...Object.values(config.stores as Record<string, { root: string; handoffDir?: string }>)
      .flatMap((store) => [store.root, store.handoffDir])
      .filter((path): path is string => path !== undefined),
    ...(config.affinity?.type === 'sqlite' ? [config.affinity.path as string] : []),
    ...(config.hookJournal ? [config.hookJournal as string] : []),
  ];
  for (const path of written) {
    assert.ok(path.startsWith(`${dataPath}/`), `${path} is on the data volume ${dataPath}`);
  }

  const secret = manifests.find((m) => m.kind === 'Secret');
  const env = { ...process.env, ...(secret?.stringData ?? {}) };
  if (secret) {
    assert.deepEqual(container.envFrom, [{ secretRef: { name: secret.metadata.name } }]);
  }
  const file = join(dir, `${label}.yaml`);
  await writeFile(file, configText);
  const checked = await run(nodeBinary, [cliEntry, 'check-config', file], { env }).catch(
    (error: { stdout: string; stderr: string }) => {
      throw new Error(`check-config refused the ${label} config:\n${error.stdout}${error.stderr}`);
    },
  );
  assert.match(checked.stdout, /OK/);
  return { deployment, container, pod, config, configMap, secret, volumes };
}

describe('Helm chart deploy/helm/tusgate (helm v4)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let valuesFiles: string[];

  before(async () => {
    dir = await tempDir('tusgate-helm-');
    const ci = join(chart, 'ci');
    valuesFiles = (await readdir(ci)).filter((f) => f.endsWith('.yaml')).map((f) => join(ci, f));
    assert.ok(valuesFiles.length >= 3, 'the chart ships its example values files in ci/');
  });
  after(() => dir?.remove());

  test('helm is v4', async () => {
    const { stdout } = await helm(['version', '--short']);
    assert.match(stdout, /^v4\./);
  });

  test('helm lint --strict passes with the default values and every values file', async () => {
    await helm(['lint', '--strict', chart]);
    for (const file of valuesFiles) await helm(['lint', '--strict', chart, '-f', file]);
  });

  test('default values: one pod, the chart’s own claim, Recreate, a valid config', async () => {
    const manifests = await render([]);
    const { deployment, volumes, secret } = await checkRendered(manifests, dir.path, 'default');
    assert.equal(deployment.spec.replicas, 1);
    assert.equal(deployment.spec.strategy.type, 'Recreate');
    // The defaults docs/deployment.md states.
    assert.deepEqual(deployment.spec.template.spec.containers[0].resources, {
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    });
    const claim = only(manifests, 'PersistentVolumeClaim');
    assert.deepEqual(volumes.get('data')?.persistentVolumeClaim, {
      claimName: claim.metadata.name,
    });
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
    assert.equal(secret, undefined, 'no Secret when there is nothing secret');
    assert.ok(!manifests.some((m) => m.kind === 'ServiceMonitor' || m.kind === 'PrometheusRule'));
  });

  test('proxy values: an existing claim, secrets as ${VAR} from the Secret, the admin token', async () => {
    const manifests = await render(['-f', join(chart, 'ci', 'proxy-values.yaml')]);
    const { volumes, config, secret, configMap } = await checkRendered(
      manifests,
      dir.path,
      'proxy',
    );
    assert.ok(!manifests.some((m) => m.kind === 'PersistentVolumeClaim'));
    assert.deepEqual(volumes.get('data')?.persistentVolumeClaim, { claimName: 'tus-uploads' });
    assert.equal(config.server.adminToken, '${TUSGATE_ADMIN_TOKEN}');
    assert.equal(config.sentry.dsn, '${SENTRY_DSN}');
    assert.deepEqual(Object.keys(secret!.stringData!).sort(), [
      'SENTRY_DSN',
      'TUSGATE_ADMIN_TOKEN',
    ]);
    assert.ok(!configMap.data!['tusgate.yaml']!.includes('ci-admin-token'), 'no secret in it');
  });

  test('replicas values: three pods over ReadWriteMany, the owner table in Redis', async () => {
    const manifests = await render(['-f', join(chart, 'ci', 'replicas-values.yaml')]);
    const { deployment, config, secret } = await checkRendered(manifests, dir.path, 'replicas');
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(deployment.spec.strategy.type, 'RollingUpdate');
    assert.deepEqual(only(manifests, 'PersistentVolumeClaim').spec.accessModes, ['ReadWriteMany']);
    assert.deepEqual(config.affinity, { type: 'redis', redis: '${TUSGATE_REDIS_URL}' });
    assert.equal(secret!.stringData!.TUSGATE_REDIS_URL, 'redis://:secret@redis.uploads.svc:6379/0');
  });

  test('monitoring values: a ServiceMonitor on the admin port, the alert rules of deploy/prometheus', async () => {
    const manifests = await render(['-f', join(chart, 'ci', 'monitoring-values.yaml')]);
    const { volumes } = await checkRendered(manifests, dir.path, 'monitoring');
    assert.deepEqual(volumes.get('data')?.emptyDir, {});
    const monitor = only(manifests, 'ServiceMonitor');
    assert.deepEqual(monitor.spec.endpoints, [
      { port: 'admin', path: '/metrics', interval: '15s' },
    ]);
    const admin = only(
      manifests,
      'Service',
      `${only(manifests, 'Deployment').metadata.name}-admin`,
    );
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) {
      assert.equal(
        admin.metadata.labels?.[key],
        value,
        `the ServiceMonitor selects the admin Service (${key})`,
      );
    }
    const rule = only(manifests, 'PrometheusRule');
    const alerts = parse(
      await readFile(join(projectRoot, 'deploy', 'prometheus', 'alerts.yaml'), 'utf8'),
    );
    assert.deepEqual(rule.spec, alerts, 'the same rules as deploy/prometheus/alerts.yaml');
  });

  test('workers, Redis locking, TLS: rendered into the config from values', async () => {
    // Render-only: the keys belong to the scale-out and HTTPS work, not to this check-config.
    const manifests = await render([
      '-f',
      join(chart, 'ci', 'replicas-values.yaml'),
      '--set',
      'workers=4',
      '--set',
      'redis.locking=true',
      '--set',
      'tls.secretName=uploads-tls',
    ]);
    const configMap = only(manifests, 'ConfigMap');
    const config = parse(configMap.data!['tusgate.yaml']!);
    assert.equal(config.server.workers, 4);
    assert.deepEqual(config.locking, { type: 'redis', url: '${TUSGATE_REDIS_URL}' });
    assert.deepEqual(config.server.tls, {
      cert: '/etc/tusgate/tls/tls.crt',
      key: '/etc/tusgate/tls/tls.key',
    });
    const pod = only(manifests, 'Deployment').spec.template.spec;
    const tlsVolume = pod.volumes.find((v: { name: string }) => v.name === 'tls');
    assert.deepEqual(tlsVolume.secret, { secretName: 'uploads-tls' });
    assert.ok(
      pod.containers[0].volumeMounts.some(
        (m: { name: string; mountPath: string }) =>
          m.name === 'tls' && m.mountPath === '/etc/tusgate/tls',
      ),
    );
  });

  test('more than one replica without Redis is refused with a reason', async () => {
    await assert.rejects(render(['--set', 'replicaCount=2']), /replicaCount > 1 needs redis\.url/);
  });
});
