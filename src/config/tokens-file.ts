import { readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../errors.ts';

/** Reads a file's text; injectable so tests can count reads. */
export type TextReader = (file: string) => string;

const readText: TextReader = (file) => readFileSync(file, 'utf8');

/**
 * A static authenticator's tokens file: a YAML or JSON map of tokens (8+ characters) to
 * principal names; nothing (an empty map) when no file is configured. `at` names the config key
 * in the ConfigError a missing or malformed file gives.
 */
export function readTokensFile(
  file: string | undefined,
  at: string,
  read: TextReader = readText,
): Record<string, string> {
  if (file === undefined) return {};
  let parsed: unknown;
  try {
    parsed = parse(read(file));
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

/**
 * Tokens files parsed again only when they changed (path, mtime, size and inode), for callers
 * that ask often, such as the Sentry scrubber listing the config's secrets for every event.
 */
export class TokensFileCache {
  readonly #read: TextReader;
  readonly #parsed = new Map<string, { version: string; tokens: Record<string, string> }>();

  constructor(read: TextReader = readText) {
    this.#read = read;
  }

  tokens(file: string, at: string): Record<string, string> {
    const stat = statSync(file, { bigint: true });
    const version = `${stat.mtimeNs}:${stat.size}:${stat.ino}`;
    const cached = this.#parsed.get(file);
    if (cached?.version === version) return cached.tokens;
    const tokens = readTokensFile(file, at, this.#read);
    this.#parsed.set(file, { version, tokens });
    return tokens;
  }
}
