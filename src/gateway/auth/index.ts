import type { AuthConfig } from '../../config/schema/index.ts';
import { readTokensFile } from '../../config/tokens-file.ts';
import { ConfigError } from '../../errors.ts';
import { GalaxyAuthenticator } from './galaxy.ts';
import { AlgorithmMismatch, JwtAuthenticator } from './jwt.ts';
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
        if (error instanceof AlgorithmMismatch) {
          throw new ConfigError([{ path: `${at}.algorithms`, message: error.message }]);
        }
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
