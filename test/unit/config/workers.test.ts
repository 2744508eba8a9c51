import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { workerCount } from '../../../src/commands/serve.ts';
import { inspectConfigText, parseConfigText } from '../../../src/config/load.ts';

const routes = `
routes:
  - name: r
    match: { pathPrefix: /files/ }
    backends: { t: { type: tusd, url: "http://127.0.0.1:1081/files/" } }
`;

test('server.workers: 1 by default (one process), auto is one per core, N is N', () => {
  assert.equal(parseConfigText(routes).server.workers, 1);
  assert.equal(workerCount(parseConfigText(routes).server.workers), 1);
  const auto = parseConfigText(`server: { workers: auto }\n${routes}`).server.workers;
  assert.equal(workerCount(auto), availableParallelism());
  assert.equal(workerCount(parseConfigText(`server: { workers: 4 }\n${routes}`).server.workers), 4);
});

test('server.workers that is not auto or 1–256 is refused, naming the key', () => {
  for (const value of ['0', '1.5', 'two', '257']) {
    const { issues } = inspectConfigText(`server: { workers: ${value} }\n${routes}`);
    assert.equal(issues.length, 1, value);
    assert.equal(issues[0]?.path, 'server.workers', value);
  }
});
