import { validateConfig } from './load.ts';
import type { Config } from './schema/index.ts';

/** With no config file, tusgate serves natively on 127.0.0.1:1080 under /files/, storing in ./data. */
export function embeddedDefaultConfig(): Config {
  return validateConfig({
    stores: { main: { type: 'date-sharded', root: './data', expiresAfter: '7d' } },
    routes: [
      {
        name: 'default',
        match: { pathPrefix: '/files/' },
        backends: { native: { type: 'native', store: 'main' } },
        create: 'native',
      },
    ],
  });
}
