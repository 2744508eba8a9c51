import type { Config } from './schema/index.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Listen addresses from the command line or the environment, over the config's. */
export interface ListenOverrides {
  listen?: ListenAddress;
  admin?: ListenAddress;
}

/** The config with the command line's listen addresses in place of its own. */
export function withOverrides(config: Config, overrides: ListenOverrides): Config {
  const server = { ...config.server };
  if (overrides.listen) server.listen = overrides.listen;
  if (overrides.admin) server.admin = overrides.admin;
  return { ...config, server };
}
