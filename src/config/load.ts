import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { formatPath, substituteEnv } from './env.ts';
import { referenceIssues } from './references.ts';
import { name } from './schema/common.ts';
import { type Config, configSchema } from './schema/index.ts';
import { lockingSchema } from './schema/locking.ts';
import { loggingSchema } from './schema/server.ts';
import { storeSchema } from './schema/store.ts';

/**
 * Everything known about one config: the valid config (when there are no issues), every issue
 * found — environment variables, schema and references together, in one pass — and the document
 * after `${ENV}` substitution (for checks that look further, such as `check-config`'s).
 */
export interface ConfigReport {
  config: Config | undefined;
  issues: ConfigIssue[];
  document: unknown;
}

/** Reads, substitutes and validates a YAML config file. Throws ConfigError listing every problem. */
export async function loadConfigFile(file: string, env = process.env): Promise<Config> {
  return orThrow(await inspectConfigFile(file, env), file);
}

/** The parts of a config `tusgate cleanup` uses; the rest of the file is not read. */
const storesOnlySchema = z.object({
  stores: z.record(name, storeSchema).default({}),
  locking: lockingSchema.default(() => lockingSchema.parse({})),
  logging: loggingSchema.default(() => loggingSchema.parse({})),
});

export type StoresConfig = z.output<typeof storesOnlySchema>;

/**
 * Reads only `stores`, `locking` and `logging` of a config file, for `tusgate cleanup`: a cron job needs
 * only what it uses (an unset `${TUSGATE_ADMIN_TOKEN}` elsewhere in the file is no error here).
 */
export async function loadStoresConfigFile(file: string, env = process.env): Promise<StoresConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError([{ path: '', message: `cannot read config file (${reason})` }], file);
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(inspectConfigText(text, env).issues, file);
  }
  const raw = document.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: '', message: 'the file must be a YAML mapping' }], file);
  }
  const { stores, locking, logging } = raw as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const used = substituteEnv({ stores, locking, logging }, env, issues);
  const result = storesOnlySchema.safeParse(used);
  if (!result.success) issues.push(...describeIssues(result.error.issues));
  if (issues.length > 0 || !result.success) throw new ConfigError(issues, file);
  return result.data;
}

export function parseConfigText(text: string, env = process.env, source?: string): Config {
  return orThrow(inspectConfigText(text, env), source);
}

export function validateConfig(raw: unknown, env = process.env, source?: string): Config {
  return orThrow(inspectConfig(raw, env), source);
}

export async function inspectConfigFile(file: string, env = process.env): Promise<ConfigReport> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return failed([{ path: '', message: `cannot read config file (${reason})` }]);
  }
  return inspectConfigText(text, env);
}

export function inspectConfigText(text: string, env = process.env): ConfigReport {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return failed([
      ...document.errors.map((error) => ({
        path: '',
        message: `YAML ${(error.message.split('\n')[0] ?? '').replace(/:\s*$/, '')}`,
      })),
      { path: '', message: 'nothing else was checked: the file must be valid YAML first' },
    ]);
  }
  return inspectConfig(document.toJS() ?? {}, env);
}

export function inspectConfig(raw: unknown, env = process.env): ConfigReport {
  const envIssues: ConfigIssue[] = [];
  const document = substituteEnv(raw, env, envIssues);
  const result = configSchema.safeParse(document);
  if (result.success) {
    return {
      config: envIssues.length === 0 ? result.data : undefined,
      issues: envIssues,
      document,
    };
  }
  // A missing variable left '' behind; the schema's complaint about that '' says nothing new.
  const unset = envIssues.map((issue) => issue.path);
  const schemaIssues = describeIssues(result.error.issues).filter(
    (issue) => !unset.some((path) => issue.path === path || issue.path.startsWith(`${path}.`)),
  );
  // The schema checks references only once everything else passed: check them here as well.
  const known = new Set(schemaIssues.map((issue) => `${issue.path}\n${issue.message}`));
  const references = referenceIssues(document)
    .map((issue) => ({ path: formatPath(issue.path), message: issue.message }))
    .filter((issue) => !known.has(`${issue.path}\n${issue.message}`));
  return {
    config: undefined,
    issues: [...envIssues, ...schemaIssues, ...references, ...unchecked(document)],
    document,
  };
}

/** Says once which checks could not run because the document's shape is wrong. */
function unchecked(document: unknown): ConfigIssue[] {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    return [{ path: '', message: 'nothing else was checked: the file must be a YAML mapping' }];
  }
  const routes = (document as Record<string, unknown>).routes;
  if (routes !== undefined && !Array.isArray(routes)) {
    return [
      {
        path: 'routes',
        message:
          'route references (create, canary, stores) were not checked: routes must be a list',
      },
    ];
  }
  return [];
}

function failed(issues: ConfigIssue[]): ConfigReport {
  return { config: undefined, issues, document: undefined };
}

function orThrow(report: ConfigReport, source?: string): Config {
  if (report.config === undefined) throw new ConfigError(report.issues, source);
  return report.config;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  return issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: 'unknown key',
      }));
    }
    if (issue.code === 'invalid_key') {
      // A map key the key schema refused (e.g. a backend name): say why, not "Invalid key".
      return issue.issues.map((inner) => ({
        path: formatPath(issue.path),
        message: `not a valid name: ${inner.message}`,
      }));
    }
    return [{ path: formatPath(issue.path), message: issue.message }];
  });
}
