import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/errors.ts';

const routes = [
  {
    name: 'r',
    match: { pathPrefix: '/files/' },
    backends: { t: { type: 'tusd', url: 'http://127.0.0.1:1081/files/' } },
  },
];

function issuesOf(server: Record<string, unknown>): string[] {
  try {
    validateConfig({ server, routes });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
}

test('server.tls: cert and key, TLSv1.2 at least by default; http2 off by default', () => {
  const config = validateConfig({
    server: { tls: { cert: '/etc/t.crt', key: '/etc/t.key' } },
    routes,
  });
  assert.deepEqual(config.server.tls, {
    cert: '/etc/t.crt',
    key: '/etc/t.key',
    minVersion: 'TLSv1.2',
  });
  assert.equal(config.server.http2, false);
  assert.equal(config.server.adminTls, undefined);
});

test('server.tls refuses a missing key, an old TLS version and unknown keys', () => {
  assert.match(issuesOf({ tls: { cert: '/c' } }).join('\n'), /server\.tls\.key/);
  assert.match(
    issuesOf({ tls: { cert: '/c', key: '/k', minVersion: 'TLSv1.1' } }).join('\n'),
    /server\.tls\.minVersion/,
  );
  assert.match(issuesOf({ tls: { cert: '/c', key: '/k', ca: '/x' } }).join('\n'), /server\.tls/);
});

test('server.http2 needs server.tls', () => {
  assert.deepEqual(issuesOf({ http2: true }), [
    'server.http2: needs server.tls: HTTP/2 is offered by ALPN on the TLS listener',
  ]);
  assert.deepEqual(issuesOf({ http2: true, tls: { cert: '/c', key: '/k' } }), []);
});
