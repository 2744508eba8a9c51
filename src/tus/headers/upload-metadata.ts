import { TusgateError } from '../../errors.ts';

/**
 * Decoded `Upload-Metadata`, key → UTF-8 value. A null-prototype object: any key, `__proto__`
 * included, is an own entry and round-trips like every other.
 */
export type UploadMetadata = Record<string, string>;

export function emptyMetadata(): UploadMetadata {
  return Object.create(null) as UploadMetadata;
}

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent), as tusd
 * reads it: keys are non-empty, unique and contain no spaces or commas; values are base64.
 * Undefined when the header is absent.
 */
export function parseUploadMetadata(value: string | undefined): UploadMetadata | undefined {
  if (value === undefined) return undefined;
  const metadata = emptyMetadata();
  if (value.trim() === '') return metadata;
  for (const pair of value.split(',')) {
    const parts = pair.trim().split(' ');
    const [key, encoded = ''] = parts;
    if (parts.length > 2 || !key || Object.hasOwn(metadata, key) || !base64.test(encoded)) {
      throw new TusgateError('TUSGATE_ERR_INVALID_METADATA');
    }
    metadata[key] = decodeText(encoded);
  }
  return metadata;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Values are kept as text (hooks, the native store's info file), so they must be UTF-8: bytes
 * that are not would be replaced by U+FFFD and reach the backend changed. They are a 400 instead.
 */
function decodeText(encoded: string): string {
  try {
    return utf8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    throw new TusgateError('TUSGATE_ERR_INVALID_METADATA');
  }
}

export function formatUploadMetadata(metadata: Readonly<Record<string, string>>): string {
  return Object.entries(metadata)
    .map(([key, value]) =>
      value === '' ? key : `${key} ${Buffer.from(value, 'utf8').toString('base64')}`,
    )
    .join(',');
}

/** A copy as a null-prototype object (e.g. metadata read back from JSON or a hook). */
export function toMetadata(entries: Readonly<Record<string, string>>): UploadMetadata {
  const metadata = emptyMetadata();
  for (const [key, value] of Object.entries(entries)) metadata[key] = value;
  return metadata;
}
