import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { tempDir } from '../../helpers/files.ts';
import { projectRoot, type RunningGateway, startGateway } from '../../helpers/gateway.ts';
import { promtool, scrape } from '../../helpers/metrics.ts';

const prometheusDir = join(projectRoot, 'deploy', 'prometheus');

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { uid: string };
  targets?: { expr: string }[];
}

/** Grafana's template variables replaced by values Prometheus accepts, to check the queries. */
function concrete(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__range', '1h')
    .replaceAll('$instance', '.*')
    .replaceAll('$route', '.*');
}

describe('deploy: alert rules and Grafana dashboard', () => {
  let gw: RunningGateway;
  let dir: { path: string; remove: () => Promise<void> };
  let dashboard: { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };

  before(async () => {
    dir = await tempDir('tusgate-deploy-');
    gw = await startGateway({
      stores: { main: { type: 'date-sharded', root: dir.path, expiresAfter: '1d' } },
      routes: [
        {
          name: 'files',
          match: { pathPrefix: '/files/' },
          backends: { native: { type: 'native', store: 'main' } },
        },
      ],
    });
    const text = await readFile(join(projectRoot, 'deploy', 'grafana', 'tusgate.json'), 'utf8');
    dashboard = JSON.parse(text) as typeof dashboard;
  });
  after(async () => {
    await gw?.stop();
    await dir?.remove();
  });

  test('promtool accepts the alert rules and their unit tests pass', () => {
    const check = promtool(['check', 'rules', 'alerts.yaml'], prometheusDir);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, /SUCCESS: 6 rules found/);
    const unit = promtool(['test', 'rules', 'alerts.test.yaml'], prometheusDir);
    assert.equal(unit.status, 0, unit.output);
  });

  test('the dashboard has unique panel ids, a data source variable on every query, and a sane grid', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(dashboard.templating.list.some((variable) => variable.name === 'datasource'));
    for (const panel of dashboard.panels) {
      assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} is wider than the grid`);
      if (panel.type === 'row') continue;
      assert.equal(panel.datasource?.uid, '${datasource}', panel.title);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
    }
  });

  test('every dashboard query parses and names only metrics tusgate exports', async () => {
    const exported = new Set(
      (await scrape(gw.adminUrl))
        .split('\n')
        .filter((line) => line.startsWith('# TYPE '))
        .map((line) => line.split(' ')[2]!),
    );
    const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr));
    assert.ok(exprs.length >= 20);
    const rules: string[] = await readFile(join(prometheusDir, 'alerts.yaml'), 'utf8').then(
      (text) => [...text.matchAll(/\btusgate_\w+/g)].map((m) => m[0]),
    );
    const used = new Set([
      ...exprs.flatMap((expr) => expr.match(/\btusgate_\w+/g) ?? []),
      ...rules,
    ]);
    for (const name of used) {
      const family = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(exported.has(name) || exported.has(family), `${name} is not exported by tusgate`);
    }
    // promtool parses PromQL in rule files: wrap every query in a recording rule to check it.
    const file = join(dir.path, 'dashboard-queries.yaml');
    const recording = exprs.map((expr, index) => ({
      record: `dashboard:q${index}`,
      expr: concrete(expr),
    }));
    await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules: recording }] }));
    const check = promtool(['check', 'rules', file], dir.path);
    assert.equal(check.status, 0, check.output);
  });
});
