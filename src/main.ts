#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { checkConfigCommand } from './commands/check-config.ts';
import { serveCommand } from './commands/serve.ts';
import { version } from './version.ts';

const usage = `tusgate ${version} — a streaming gateway for tus resumable uploads

Usage:
  tusgate [serve] [--config FILE]          run the gateway (no config: native store in ./data on 127.0.0.1:1080)
  tusgate check-config FILE                validate a config file; every problem is printed with its key
  tusgate cleanup --config FILE [--dry-run]  remove expired uploads from date-sharded stores

Options:
  -c, --config FILE   configuration file (YAML); also TUSGATE_CONFIG
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
  switch (command) {
    case 'serve':
      return serveCommand(configFile);
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

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'dry-run': { type: 'boolean', short: 'n' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

process.exitCode = await main(process.argv.slice(2));
