/** The command line, loaded by `main.ts` once the Node version is known to be new enough. */
import { parseArgs } from 'node:util';
import { checkConfigCommand } from './commands/check-config.ts';
import { type ListenAddress, type ListenOverrides, serveCommand } from './commands/serve.ts';
import { parseListenAddress } from './config/units.ts';
import { version } from './version.ts';

const usage = `tusgate ${version} — a streaming gateway for tus resumable uploads

Usage:
  tusgate [serve] [--config FILE] [--listen HOST:PORT] [--admin HOST:PORT]
                                           run the gateway (no config: native store in ./data on 127.0.0.1:1080)
  tusgate check-config FILE                validate a config file; every problem is printed with its key
  tusgate cleanup --config FILE [--dry-run]  remove expired uploads from date-sharded stores

Options:
  -c, --config FILE   configuration file (YAML); also TUSGATE_CONFIG
  -l, --listen HOST:PORT
                      serve: the public tus listener; wins over TUSGATE_LISTEN, which wins over
                      the config's server.listen (default 127.0.0.1:1080)
  --admin HOST:PORT   serve: the admin listener (/metrics, /healthz); likewise over TUSGATE_ADMIN
                      and server.admin (default 127.0.0.1:9102)
  -n, --dry-run       cleanup: report what would be removed, remove nothing
  -h, --help          show this help
  -v, --version       print the version
`;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`tusgate: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const [command = 'serve', ...rest] = positionals;
  const configFile = values.config ?? rest[0] ?? process.env.TUSGATE_CONFIG;
  if ((values.listen ?? values.admin) !== undefined && command !== 'serve') {
    process.stderr.write(`tusgate ${command}: --listen and --admin are options of serve\n`);
    return 2;
  }
  switch (command) {
    case 'serve': {
      let overrides: ListenOverrides;
      try {
        overrides = {
          listen: addressOverride('--listen', values.listen, 'TUSGATE_LISTEN'),
          admin: addressOverride('--admin', values.admin, 'TUSGATE_ADMIN'),
        };
      } catch (error) {
        process.stderr.write(`tusgate serve: ${(error as Error).message}\n`);
        return 2;
      }
      return serveCommand(configFile, overrides);
    }
    case 'check-config':
      if (!configFile) {
        process.stderr.write('tusgate check-config: name the config file\n');
        return 2;
      }
      return checkConfigCommand(configFile);
    case 'cleanup': {
      if (!configFile) {
        process.stderr.write('tusgate cleanup: --config FILE is required\n');
        return 2;
      }
      const { cleanupCommand } = await import('./commands/cleanup.ts');
      return cleanupCommand(configFile, values['dry-run'] === true);
    }
    default:
      process.stderr.write(`tusgate: unknown command "${command}"\n\n${usage}`);
      return 2;
  }
}

/** The flag, else the variable, parsed; undefined when neither is set; throws when invalid. */
function addressOverride(
  flag: string,
  flagValue: string | undefined,
  variable: string,
): ListenAddress | undefined {
  const [source, value] =
    flagValue !== undefined ? [flag, flagValue] : [variable, process.env[variable]];
  if (value === undefined || value === '') return undefined;
  const address = parseListenAddress(value);
  if (address) return address;
  throw new Error(
    `${source} "${value}" is not a listen address (HOST:PORT, e.g. 127.0.0.1:1080 or [::1]:1080)`,
  );
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      listen: { type: 'string', short: 'l' },
      admin: { type: 'string' },
      'dry-run': { type: 'boolean', short: 'n' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

process.exitCode = await main(process.argv.slice(2));
