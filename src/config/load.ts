import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { formatPath, substituteEnv } from './env.ts';
import { type Config, configSchema } from './schema/index.ts';

/** Reads, substitutes and validates a YAML config file. Throws ConfigError listing every problem. */
export async function loadConfigFile(file: string, env = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError([{ path: '', message: `cannot read config file (${reason})` }], file);
  }
  return parseConfigText(text, env, file);
}

export function parseConfigText(text: string, env = process.env, source?: string): Config {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.map((error) => ({
        path: '',
        message: `YAML ${(error.message.split('\n')[0] ?? '').replace(/:\s*$/, '')}`,
      })),
      source,
    );
  }
  const raw: unknown = document.toJS() ?? {};
  return validateConfig(raw, env, source);
}

export function validateConfig(raw: unknown, env = process.env, source?: string): Config {
  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(raw, env, issues);
  if (issues.length > 0) throw new ConfigError(issues, source);
  const result = configSchema.safeParse(substituted);
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues), source);
  return result.data;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: 'unknown key',
      }));
    }
    return [{ path: formatPath(issue.path), message: issue.message }];
  });
}
