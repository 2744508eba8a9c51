import { handoffDirIssues } from '../backends/native/handoff-dir.ts';
import { inspectConfigFile } from '../config/load.ts';
import { authSchema } from '../config/schema/auth.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { createAuthenticator } from '../gateway/auth/index.ts';

/**
 * Validates a config file and prints every problem with its key path, all in one run: environment
 * variables, schema, references between keys, and what the schema cannot see into (tokens files,
 * PEM public keys, hand-off folders that must exist). Exit code 0 or 1.
 */
export async function checkConfigCommand(file: string): Promise<number> {
  const report = await inspectConfigFile(file);
  const issues = [
    ...report.issues,
    ...(await authenticatorIssues(report.document)),
    ...(report.config ? handoffDirIssues(report.config.stores) : []),
  ];
  if (issues.length > 0) {
    process.stderr.write(`${new ConfigError(issues, file).message}\n`);
    return 1;
  }
  const routes = report.config?.routes ?? [];
  const names = routes.map((route) => route.name).join(', ');
  process.stdout.write(`${file}: OK (${routes.length} route(s): ${names})\n`);
  return 0;
}

/** Builds each route's authenticator whose `auth` block is itself valid, and collects what fails. */
export async function authenticatorIssues(document: unknown): Promise<ConfigIssue[]> {
  const routes = (document as { routes?: unknown } | undefined)?.routes;
  if (!Array.isArray(routes)) return [];
  const issues: ConfigIssue[] = [];
  for (const [index, route] of routes.entries()) {
    const auth = authSchema.safeParse((route as { auth?: unknown } | null)?.auth);
    if (!auth.success) continue;
    try {
      await createAuthenticator(auth.data, `routes[${index}].auth`)?.close?.();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }
  return issues;
}
