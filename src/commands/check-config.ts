import { loadConfigFile } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { createAuthenticator } from '../gateway/auth/index.ts';

/** Validates a config file: prints every problem with its key path; exit code 0 or 1. */
export async function checkConfigCommand(file: string): Promise<number> {
  try {
    const config = await loadConfigFile(file);
    // Files and keys the schema cannot see into: tokens files, PEM public keys.
    for (const [index, route] of config.routes.entries()) {
      await createAuthenticator(route.auth, `routes[${index}].auth`)?.close?.();
    }
    const routes = config.routes.map((route) => route.name).join(', ');
    process.stdout.write(`${file}: OK (${config.routes.length} route(s): ${routes})\n`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
