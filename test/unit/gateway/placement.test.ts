import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { pino } from 'pino';
import type { Backend, RequestContext } from '../../../src/backends/types.ts';
import type { RouteConfig } from '../../../src/config/schema/index.ts';
import { MemoryAffinityStore } from '../../../src/gateway/affinity/affinity-store.ts';
import { selectBackend } from '../../../src/gateway/placement.ts';
import { compileRoute } from '../../../src/gateway/routing.ts';

const uuidv7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const backend = (name: string, kind: 'native' | 'proxy'): Backend => ({
  name,
  kind,
  handle: async () => {},
  recognisesId: (id) => kind === 'native' && uuidv7.test(id),
  checkReady: async () => {},
  close: async () => {},
});

test('ids go to the backend that made them, even a legacy server making UUIDv7 ids', async () => {
  const native = backend('native', 'native');
  const legacy = backend('legacy', 'proxy');
  const route = compileRoute(
    { name: 'r', match: { pathPrefix: '/files/' }, create: 'legacy' } as RouteConfig,
    new Map([
      ['legacy', legacy],
      ['native', native],
    ]),
  );
  const affinity = new MemoryAffinityStore();
  const legacyUuid = '0199a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b';
  await affinity.set(legacyUuid, { backend: 'legacy', principal: null });
  const place = (id: string) =>
    selectBackend(
      route,
      { method: 'HEAD', headers: {} } as IncomingMessage,
      {
        uploadId: id,
        principal: null,
        log: pino({ level: 'silent' }),
        tus: { method: 'HEAD', concat: { kind: 'none' } },
      } as unknown as RequestContext,
      { affinity },
    );
  assert.equal((await place(legacyUuid)).name, 'legacy');
  assert.equal((await place('0199a1b2-c3d4-7e5f-8a6b-000000000000')).name, 'native');
  assert.equal((await place('0123456789abcdef0123456789abcdef')).name, 'legacy');
});
