/**
 * Removes credentials (and, by choice, upload metadata) from anything about to leave the process
 * for Sentry. It walks the whole event: headers we never attach today could be attached by a
 * future integration, and error messages may quote URLs with tokens in them.
 */
import { isSecretName } from '../config/secret-names.ts';

export interface ScrubOptions {
  /** true: blank all Upload-Metadata values; a list: blank those keys; false: keep them. */
  metadata: boolean | readonly string[];
  /** Exact secret values known to the config (static tokens, admin token), blanked anywhere. */
  secrets?: () => readonly string[];
  /** Names blanked like the built-in secret names: the routes' own credential headers. */
  secretNames?: () => readonly string[];
}

export const FILTERED = '[Filtered]';

const metadataKey = /^(?:upload-metadata|metadata)$/i;
const bearer = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const queryToken =
  /((?:^|[?&;])(?:token|access_token|api_key|apikey|key|jwt|password|secret|session)=)[^&\s#"']+/gim;

export function createScrubber(options: ScrubOptions): <T>(value: T) => T {
  // The secrets are looked up once per scrubbed value (one Sentry event), not once per string:
  // a tokens file behind them is not read again for each of an event's strings.
  return <T>(value: T) => {
    const secrets = (options.secrets?.() ?? []).filter((secret) => secret.length >= 4);
    const names = new Set((options.secretNames?.() ?? []).map((name) => name.toLowerCase()));
    const isSecret = (key: string) => isSecretName(key) || names.has(key.toLowerCase());
    return scrubWith(options, secrets, isSecret)(value) as T;
  };
}

function scrubWith(
  options: ScrubOptions,
  secrets: readonly string[],
  isSecret: (key: string) => boolean,
): (value: unknown) => unknown {
  const scrubString = (text: string): string => {
    let result = text.replace(bearer, `$1 ${FILTERED}`).replace(queryToken, `$1${FILTERED}`);
    for (const secret of secrets) result = result.split(secret).join(FILTERED);
    return result;
  };

  const scrubMetadata = (value: unknown): unknown => {
    if (options.metadata === false) return walk(value);
    if (options.metadata === true)
      return typeof value === 'object' && value ? blankAll(value) : FILTERED;
    const keys = new Set(options.metadata.map((key) => key.toLowerCase()));
    if (typeof value === 'string') {
      // Upload-Metadata header form: "key base64,key2 base64".
      return value
        .split(',')
        .map((pair) => {
          const [key = '', ...rest] = pair.trim().split(' ');
          return keys.has(key.toLowerCase()) && rest.length > 0 ? `${key} ${FILTERED}` : pair;
        })
        .join(',');
    }
    if (typeof value === 'object' && value !== null) {
      const copy: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) {
        copy[key] = keys.has(key.toLowerCase()) ? FILTERED : walk(inner);
      }
      return copy;
    }
    return value;
  };

  const walk = (value: unknown, depth = 0): unknown => {
    if (depth > 12) return value;
    if (typeof value === 'string') return scrubString(value);
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    if (typeof value !== 'object' || value === null) return value;
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (isSecret(key)) copy[key] = FILTERED;
      else if (metadataKey.test(key)) copy[key] = scrubMetadata(inner);
      else copy[key] = walk(inner, depth + 1);
    }
    return copy;
  };

  return (value) => walk(value);
}

function blankAll(value: object): Record<string, string> {
  return Object.fromEntries(Object.keys(value).map((key) => [key, FILTERED]));
}
