import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectConfigText, parseConfigText } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/errors.ts';

/** One file with a problem of every stage: variables, schema, references. */
const everyStage = `
server:
  listen: \${TUSGATE_TEST_NOT_SET}
  lisen: 127.0.0.1:1
routes:
  - name: uploads
    match: { pathPrefix: /files/ }
    create: nowhere
    backends:
      native: { type: native, store: missing }
`;

test('every problem is reported in one pass: variables, schema and references together', () => {
  const { config, issues } = inspectConfigText(everyStage, {});
  assert.equal(config, undefined);
  assert.deepEqual(issues, [
    { path: 'server.listen', message: 'environment variable TUSGATE_TEST_NOT_SET is not set' },
    { path: 'server.lisen', message: 'unknown key' },
    { path: 'routes[0].create', message: 'names no backend of this route (have: native)' },
    {
      path: 'routes[0].backends.native.store',
      message: 'names no store under "stores" (have: none)',
    },
  ]);
  assert.throws(
    () => parseConfigText(everyStage, {}),
    (error) => error instanceof ConfigError && error.issues.length === 4,
  );
});

test('a valid file has no issues and yields the config', () => {
  const { config, issues } = inspectConfigText(
    everyStage
      .replace('${TUSGATE_TEST_NOT_SET}', '127.0.0.1:1080')
      .replace('  lisen: 127.0.0.1:1\n', '')
      .replace('create: nowhere', 'create: native')
      .replace('routes:', 'stores: { missing: { type: date-sharded, root: ./data } }\nroutes:'),
    {},
  );
  assert.deepEqual(issues, []);
  assert.equal(config?.routes[0]?.name, 'uploads');
});

test('a short static token: the message names the key, the principal and the rule, never the token', () => {
  const { issues } = inspectConfigText(
    `routes:
  - name: uploads
    match: { pathPrefix: /files/ }
    auth: { type: static, tokens: { "s3cr3t": alice } }
    backends: { native: { type: native, store: main } }
stores: { main: { type: date-sharded, root: ./data } }
`,
    {},
  );
  assert.deepEqual(issues, [
    {
      path: 'routes[0].auth.tokens',
      message: 'the token of principal "alice" has 6 characters; tokens need 8 or more',
    },
  ]);
  assert.ok(!JSON.stringify(issues).includes('s3cr3t'));
});

test('when routes is not a list, the reference checks say once that they could not run', () => {
  const { issues } = inspectConfigText('server: { lisen: 1 }\nroutes: { name: uploads }\n', {});
  assert.deepEqual(
    issues.map((issue) => issue.path),
    ['server.lisen', 'routes', 'routes'],
  );
  assert.match(issues[2]!.message, /not checked: routes must be a list/);
});

test('a YAML syntax error stops there and says the rest was not checked', () => {
  const { issues } = inspectConfigText('routes: [', {});
  assert.match(issues[0]!.message, /^YAML .*line 1/);
  assert.equal(
    issues.at(-1)?.message,
    'nothing else was checked: the file must be valid YAML first',
  );
});

test('a badly named backend says why, not "Invalid key in record"', () => {
  const { issues } = inspectConfigText(
    `routes:
  - name: uploads
    match: { pathPrefix: /files/ }
    backends: { "my backend": { type: tusd, url: http://127.0.0.1:1081/files/ } }
`,
    {},
  );
  assert.equal(issues[0]?.path, 'routes[0].backends.my backend');
  assert.match(issues[0]!.message, /^not a valid name: must be 1-64 letters/);
});
