import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { z } from 'zod';
import { parseConfigText } from '../../../src/config/load.ts';
import { configSchema } from '../../../src/config/schema/index.ts';

const example = join(import.meta.dirname, '..', '..', '..', 'config.example.yaml');

/** Every object key the schema accepts, at any depth (unions, records, arrays, defaults). */
function schemaKeys(schema: z.ZodType, keys = new Set<string>()): Set<string> {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })
    ._zod.def;
  const walk = (inner: unknown) => schemaKeys(inner as z.ZodType, keys);
  switch (def.type) {
    case 'object':
      for (const [key, inner] of Object.entries(def.shape as Record<string, unknown>)) {
        keys.add(key);
        walk(inner);
      }
      break;
    case 'default':
    case 'optional':
    case 'nullable':
    case 'prefault':
    case 'readonly':
      walk(def.innerType);
      break;
    case 'pipe':
      walk(def.in);
      walk(def.out);
      break;
    case 'union':
      for (const option of def.options as unknown[]) walk(option);
      break;
    case 'record':
      walk(def.valueType);
      break;
    case 'array':
      walk(def.element);
      break;
  }
  return keys;
}

test('config.example.yaml is valid and documents every key the schema knows', async () => {
  const text = await readFile(example, 'utf8');
  const config = parseConfigText(text, {});
  assert.ok(config.routes.length > 0);
  const keys = schemaKeys(configSchema);
  assert.ok(keys.size > 50, `only ${keys.size} keys found: the schema walk is broken`);
  const undocumented = [...keys].filter((key) => !new RegExp(`\\b${key}:`).test(text));
  assert.deepEqual(undocumented, []);
});
