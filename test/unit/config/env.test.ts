import assert from 'node:assert/strict';
import { test } from 'node:test';
import { substituteEnv } from '../../../src/config/env.ts';
import type { ConfigIssue } from '../../../src/errors.ts';

test('substitutes ${VAR} and ${VAR:-default} in nested string values, leaving other types', () => {
  const issues: ConfigIssue[] = [];
  const result = substituteEnv(
    { a: 'x-${ONE}-y', list: ['${TWO:-fallback}', 3, true], deep: { b: '$${literal}' } },
    { ONE: '1' },
    issues,
  );
  assert.deepEqual(result, { a: 'x-1-y', list: ['fallback', 3, true], deep: { b: '${literal}' } });
  assert.deepEqual(issues, []);
});

test('a missing variable is an issue naming the key, and its value never appears', () => {
  const issues: ConfigIssue[] = [];
  substituteEnv({ routes: [{ auth: { secret: '${NOT_SET}' } }] }, {}, issues);
  assert.deepEqual(issues, [
    { path: 'routes[0].auth.secret', message: 'environment variable NOT_SET is not set' },
  ]);
});

test('a substituted value cannot change the document structure', () => {
  const issues: ConfigIssue[] = [];
  const result = substituteEnv({ url: '${EVIL}' }, { EVIL: 'x\nroutes: []' }, issues) as {
    url: string;
  };
  assert.equal(result.url, 'x\nroutes: []');
});

test('map keys are substituted too (static tokens are written "${TOKEN}": principal)', () => {
  const issues: ConfigIssue[] = [];
  const result = substituteEnv(
    { tokens: { '${TOKEN}': 'alice' } },
    { TOKEN: 'secret-token' },
    issues,
  );
  assert.deepEqual(result, { tokens: { 'secret-token': 'alice' } });
  const missing: ConfigIssue[] = [];
  substituteEnv({ tokens: { '${UNSET}': 'alice' } }, {}, missing);
  assert.deepEqual(missing, [
    { path: 'tokens.${UNSET}', message: 'environment variable UNSET is not set' },
  ]);
});
