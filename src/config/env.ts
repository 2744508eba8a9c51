import type { ConfigIssue } from '../errors.ts';

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$\{/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value and map key of a parsed YAML
 * document.
 * Substitution happens after parsing, so a secret can never change the document's structure.
 * `$${` stands for a literal `${`.
 */
export function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  path: string[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(reference, (match, variable?: string, fallback?: string) => {
      if (match === '$${') return '${';
      const found = env[variable as string];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      issues.push({
        path: formatPath(path),
        message: `environment variable ${variable} is not set`,
      });
      return '';
    });
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => substituteEnv(item, env, issues, [...path, String(index)]));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      // Keys too: a static token map is written `"${UPLOAD_TOKEN}": alice`.
      Object.entries(value).map(([key, item]) => [
        substituteEnv(key, env, issues, [...path, key]) as string,
        substituteEnv(item, env, issues, [...path, key]),
      ]),
    );
  }
  return value;
}

/** `routes.0.backends.legacy.url` → `routes[0].backends.legacy.url` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => {
      const text = String(part);
      if (/^\d+$/.test(text)) return `[${text}]`;
      return index === 0 ? text : `.${text}`;
    })
    .join('');
}
