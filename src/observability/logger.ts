import { type Logger, pino } from 'pino';

export interface LoggerOptions {
  level: string;
  pretty: boolean | 'auto';
  /** Where JSON lines go; defaults to stdout. Tests pass a stream to read them. */
  destination?: NodeJS.WritableStream;
}

/** Paths pino blanks out wherever they appear, as a second line of defence: we never log headers wholesale. */
export const redactedPaths = [
  'authorization',
  'cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  '*.authorization',
  '*.cookie',
  '*["x-api-key"]',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
];

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    base: { service: 'tusgate' },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination) return pino(base, options.destination as pino.DestinationStream);
  const pretty = options.pretty === 'auto' ? process.stdout.isTTY === true : options.pretty;
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(base);
}
