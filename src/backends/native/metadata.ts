/**
 * `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent). Keys are
 * unique, non-empty and contain no spaces or commas. Returns null when the header is malformed.
 */
export function parseUploadMetadata(header: string | undefined): Record<string, string> | null {
  const metadata: Record<string, string> = {};
  if (header === undefined || header.trim() === '') return metadata;
  for (const pair of header.split(',')) {
    const parts = pair.trim().split(' ');
    if (parts.length > 2) return null;
    const [key, encoded = ''] = parts;
    if (!key || Object.hasOwn(metadata, key)) return null;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 === 1) return null;
    metadata[key] = Buffer.from(encoded, 'base64').toString('utf8');
  }
  return metadata;
}

export function formatUploadMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) =>
      value === '' ? key : `${key} ${Buffer.from(value, 'utf8').toString('base64')}`,
    )
    .join(',');
}
