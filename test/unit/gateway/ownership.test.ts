import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Backend, RequestContext } from '../../../src/backends/types.ts';
import { validateConfig } from '../../../src/config/load.ts';
import type { RouteConfig } from '../../../src/config/schema/index.ts';
import { TusgateError } from '../../../src/errors.ts';
import {
  type AffinityEntry,
  type AffinityStore,
  MemoryAffinityStore,
} from '../../../src/gateway/affinity/affinity-store.ts';
import { FailClosedAffinityStore } from '../../../src/gateway/affinity/fail-closed.ts';
import type { Authenticator } from '../../../src/gateway/auth/types.ts';
import { selectBackend } from '../../../src/gateway/placement.ts';
import { compileRoute } from '../../../src/gateway/routing.ts';
import { tempDir } from '../../helpers/files.ts';

const uuidv7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const hexId = '0123456789abcdef0123456789abcdef';
const uuidId = '0199a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b';
const backend = (name: string, kind: 'native' | 'proxy'): Backend => ({
  name,
  kind,
  handle: async () => {},
  recognisesId: (id) => kind === 'native' && uuidv7.test(id),
  checkReady: async () => {},
  close: async () => {},
});
const authenticator: Authenticator = {
  authenticate: async () => ({ principal: 'alice', reason: 'valid' }),
};

/** A store that fails every call, as Redis does while it is down. */
class BrokenStore implements AffinityStore {
  readonly kind = 'broken';
  async get(): Promise<AffinityEntry | undefined> {
    throw new Error('connection refused');
  }
  async set(): Promise<void> {
    throw new Error('connection refused');
  }
  async checkReady(): Promise<void> {
    throw new Error('connection refused');
  }
  async close(): Promise<void> {}
}

function route(options: {
  auth: boolean;
  backends: Backend[];
  unownedUploads?: RouteConfig['unownedUploads'];
}) {
  return compileRoute(
    {
      name: 'r',
      match: { pathPrefix: '/files/' },
      create: options.backends[0]!.name,
      unownedUploads: options.unownedUploads,
    } as RouteConfig,
    new Map(options.backends.map((item) => [item.name, item])),
    { authenticator: options.auth ? authenticator : null },
  );
}

function place(
  compiled: ReturnType<typeof route>,
  id: string,
  affinity: AffinityStore,
  principal: string | null,
) {
  return selectBackend(
    compiled,
    { method: 'HEAD', headers: {} } as IncomingMessage,
    {
      uploadId: id,
      principal,
      log: pino({ level: 'silent' }),
      tus: { method: 'HEAD', concat: { kind: 'none' } },
    } as unknown as RequestContext,
    { affinity },
  );
}

const rejectsWith = (promise: Promise<unknown>, code: string, status: number) =>
  assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TusgateError);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  });

test('a lookup that fails is a 503 with Retry-After, never "no owner"', async () => {
  const store = new FailClosedAffinityStore(new BrokenStore(), {
    registry: new Registry(),
    description: 'broken',
  });
  const legacy = backend('legacy', 'proxy');
  await assert.rejects(
    place(route({ auth: true, backends: [legacy] }), hexId, store, 'alice'),
    (error) => {
      assert.ok(error instanceof TusgateError);
      assert.equal(error.code, 'TUSGATE_ERR_OWNERSHIP_UNAVAILABLE');
      assert.equal(error.status, 503);
      assert.equal(error.headers['Retry-After'], '5');
      return true;
    },
  );
});

test('without auth a failed lookup only matters when the id alone cannot name the backend', async () => {
  const broken = new BrokenStore();
  const legacy = backend('legacy', 'proxy');
  const native = backend('native', 'native');
  const other = backend('other', 'proxy');
  // One legacy backend, a hex id: nobody to check, one place it can be.
  assert.equal(
    (await place(route({ auth: false, backends: [legacy, native] }), hexId, broken, null)).name,
    'legacy',
  );
  // A UUIDv7 could be native or a legacy server's: the record decides.
  await rejectsWith(
    place(route({ auth: false, backends: [legacy, native] }), uuidId, broken, null),
    'TUSGATE_ERR_OWNERSHIP_UNAVAILABLE',
    503,
  );
  // Two legacy servers: the record decides.
  await rejectsWith(
    place(route({ auth: false, backends: [legacy, other] }), hexId, broken, null),
    'TUSGATE_ERR_OWNERSHIP_UNAVAILABLE',
    503,
  );
});

test('no record: 404 on a route with auth, unless the route declares the id pre-tusgate', async () => {
  const empty = new MemoryAffinityStore();
  const legacy = backend('legacy', 'proxy');
  const native = backend('native', 'native');
  await rejectsWith(
    place(route({ auth: true, backends: [legacy] }), hexId, empty, 'alice'),
    'TUSGATE_ERR_UPLOAD_NOT_FOUND',
    404,
  );
  // Native uploads keep their owner in their info: the native backend judges.
  assert.equal(
    (await place(route({ auth: true, backends: [legacy, native] }), uuidId, empty, 'alice')).name,
    'native',
  );
  // No auth: open, as before.
  assert.equal(
    (await place(route({ auth: false, backends: [legacy] }), hexId, empty, null)).name,
    'legacy',
  );

  const soon = new Date(Date.now() + 60_000);
  const past = new Date(Date.now() - 1);
  assert.equal(
    (
      await place(
        route({ auth: true, backends: [legacy], unownedUploads: { allowUntil: soon } }),
        hexId,
        empty,
        'bob',
      )
    ).name,
    'legacy',
  );
  await rejectsWith(
    place(
      route({ auth: true, backends: [legacy], unownedUploads: { allowUntil: past } }),
      hexId,
      empty,
      'bob',
    ),
    'TUSGATE_ERR_UPLOAD_NOT_FOUND',
    404,
  );

  const dir = await tempDir('tusgate-ids-');
  try {
    const idsFile = join(dir.path, 'ids');
    await writeFile(idsFile, `${hexId}.info\n\n# comment\n`);
    const listed = route({ auth: true, backends: [legacy], unownedUploads: { idsFile } });
    assert.equal((await place(listed, hexId, empty, 'bob')).name, 'legacy');
    await rejectsWith(
      place(listed, 'ffffffffffffffffffffffffffffffff', empty, 'bob'),
      'TUSGATE_ERR_UPLOAD_NOT_FOUND',
      404,
    );
    // An ids file that cannot be read: neither open nor gone is known.
    const missing = route({
      auth: true,
      backends: [legacy],
      unownedUploads: { idsFile: join(dir.path, 'gone') },
    });
    await rejectsWith(
      place(missing, hexId, empty, 'bob'),
      'TUSGATE_ERR_OWNERSHIP_UNAVAILABLE',
      503,
    );
  } finally {
    await dir.remove();
  }
});

test('a recorded owner still wins over the cut-off', async () => {
  const store = new MemoryAffinityStore();
  await store.set(hexId, { backend: 'legacy', principal: 'alice' });
  const legacy = backend('legacy', 'proxy');
  const open = route({
    auth: true,
    backends: [legacy],
    unownedUploads: { allowUntil: new Date(Date.now() + 60_000) },
  });
  await rejectsWith(place(open, hexId, store, 'bob'), 'TUSGATE_ERR_UPLOAD_NOT_FOUND', 404);
  assert.equal((await place(open, hexId, store, 'alice')).name, 'legacy');
});

test('a store that does not answer in time counts as failed', async () => {
  const registry = new Registry();
  const hanging: AffinityStore = {
    kind: 'hanging',
    get: () => new Promise(() => {}),
    set: () => new Promise(() => {}),
    checkReady: () => new Promise(() => {}),
    close: async () => {},
  };
  const store = new FailClosedAffinityStore(hanging, {
    registry,
    description: 'hanging store',
    timeoutMs: 50,
  });
  await rejectsWith(
    store.set(hexId, { backend: 'legacy', principal: 'alice' }),
    'TUSGATE_ERR_OWNERSHIP_UNAVAILABLE',
    503,
  );
  await rejectsWith(store.get(hexId), 'TUSGATE_ERR_OWNERSHIP_UNAVAILABLE', 503);
  await assert.rejects(store.checkReady(), /^Error: hanging store: no answer within 50 ms$/);
  const metrics = await registry.metrics();
  assert.match(metrics, /tusgate_ownership_store_errors_total\{operation="set"\} 1/);
  assert.match(metrics, /tusgate_ownership_store_errors_total\{operation="get"\} 1/);
  assert.match(metrics, /tusgate_ownership_store_errors_total\{operation="ready"\} 1/);
});

test('affinity config: sqlite by default, redis when a URL is set, memory only when chosen', () => {
  const routes = [
    {
      name: 'r',
      match: { pathPrefix: '/files/' },
      backends: { t: { type: 'tusd', url: 'http://127.0.0.1:1/files/' } },
    },
  ];
  const plain = validateConfig({ routes });
  assert.equal(plain.affinity.type, 'sqlite');
  assert.equal(plain.affinity.path, './data/tusgate-affinity.sqlite');
  assert.equal(
    validateConfig({ routes, affinity: { redis: 'redis://127.0.0.1:6379/0' } }).affinity.type,
    'redis',
  );
  assert.equal(validateConfig({ routes, affinity: { type: 'memory' } }).affinity.type, 'memory');
  assert.throws(
    () => validateConfig({ routes, affinity: { type: 'redis' } }),
    /affinity\.redis: required when type is redis/,
  );
  assert.throws(
    () =>
      validateConfig({ routes, affinity: { type: 'sqlite', redis: 'redis://127.0.0.1:6379/0' } }),
    /affinity\.redis: set, but type is sqlite/,
  );
  assert.throws(
    () =>
      validateConfig({ routes: [{ ...routes[0], unownedUploads: { allowUntil: 'next week' } }] }),
    /routes\[0\]\.unownedUploads\.allowUntil: must be an ISO 8601 date-time/,
  );
  assert.throws(
    () => validateConfig({ routes: [{ ...routes[0], unownedUploads: {} }] }),
    /set allowUntil, idsFile or both/,
  );
});
