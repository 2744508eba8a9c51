import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../errors.ts';

/**
 * A static authenticator's tokens file: a YAML or JSON map of tokens (8+ characters) to
 * principal names; nothing (an empty map) when no file is configured. `at` names the config key
 * in the ConfigError a missing or malformed file gives.
 */
export function readTokensFile(file: string | undefined, at: string): Record<string, string> {
  if (file === undefined) return {};
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not YAML or JSON';
    throw new ConfigError([{ path: at, message: `cannot read ${file} (${reason})` }]);
  }
  const valid =
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Object.entries(parsed).every(
      ([token, principal]) =>
        token.length >= 8 && typeof principal === 'string' && principal !== '',
    );
  if (!valid) {
    throw new ConfigError([
      { path: at, message: `${file} must map tokens (8+ characters) to principal names` },
    ]);
  }
  return parsed as Record<string, string>;
}
