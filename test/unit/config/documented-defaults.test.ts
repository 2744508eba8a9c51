import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMap, isScalar, isSeq, type Node, parse, parseDocument } from 'yaml';
import { inspectConfig } from '../../../src/config/load.ts';

const root = join(import.meta.dirname, '..', '..', '..');
type Path = (string | number)[];

function at(value: unknown, path: Path): unknown {
  return path.reduce<unknown>(
    (node, key) => (node as Record<string | number, unknown> | undefined)?.[key],
    value,
  );
}

function without(document: unknown, path: Path): unknown {
  const copy = structuredClone(document);
  const parent = at(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  delete parent[path.at(-1)!];
  return copy;
}

/** Every key whose value is a scalar or a list of scalars, with its path. */
function leaves(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return path.length > 0 ? [path] : [];
  if (Array.isArray(value)) {
    if (value.every((item) => item === null || typeof item !== 'object')) return [path];
    return value.flatMap((item, index) => leaves(item, [...path, index]));
  }
  return Object.entries(value).flatMap(([key, inner]) => leaves(inner, [...path, key]));
}

/** Header names are case-insensitive: `X-Tusgate-Backend` documents `x-tusgate-backend`. */
function comparable(path: Path, value: unknown): unknown {
  const key = String(path.at(-1));
  return /header$/i.test(key) && typeof value === 'string' ? value.toLowerCase() : value;
}

/** The `(default: X)` a key's comment names, by path: then X, not the value shown, is the default. */
function statedDefaults(node: unknown, path: Path = [], out = new Map<string, string>()) {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const value = pair.value as Node | null;
      const stated = /default: ([^)]+)\)/.exec(value?.comment ?? '')?.[1];
      if (stated !== undefined) out.set([...path, key].join('.'), stated);
      statedDefaults(value, [...path, key], out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      statedDefaults(item, [...path, index], out);
    });
  }
  return out;
}

function withValue(document: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(document);
  const parent = at(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path.at(-1)!] = value;
  return copy;
}

/**
 * A value shown for a key in a documented config is that key's default wherever the schema has
 * one, unless its comment names the default (`(default: [])`): the key is taken out, the document
 * validated again, and what the schema fills in must be what the document said. Keys without a
 * default (or required ones) are skipped.
 */
function defaultMismatches(
  document: unknown,
  env: NodeJS.ProcessEnv,
  stated: Map<string, string> = new Map(),
): string[] {
  const full = inspectConfig(document, env);
  assert.deepEqual(full.issues, [], 'the documented config is valid');
  const problems: string[] = [];
  let checked = 0;
  for (const path of leaves(document)) {
    const report = inspectConfig(without(document, path), env);
    if (report.config === undefined) continue;
    const filled = at(report.config, path);
    if (filled === undefined) continue;
    checked++;
    const statedText = stated.get(path.join('.'));
    const shown =
      statedText === undefined
        ? at(full.config, path)
        : at(inspectConfig(withValue(document, path, parse(statedText)), env).config, path);
    if (!isDeepStrictEqual(comparable(path, filled), comparable(path, shown))) {
      problems.push(
        `${path.join('.')}: documented ${JSON.stringify(shown)}, default ${JSON.stringify(filled)}`,
      );
    }
  }
  assert.ok(checked > 20, `only ${checked} documented defaults were found`);
  return problems;
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/**
 * The example's commented-out `auth` variants (`# type: jwt — …` and the `#   key: value` lines
 * under it), as blocks a route could hold. Of jwt's three key sources only jwksUrl is kept (the
 * schema wants exactly one); a line whose comment states the default in words is left out.
 */
function commentedAuthBlocks(text: string): Record<string, unknown>[] {
  const blocks: Record<string, unknown>[] = [];
  let current: Record<string, unknown> | undefined;
  for (const line of text.split('\n')) {
    const type = /^\s*# type: (\w+) —/.exec(line)?.[1];
    if (type !== undefined) {
      current = { type };
      blocks.push(current);
      continue;
    }
    const option = /^\s*#\s{3}(\w+): (.*?)(?: # (.*))?$/.exec(line);
    if (!option || !current) {
      if (!/^\s*#/.test(line)) current = undefined;
      continue;
    }
    // A value whose comment states its default in words is an example, not the default.
    if (/\bdefault:/.test(option[3] ?? '')) continue;
    current[option[1]!] = parse(option[2]!);
  }
  for (const block of blocks) {
    if (block.type === 'jwt') {
      delete block.secret;
      delete block.publicKey;
    }
  }
  return blocks;
}

const env = { UPLOAD_TOKEN: 'upload-token-0123', HOOK_SECRET: 'hook-secret' };

test('config.example.yaml: every value shown for a key with a default is that default', async () => {
  const text = await readFile(join(root, 'config.example.yaml'), 'utf8');
  const stated = statedDefaults(parseDocument(text).contents);
  assert.deepEqual(defaultMismatches(parse(text), env, stated), []);
});

test("config.example.yaml: the commented auth variants' values are their defaults too", async () => {
  const text = await readFile(join(root, 'config.example.yaml'), 'utf8');
  const stated = statedDefaults(parseDocument(text).contents);
  const blocks = commentedAuthBlocks(text);
  assert.deepEqual(
    blocks.map((block) => block.type),
    ['static', 'jwt', 'galaxy'],
  );
  for (const auth of blocks) {
    const document = parse(text) as { routes: Record<string, unknown>[] };
    document.routes[0]!.auth = auth;
    assert.deepEqual(defaultMismatches(document, env, stated), [], String(auth.type));
  }
});
