import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { AuthConfig } from '../../config/schema/index.ts';
import { ConfigError } from '../../errors.ts';
import { GalaxyAuthenticator } from './galaxy.ts';
import { JwtAuthenticator } from './jwt.ts';
import { StaticAuthenticator } from './static.ts';
import type { Authenticator } from './types.ts';

/** The route's authenticator; null for `none`. `at` names the config key in errors. */
export function createAuthenticator(config: AuthConfig, at: string): Authenticator | null {
  switch (config.type) {
    case 'none':
      return null;
    case 'static':
      return new StaticAuthenticator(
        { ...readTokensFile(config.tokensFile, `${at}.tokensFile`), ...config.tokens },
        config.header,
      );
    case 'jwt':
      try {
        return new JwtAuthenticator(config);
      } catch (error) {
        throw new ConfigError([
          {
            path: `${at}.publicKey`,
            message: `not a PEM public key (${(error as Error).message})`,
          },
        ]);
      }
    case 'galaxy':
      return new GalaxyAuthenticator(config);
  }
}

function readTokensFile(file: string | undefined, at: string): Record<string, string> {
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
